"""Write cost at size: one page written into an agent of N chunks, today's index vs MAIN_COMMIT's, one run.

    .venv/bin/python -m bench.knowledge_write --chunks 50000

Both indexes serve the same chunks file: today's fills it with one `import_documents` (random words,
random unit vectors: write cost does not depend on the text), a copy is opened by the index of
MAIN_COMMIT, which rebuilds its structures from the chunks at its first search (timed apart). Then
WRITES page-sized documents (20 chunks) are written into each, each followed by a hybrid search;
the median and worst of both are printed.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.knowledge import MAIN_COMMIT, WRITES, old_index_factory
from bench.stats import percentile
from oratio.knowledge.index import HybridIndex
from schemas import Chunk

TENANT, AGENT = "ten_write", "agt_write"
PAGE_CHUNKS = 20
DIMENSIONS = 384
_WORDS = [f"w{i}" for i in range(30_000)]


class RandomEmbedder:
    """A unit vector per text, seeded by the text: instant, and the same in both indexes."""

    model_id = "random-384"
    dimensions = DIMENSIONS

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out = []
        for text in texts:
            vector = np.random.default_rng(abs(hash(text)) % 2**32).standard_normal(DIMENSIONS)
            out.append((vector / np.linalg.norm(vector)).tolist())
        return out


def page(document: str, n: int, rng: random.Random) -> list[Chunk]:
    return [
        Chunk(
            tenant_id=TENANT,
            agent_id=AGENT,
            document_id=document,
            ordinal=i,
            text=" ".join(rng.choices(_WORDS, k=80)),
            location="page 1",
            start_offset=0,
            end_offset=1,
        )
        for i in range(n)
    ]


def writes(index: HybridIndex, rng: random.Random, label: str) -> None:
    write_ms, first_ms = [], []
    for n in range(WRITES):
        chunks = page(f"doc_page{n}", PAGE_CHUNKS, rng)
        start = time.perf_counter()
        index.replace_document(TENANT, AGENT, f"doc_page{n}", "page.html", chunks)
        middle = time.perf_counter()
        index.search(TENANT, AGENT, "w17 w230 w4096", 10)
        end = time.perf_counter()
        write_ms.append((middle - start) * 1000)
        first_ms.append((end - middle) * 1000)
    print(
        f"{label:<7} write of one page p50 {percentile(write_ms, 50):.0f} ms (worst {max(write_ms):.0f} of {WRITES});"
        f" first search after it p50 {percentile(first_ms, 50):.1f} ms (worst {max(first_ms):.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(7)
    print(f"write cost at {args.chunks:,} chunks, {PAGE_CHUNKS}-chunk pages; load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="oratio-bench-write-") as workdir:
        today_db, main_db = Path(workdir) / "today.db", Path(workdir) / "main.db"
        documents = [(f"doc_{n}", "bulk", page(f"doc_{n}", 1000, rng)) for n in range(args.chunks // 1000)]
        today = HybridIndex(today_db, RandomEmbedder())
        start = time.perf_counter()
        today.import_documents(TENANT, AGENT, documents)
        print(f"today   filled by import_documents in {time.perf_counter() - start:.0f} s")
        today.close()
        shutil.copy(today_db, main_db)
        factory = old_index_factory(Path(workdir), MAIN_COMMIT)
        assert factory is not None, "run inside the git checkout"
        main_index = factory(main_db, RandomEmbedder())
        start = time.perf_counter()
        main_index.search(TENANT, AGENT, "w1 w2", 10)
        print(f"main    built its structures from the same chunks in {time.perf_counter() - start:.0f} s")
        today = HybridIndex(today_db, RandomEmbedder())
        today.search(TENANT, AGENT, "w1 w2", 10)
        for label, index in (("today", today), ("main", main_index), ("today", today)):
            writes(index, rng, label)  # type: ignore[arg-type]
        today.close()
        main_index.close()
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
