"""Extraction off the event loop: what a pathological document does to the loop, and what isolation costs.

    .venv/bin/python -m bench.ingest_isolation

Two figures, each against a baseline measured in the same run:
- Event-loop stall. A ticker task on an asyncio loop records its worst gap between 1 ms ticks while one
  document is extracted from a worker thread, as every door does (`anyio.to_thread`). The document's
  extraction runs a regex with catastrophic backtracking (about a second on an idle 2-core machine) that holds
  the GIL: baseline in the calling thread (main before issue 15), then through `ExtractionPool`.
- Per-document overhead of the pool on an ordinary document (the examples' Markdown files): in-process
  `extract_text` + `chunk_text` vs a warm worker (the document goes over a socket both ways), and the
  one-off worker start.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import anyio.to_thread

from oratio.knowledge.chunking import chunk_text
from oratio.knowledge.extract import extract_text
from oratio.knowledge.isolation import ExtractionLimits, ExtractionPool
from oratio.knowledge.ports import ExtractedText
from schemas import DocumentFormat

_BACKTRACKS = re.compile(r"(a|aa)+$")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def pathological(content: bytes, fmt: DocumentFormat) -> ExtractedText:
    """Holds the GIL for about a second (catastrophic backtracking), then extracts normally."""
    _BACKTRACKS.match("a" * 29 + "b")
    return extract_text(content, fmt)


async def worst_gap(work: Callable[[], object]) -> float:
    """The loop's worst gap between 1 ms ticks while `work` runs in a worker thread (seconds)."""
    done = asyncio.Event()
    worst = 0.0

    async def ticker() -> None:
        nonlocal worst
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            worst = max(worst, now - last)
            last = now

    async def run() -> None:
        try:
            await anyio.to_thread.run_sync(work)
        finally:
            done.set()

    await asyncio.gather(ticker(), run())
    return worst


def in_process(content: bytes, fmt: DocumentFormat, extract: Callable[[bytes, DocumentFormat], ExtractedText]) -> int:
    return len(chunk_text(extract(content, fmt)))


def main() -> None:
    import bench.ingest_isolation as this  # by module name, so the worker can import the extractor

    doc = b"# Notes\nA short document.\n"
    pool = ExtractionPool(ExtractionLimits(timeout_s=600), extract=this.pathological)
    try:
        started = time.perf_counter()
        pool.chunks("ten_bench", doc, DocumentFormat.MARKDOWN)  # starts the worker
        first = time.perf_counter() - started
        thread_gap = asyncio.run(worst_gap(lambda: in_process(doc, DocumentFormat.MARKDOWN, pathological)))
        pool_gap = asyncio.run(worst_gap(lambda: pool.chunks("ten_bench", doc, DocumentFormat.MARKDOWN)))
    finally:
        pool.close()
    print("event-loop worst gap while a GIL-holding document (~1 s of regex) is extracted")
    print(f"  in the calling thread (baseline)   {thread_gap * 1000:9.1f} ms")
    print(f"  in an extraction worker process    {pool_gap * 1000:9.1f} ms")

    files = sorted((EXAMPLES).glob("*/knowledge/*.md"))
    pool = ExtractionPool(ExtractionLimits(timeout_s=600))
    try:
        started = time.perf_counter()
        pool.chunks("ten_bench", b"warm up", DocumentFormat.TEXT)
        start_s = time.perf_counter() - started
        local, isolated = [], []
        for _ in range(20):
            for path in files:
                content = path.read_bytes()
                t0 = time.perf_counter()
                in_process(content, DocumentFormat.MARKDOWN, extract_text)
                t1 = time.perf_counter()
                pool.chunks("ten_bench", content, DocumentFormat.MARKDOWN)
                isolated.append(time.perf_counter() - t1)
                local.append(t1 - t0)
    finally:
        pool.close()
    print(f"ordinary Markdown documents ({len(files)} files x 20), median per document")
    print(f"  in process (baseline)              {statistics.median(local) * 1000:9.2f} ms")
    print(f"  warm extraction worker             {statistics.median(isolated) * 1000:9.2f} ms")
    print(
        f"  worker start (once per worker)     {start_s * 1000:9.1f} ms (first use with the bench's extractor: "
        f"{first * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()
