"""Turning an uploaded document's bytes into text sections, each with the place it came from.

Answers cite their source ("page 3", "Refund policy > Over $100"), so extraction keeps the structure
that gives those locations: one Section per PDF page, one per heading in Markdown and HTML, one for
plain text. Everything else about the layout is dropped; what remains is text for search.

Offsets. The *full text* of a document is `full_text(extracted)`: the sections' texts joined by
`SECTION_SEPARATOR`. `Section.start_offset` is the offset of the section's text in that string, so
`full_text(e)[s.start_offset : s.start_offset + len(s.text)] == s.text`, and chunk offsets (see
`chunking`) are offsets into the same string. For Markdown and HTML this is the text *after* markup is
removed, not the uploaded source: the offsets describe what was indexed, which is what a citation shows.

Text is normalised the same way for every format: line breaks unified, control and invisible
characters removed, runs of spaces collapsed, at most one blank line between paragraphs, Unicode NFC
(NFKC for PDF text layers, whose ligatures and presentation forms would otherwise not match a search).
The output is a pure function of the input bytes, which idempotent ingestion relies on.

Content is untrusted. Every failure a person can fix is an `ExtractionError` whose message says what
is wrong ("the PDF is encrypted with a password..."). PDF parsing runs under tighter pypdf limits, so a
decompression bomb or a pathological content stream fails fast instead of exhausting memory. Markup is
removed with patterns that cannot backtrack quadratically, so hostile Markdown or HTML costs linear time.
An encrypted PDF that opens with the empty user password (restrictions only, no password to read) is
read, as every viewer does; one that needs a password is refused.
"""

from __future__ import annotations

from typing import assert_never

from oratio.knowledge.extract.html import html_outline
from oratio.knowledge.extract.markdown import markdown_outline
from oratio.knowledge.extract.pdf import extract_pdf
from oratio.knowledge.extract.text import EMPTY, LOCATION_MAX, SECTION_SEPARATOR, Builder, decode, from_outline
from oratio.knowledge.ports import ExtractedText
from schemas import DocumentFormat


def extract_text(
    content: bytes,
    fmt: DocumentFormat,
    *,
    max_pages: int = 2000,
    max_chars: int = 5_000_000,
) -> ExtractedText:
    """The document's text in sections with locations; raises ExtractionError for unusable content.

    A document with more than `max_pages` pages or `max_chars` characters of extracted text is refused
    rather than silently truncated: an agent answering from part of a document would not know what it
    is missing. PDF extraction stops at the first page past `max_chars`.
    """
    if max_pages < 1 or max_chars < 1:
        raise ValueError("max_pages and max_chars must be positive")
    match fmt:
        case DocumentFormat.PDF:
            return extract_pdf(content, max_pages=max_pages, max_chars=max_chars)
        case DocumentFormat.TEXT:
            builder = Builder(max_chars)
            builder.add("", decode(content))
            return builder.build(pages=1, empty_message=EMPTY)
        case DocumentFormat.MARKDOWN:
            return from_outline(markdown_outline(decode(content)), max_chars=max_chars)
        case DocumentFormat.HTML:
            return from_outline(html_outline(decode(content, html_charset=True)), max_chars=max_chars)
        case _:
            assert_never(fmt)


def full_text(extracted: ExtractedText) -> str:
    """The string every `start_offset` (of sections and of chunks) refers to."""
    return SECTION_SEPARATOR.join(section.text for section in extracted.sections)


__all__ = ["LOCATION_MAX", "SECTION_SEPARATOR", "extract_text", "full_text"]
