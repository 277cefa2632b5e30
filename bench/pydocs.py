"""The Python documentation as shipped by Debian's `python3.X-doc` package: a corpus and a labelled FAQ.

Why this collection. No package on PyPI or npm ships a standard IR test collection (corpus, queries and
relevance judgments: Cranfield, CACM, Vaswani, SciFact, NFCorpus...): they are all fetched from the web
at run time (`ir_datasets`, `beir`, PyTerrier, Pyserini, MTEB), which this benchmark may not do. The
best labelled set a registry does ship is the Python FAQ inside the HTML documentation of Debian's
`python3.11-doc` (PSF licence): about 170 questions written by people, each with the answer written
for it. That is the shape of an agent's knowledge base (a customer's question, the FAQ entry that
answers it), so it is used as a QA collection:

- a document is one FAQ answer: the HTML of its section *without* the question heading (with the
  heading, BM25 would match the question's own words and every method would look perfect);
- a query is the question (the heading's text);
- an entry whose whole answer is a pointer elsewhere ("See the next question.") is left out;
- the qrels give each question its own answer, grade 1; every other answer is non-relevant. Some
  questions are also answered in part by a neighbouring entry, so absolute scores are a lower bound;
  the comparison between methods on the same judgments is what the benchmark reports.

The rest of the documentation (library reference, tutorial, HOWTOs...: ~490 real HTML pages) is the
ingestion corpus and the filler that brings the index to 10k and 100k chunks.

    apt-get install python3.11-doc      # /usr/share/doc/python3.11/html
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DOCS_ROOT_CANDIDATES = tuple(Path(f"/usr/share/doc/python3.{minor}/html") for minor in range(20, 10, -1))
DEBIAN_PACKAGE = "python3.11-doc"

# Generated pages that are not prose: indexes, the search page, the full table of contents.
_SKIPPED_PAGES = re.compile(r"^(genindex.*|search|py-modindex|contents|index)\.html$")
_SKIPPED_DIRS = frozenset({"_static", "_sources", "_images", "_downloads", "faq"})

_SECTION_TAG = re.compile(r"<section\b[^>]*>|</section>")
_HEADING = re.compile(r"\s*<h([1-6])\b[^>]*>(.*?)</h\1>", re.DOTALL)
_SECTION_ID = re.compile(r"""\bid=["']([^"']+)["']""")
_TAG = re.compile(r"<[^>]+>")
_CROSS_REFERENCE_CHARS = 200


@dataclass(frozen=True)
class FaqEntry:
    doc_id: str  # "programming#how-do-i-share-global-variables-across-modules"
    question: str
    answer_html: bytes  # the section without its heading, as a standalone HTML document


@dataclass(frozen=True)
class QaCollection:
    name: str
    documents: dict[str, bytes]  # doc id -> HTML
    queries: dict[str, str]  # query id -> text
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: grade}


def find_docs_root(explicit: Path | None = None) -> Path | None:
    """The HTML documentation directory: `explicit` if given, else the newest installed python3.X-doc."""
    candidates = (explicit,) if explicit is not None else DOCS_ROOT_CANDIDATES
    for root in candidates:
        if root is not None and (root / "faq" / "programming.html").is_file():
            return root
    return None


def faq_entries(root: Path) -> list[FaqEntry]:
    """Every FAQ question (a section heading ending in '?') with its answer, in page order."""
    entries: list[FaqEntry] = []
    for page in sorted((root / "faq").glob("*.html")):
        entries.extend(_page_entries(page.stem, page.read_text(encoding="utf-8")))
    return entries


def faq_collection(root: Path) -> QaCollection:
    entries = faq_entries(root)
    return QaCollection(
        name="Python 3 FAQ (Debian python3.X-doc)",
        documents={entry.doc_id: entry.answer_html for entry in entries},
        queries={entry.doc_id: entry.question for entry in entries},
        qrels={entry.doc_id: {entry.doc_id: 1} for entry in entries},
    )


def corpus_pages(root: Path) -> list[Path]:
    """The documentation's prose pages (not the FAQ, the indexes or the search page), sorted."""
    pages = []
    for path in sorted(root.rglob("*.html")):
        relative = path.relative_to(root)
        if _SKIPPED_DIRS & set(relative.parts[:-1]) or _SKIPPED_PAGES.match(relative.name):
            continue
        pages.append(path)
    return pages


def _page_entries(page: str, source: str) -> Iterator[FaqEntry]:
    spans = _section_spans(source)
    for start, end, inner_start in spans:
        heading = _HEADING.match(source, inner_start)
        if heading is None:
            continue
        question = _plain(heading.group(2))
        if not question.endswith("?"):
            continue
        section_id = _SECTION_ID.search(source, start, inner_start)
        anchor = section_id.group(1) if section_id else f"s{start}"
        # The answer: the section after its heading, minus nested questions (they are entries of their own).
        body_start = heading.end()
        body_end = end - len("</section>")
        parts: list[str] = []
        cursor = body_start
        for child_start, child_end, child_inner in spans:
            if body_start <= child_start and child_end <= body_end and _is_question(source, child_inner):
                parts.append(source[cursor:child_start])
                cursor = child_end
        parts.append(source[cursor:body_end])
        body = "".join(parts)
        answer = _plain(body)
        if not answer or (answer.startswith("See ") and len(answer) < _CROSS_REFERENCE_CHARS):
            continue  # no answer of its own, only "See the next question."
        document = f"<html><head><title>{html.escape(question)}</title></head><body>{body}</body></html>"
        yield FaqEntry(doc_id=f"{page}#{anchor}", question=question, answer_html=document.encode())


def _section_spans(source: str) -> list[tuple[int, int, int]]:
    """(start of `<section>`, end of its `</section>`, end of the opening tag) for every section."""
    spans: list[tuple[int, int, int]] = []
    stack: list[tuple[int, int]] = []
    for tag in _SECTION_TAG.finditer(source):
        if tag.group().startswith("</"):
            if stack:
                start, inner = stack.pop()
                spans.append((start, tag.end(), inner))
        else:
            stack.append((tag.start(), tag.end()))
    spans.sort()
    return spans


def _is_question(source: str, inner_start: int) -> bool:
    heading = _HEADING.match(source, inner_start)
    return heading is not None and _plain(heading.group(2)).endswith("?")


def _plain(fragment: str) -> str:
    text = html.unescape(_TAG.sub("", fragment)).replace("\u00b6", "")
    return " ".join(text.split())


__all__ = [
    "DEBIAN_PACKAGE",
    "FaqEntry",
    "QaCollection",
    "corpus_pages",
    "faq_collection",
    "faq_entries",
    "find_docs_root",
]
