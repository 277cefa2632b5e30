"""Extraction on hostile documents, timed next to a benign document of the same size (one run).

The tests (tests/knowledge/test_extract.py) check the behaviour on these same inputs: hostile
markup is extracted and chunked (or refused with an explanation), a PDF decompression bomb and a
content stream of a million operators are refused in bounded memory. How long that takes is a
figure, not an assertion, so it is printed here: linear code keeps each hostile row within a small
factor of the benign row of the same size; a quadratic pass at 200 KB takes minutes.

    .venv/bin/python -m bench.extract_limits [--size 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

from oratio.knowledge.chunking import chunk_text
from oratio.knowledge.extract import extract_text
from oratio.knowledge.ports import ExtractionError
from schemas import DocumentFormat
from tests.support.pdfs import bomb_pdf, make_pdf

MARKDOWN, HTML, TEXT, PDF = DocumentFormat.MARKDOWN, DocumentFormat.HTML, DocumentFormat.TEXT, DocumentFormat.PDF
HOSTILE_SIZE = 200_000
"""At this size a quadratic pass takes minutes; every linear one well under a second."""

HOSTILE_MARKUP: dict[str, tuple[Callable[[int], str], DocumentFormat]] = {
    "unclosed-bold": (lambda n: "**a " * (n // 4), MARKDOWN),
    "unclosed-emphasis": (lambda n: "*a " * (n // 3), MARKDOWN),
    "unclosed-strikethrough": (lambda n: "~~a " * (n // 4), MARKDOWN),
    "unclosed-links": (lambda n: "[" * n, MARKDOWN),
    "unclosed-autolinks": (lambda n: "<a" * (n // 2), MARKDOWN),
    "unclosed-comments": (lambda n: "<!--" * (n // 4), MARKDOWN),
    "heading-of-spaces": (lambda n: "# " + " " * n + "x", MARKDOWN),
    "unclosed-tags": (lambda n: "<a " * (n // 3), HTML),
    "unclosed-html-comments": (lambda n: "<!--" * (n // 4), HTML),
    "long-space-run": (lambda n: "<i> </i>" * (n // 8) + "x", HTML),
    "dots": (lambda n: "." * n + " A", TEXT),
}
"""Markup that made a backtracking pass quadratic, by name: (content of about n characters, format)."""


def benign(n: int) -> str:
    """Ordinary prose of about `n` characters: the baseline row."""
    sentence = "Refunds are possible within 30 days of purchase with a receipt. "
    return (sentence * (n // len(sentence) + 1))[:n]


def extract_and_chunk(content: bytes, fmt: DocumentFormat) -> object:
    """What ingestion does with a document: extract, then chunk; an explained refusal is an outcome too."""
    try:
        return chunk_text(extract_text(content, fmt))
    except ExtractionError as exc:
        return str(exc)


def timed(run: Callable[[], object], repeat: int) -> float:
    """Median wall time of `run` over `repeat` runs, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=HOSTILE_SIZE)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    print(f"markup, {args.size:,} characters, median of {args.repeat}")
    print(f"{'input':28} {'format':9} {'seconds':>9} {'x benign':>9}")
    baselines: dict[DocumentFormat, float] = {}
    for fmt in (MARKDOWN, HTML, TEXT):
        content = benign(args.size).encode()
        baselines[fmt] = timed(partial(extract_and_chunk, content, fmt), args.repeat)
        print(f"{'benign prose':28} {fmt.value:9} {baselines[fmt]:9.3f} {1.0:9.1f}")
    for name, (make, fmt) in HOSTILE_MARKUP.items():
        content = make(args.size).encode()
        seconds = timed(partial(extract_and_chunk, content, fmt), args.repeat)
        print(f"{name:28} {fmt.value:9} {seconds:9.3f} {seconds / baselines[fmt]:9.1f}")

    print("\nPDF refusals, next to a normal PDF of 10 text pages")
    normal = make_pdf([["x" * 80] * 40 for _ in range(10)])
    pdfs = {
        "10 text pages (baseline)": normal,
        "decompression bomb (200 MB)": bomb_pdf(200 * 1024 * 1024, b"\0"),
        "1.2M text operators (4 MB)": bomb_pdf(4 * 1024 * 1024, b"(a) Tj "),
    }
    base = timed(partial(extract_and_chunk, normal, PDF), args.repeat)
    for name, pdf in pdfs.items():
        seconds = timed(partial(extract_and_chunk, pdf, PDF), args.repeat)
        print(f"{name:28} {len(pdf):>9,} B {seconds:9.3f} s {seconds / base:9.1f} x")


if __name__ == "__main__":
    main()
