"""An extractor for ingestion tests that runs in the extraction worker: slow or greedy on demand.

The worker imports it by name, so it lives in a module of its own (not in a test file). A document
whose content is `SLOW <fifo path>` opens that FIFO (the test is blocked reading it: "extraction has
started", with no polling) and then runs a regex with catastrophic backtracking, which holds the
GIL like the pathological inputs the issue found; `HOG` allocates far beyond the worker's memory
limit; `ENV` answers with the names of the ORATIO_/AWS_ variables it can see. Anything else goes to
the real `extract_text`.
"""

from __future__ import annotations

import os
import re

from oratio.knowledge.extract import extract_text
from oratio.knowledge.ports import ExtractedText
from schemas import DocumentFormat

_BACKTRACKS = re.compile(r"(a|aa)+$")


def extract(content: bytes, fmt: DocumentFormat) -> ExtractedText:
    if content.startswith(b"SLOW "):
        with open(content.removeprefix(b"SLOW ").decode(), "wb") as fifo:
            fifo.write(b"started")
        _BACKTRACKS.match("a" * 64 + "b")  # ~2**44 steps, all with the GIL held
        raise AssertionError("the pathological match finished")
    if content.startswith(b"HOG"):
        greedy = bytearray(1024 * 1024 * 1024)  # fine without a limit: pages are only reserved
        return extract_text(bytes(greedy[:1]), fmt)
    if content == b"ENV":  # which secrets could a parser exploit read from the environment?
        names = sorted(k for k in os.environ if k.startswith(("ORATIO_", "AWS_")))
        return extract_text((" ".join(names) or "none").encode(), DocumentFormat.TEXT)
    return extract_text(content, fmt)


def slow_document(fifo: str) -> bytes:
    return f"SLOW {fifo}".encode()
