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

import codecs
import html
import io
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Final, Literal, assert_never

import pypdf
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PyPdfError

from oratio.knowledge.ports import ExtractedText, ExtractionError, Section
from schemas import DocumentFormat

logger = logging.getLogger("oratio.knowledge")

SECTION_SEPARATOR: Final = "\n\n"
LOCATION_MAX: Final = 256  # Chunk.location's max_length

_MiB = 1024 * 1024

# pypdf's defaults (75 MB per decompressed stream, 2 million tokens per content stream) let a 20 KB file
# hold ~250 MB and ~20 s of work per page. Text extraction needs far less: real page content streams are
# kilobytes, rarely a few MB. Measured with these values: a 200 MB zero-filled FlateDecode stream fails in
# ~50 ms with ~35 MB peak; a stream of 16 MB of text operators fails at the token limit in ~2 s.
_PDF_LIMITS: Final = pypdf.Configuration(
    zlib_maximum_output_length=16 * _MiB,
    lzw_maximum_output_length=16 * _MiB,
    run_length_maximum_output_length=16 * _MiB,
    brotli_maximum_output_length=16 * _MiB,
    array_based_stream_maximum_output_length=16 * _MiB,
    jbig2_maximum_output_length=16 * _MiB,
    stream_decoding_work_maximum_length=64 * _MiB,
    stream_parsing_work_maximum_count=250_000,
    xform_maximum_invocations_per_extraction=1_000,
    # Never start the external jbig2dec program for an uploaded file (text extraction has no use for it).
    jbig2dec_binary=None,
)

_NOT_A_PDF = "the file is not a valid PDF (it may be damaged or truncated); export it again and upload it"
_ENCRYPTED = "the PDF is encrypted with a password; upload a copy without a password"
_ENCRYPTION_UNSUPPORTED = "the PDF is encrypted with a method that cannot be opened here; upload an unencrypted copy"
_NO_TEXT_LAYER = (
    "the PDF has no text layer (scanned?); OCR is not supported, so upload a PDF with selectable text "
    "or the document as text"
)
_EMPTY = "the document is empty"
_BINARY = "the file looks like a binary file, not text; upload it in its own format (pdf) or as text"
_NOT_UTF8 = "the file is not UTF-8 text; save it as UTF-8 and upload it again"


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
            return _extract_pdf(content, max_pages=max_pages, max_chars=max_chars)
        case DocumentFormat.TEXT:
            builder = _Builder(max_chars)
            builder.add("", _decode(content))
            return builder.build(pages=1, empty_message=_EMPTY)
        case DocumentFormat.MARKDOWN:
            return _from_outline(_markdown_outline(_decode(content)), max_chars=max_chars)
        case DocumentFormat.HTML:
            return _from_outline(_html_outline(_decode(content, html_charset=True)), max_chars=max_chars)
        case _:
            assert_never(fmt)


def full_text(extracted: ExtractedText) -> str:
    """The string every `start_offset` (of sections and of chunks) refers to."""
    return SECTION_SEPARATOR.join(section.text for section in extracted.sections)


# --- normalisation and assembly -------------------------------------------------------------------

_LINE_BREAKS = re.compile("\r\n?|[\x0b\x0c\x85\u2028\u2029]")
# C0/C1 controls except tab and newline, invisible format characters that split words (soft hyphen,
# zero-width space, word joiner, BOM), and lone surrogates (a broken PDF font map can produce them and
# they cannot be stored as UTF-8).
_DROPPED = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u200b\u2060\ufeff\ud800-\udfff]")
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_SPACE_AROUND_NEWLINE = re.compile(r" ?\n ?")
_BLANK_LINES = re.compile(r"\n{3,}")


def _normalise(text: str, form: Literal["NFC", "NFKC"] = "NFC") -> str:
    text = _LINE_BREAKS.sub("\n", text)
    text = _DROPPED.sub("", text)
    text = unicodedata.normalize(form, text)
    text = _HORIZONTAL_SPACE.sub(" ", text)
    text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def _clip_location(location: str) -> str:
    location = " ".join(location.split())
    if len(location) <= LOCATION_MAX:
        return location
    # Keep the end of a long heading path: the innermost heading is the most specific.
    return "…" + location[-(LOCATION_MAX - 1) :]


class _Builder:
    """Collects sections in order, assigning offsets in the full text and enforcing `max_chars`."""

    def __init__(self, max_chars: int) -> None:
        self._max_chars = max_chars
        self._sections: list[Section] = []
        self._length = 0

    def add(self, location: str, raw: str, form: Literal["NFC", "NFKC"] = "NFC") -> None:
        text = _normalise(raw, form)
        if not text:
            return
        start = self._length + len(SECTION_SEPARATOR) if self._sections else 0
        self._sections.append(Section(text=text, location=_clip_location(location), start_offset=start))
        self._length = start + len(text)
        if self._length > self._max_chars:
            raise ExtractionError(
                f"the document has more than {self._max_chars:,} characters of text; split it into smaller documents"
            )

    def build(self, *, pages: int, empty_message: str) -> ExtractedText:
        if not self._sections:
            raise ExtractionError(empty_message)
        return ExtractedText(sections=list(self._sections), pages=pages)


# --- decoding of text formats ---------------------------------------------------------------------

_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")
_BINARY_SAMPLE_CHARS = 65_536
_BINARY_CONTROL_RATIO = 0.05
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)


def _decode(content: bytes, *, html_charset: bool = False) -> str:
    """Text from bytes: UTF-8 (BOM optional) or UTF-16 with a BOM; for HTML, a declared <meta> charset."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = content.decode("utf-16")  # the BOM selects the byte order and is consumed
        except UnicodeDecodeError:
            raise ExtractionError("the file starts like UTF-16 text but is not valid UTF-16") from None
        _refuse_binary(text)
        return text
    body = content.removeprefix(codecs.BOM_UTF8)
    if body.lstrip()[:5] == b"%PDF-":
        raise ExtractionError("the file is a PDF, not text; upload it with the format 'pdf'")
    if b"\x00" in body:
        raise ExtractionError(_BINARY)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        declared = _declared_html_charset(body) if html_charset else None
        if declared is None:
            raise ExtractionError(_NOT_UTF8) from None
        try:
            text = body.decode(declared)
        except UnicodeDecodeError:
            raise ExtractionError(f"the file is neither UTF-8 nor the {declared} it declares") from None
    _refuse_binary(text)
    return text


def _declared_html_charset(content: bytes) -> str | None:
    match = _META_CHARSET.search(content[:4096])
    if match is None:
        return None
    try:
        name = codecs.lookup(match.group(1).decode("ascii")).name
    except LookupError:
        return None
    if name.startswith(("utf-16", "utf-32")):
        return None  # cannot be right for a page whose <meta> we just read as ASCII
    # As browsers do (WHATWG encoding standard): pages labelled latin-1 or ASCII are windows-1252.
    return "cp1252" if name in {"latin-1", "iso8859-1", "ascii"} else name


def _refuse_binary(text: str) -> None:
    sample = text[:_BINARY_SAMPLE_CHARS]
    if "\x00" in sample or (sample and len(_CONTROL.findall(sample)) > _BINARY_CONTROL_RATIO * len(sample)):
        raise ExtractionError(_BINARY)


# --- PDF ------------------------------------------------------------------------------------------


def _extract_pdf(content: bytes, *, max_pages: int, max_chars: int) -> ExtractedText:
    # The header may follow some junk (the spec tolerates it), but must be near the start.
    if b"%PDF-" not in content[:1024]:
        raise ExtractionError(_NOT_A_PDF)
    page_number = 0
    with pypdf.apply_configuration(_PDF_LIMITS):
        try:
            reader = pypdf.PdfReader(io.BytesIO(content), strict=False)
            # pypdf already tried the empty user password while opening; an "encrypted" PDF that opens
            # with it (only an owner password, restricting printing or editing) is read like any other,
            # as every PDF viewer does. decrypt("") reports whether that worked.
            if reader.is_encrypted and reader.decrypt("") == pypdf.PasswordType.NOT_DECRYPTED:
                raise ExtractionError(_ENCRYPTED)
            page_count = len(reader.pages)
            if page_count > max_pages:
                raise ExtractionError(
                    f"the PDF has {page_count:,} pages, more than the {max_pages:,} allowed; split it into smaller PDFs"
                )
            builder = _Builder(max_chars)
            for page_number, page in enumerate(reader.pages, start=1):
                builder.add(f"page {page_number}", page.extract_text(), "NFKC")
            return builder.build(pages=page_count, empty_message=_NO_TEXT_LAYER)
        except ExtractionError:
            raise
        except FileNotDecryptedError:
            raise ExtractionError(_ENCRYPTED) from None
        except DependencyError:
            raise ExtractionError(_ENCRYPTION_UNSUPPORTED) from None
        except LimitReachedError as exc:
            logger.info("PDF refused at page %d: %s", page_number, exc)
            where = f" on page {page_number}" if page_number else ""
            raise ExtractionError(
                f"the PDF has content{where} beyond the safety limits for reading (a stream that expands to "
                "too much data, or too complex a page); it may be malformed"
            ) from None
        except NotImplementedError as exc:
            # pypdf's way of saying an encryption scheme or filter is not supported.
            logger.info("PDF uses an unsupported feature: %s", exc)
            message = _ENCRYPTION_UNSUPPORTED if "crypt" in str(exc).lower() else _NOT_A_PDF
            raise ExtractionError(message) from None
        except PyPdfError as exc:
            logger.info("PDF could not be parsed (page %d): %r", page_number, exc)
            raise ExtractionError(_NOT_A_PDF) from None
        except MemoryError:
            raise
        except Exception as exc:
            # The one broad catch, on purpose: on malformed input pypdf raises not only its own errors but
            # assorted built-ins from deep inside the parser (KeyError, ValueError, TypeError, IndexError,
            # AttributeError, RecursionError, zlib.error, struct.error...). The bytes are untrusted, and any
            # of these means "this file cannot be read", which must fail this document only.
            logger.info("PDF could not be parsed (page %d): %r", page_number, exc)
            raise ExtractionError(_NOT_A_PDF) from None


# --- outlines: sections under headings (Markdown, HTML) ------------------------------------------


@dataclass(frozen=True)
class _Part:
    """Text under one heading; `heading` is "" for text before the first heading."""

    location: str
    heading: str
    body: str


class _HeadingPath:
    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def enter(self, level: int, title: str) -> None:
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, title))

    @property
    def location(self) -> str:
        return " > ".join(title for _, title in self._stack)


def _from_outline(parts: Sequence[_Part], *, max_chars: int) -> ExtractedText:
    """Sections from heading parts; each starts with its heading line, whose path is its location.

    A heading with no text of its own, directly followed by its first subheading, adds nothing a search
    could find that the subsection's location does not already say, so it is not a section of its own.
    """
    builder = _Builder(max_chars)
    for index, part in enumerate(parts):
        body = _normalise(part.body)
        following = parts[index + 1].location if index + 1 < len(parts) else ""
        if not body and part.location and following.startswith(part.location + " > "):
            continue
        builder.add(part.location, f"{part.heading}\n\n{body}" if part.heading else body)
    return builder.build(pages=1, empty_message=_EMPTY)


# --- Markdown -------------------------------------------------------------------------------------

# The title is taken whole (`.*`) and its closing "#"s and trailing spaces removed in code: the lazy
# `(.*?)` followed by optional `[ \t]+#+` and `[ \t]*$` was quadratic on a long run of spaces.
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*))?$")
_SETEXT_1 = re.compile(r"^ {0,3}=+[ \t]*$")
_SETEXT_2 = re.compile(r"^ {0,3}-+[ \t]*$")
_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_TABLE_CELL_RULE = re.compile(r"[ \t]*:?-+:?[ \t]*")  # one cell of a table's header rule: "---", " :--: "
_LINK_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:[ \t]*\S+.*$")
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)")
_BLOCKQUOTE = re.compile(r"^[ \t]*(?:>[ \t]?)+")

_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_ESCAPE_BASE = 0xF0000  # escaped punctuation is parked in a private-use plane while markup is removed
_ESCAPED = re.compile("[\U000f0021-\U000f007e]")
# Inline patterns never let a repeated part run over its own delimiter ("[^*]" inside "*...*"): a scan
# from each opening delimiter then stops at the next one, so a line full of unclosed "**" or "[" costs
# linear time, not quadratic (uploaded text is untrusted).
_INLINE_LINK = re.compile(r"!?\[([^\[\]]*)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\)")
_REFERENCE_LINK = re.compile(r"!?\[([^\[\]]+)\]\[[^\[\]]*\]")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^<>\s]+|[^<>\s@]+@[^<>\s]+)>")
_INLINE_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_EMPHASIS = (
    re.compile(r"\*\*(?=[^\s*])([^*]+?)(?<=[^\s*])\*\*"),
    re.compile(r"(?<!\w)__(?=[^\s_])([^_]+?)(?<=[^\s_])__(?!\w)"),
    re.compile(r"(?<![*\w])\*(?=[^\s*])([^*]+?)(?<=[^\s*])\*(?![*\w])"),
    re.compile(r"(?<!\w)_(?=[^\s_])([^_]+?)(?<=[^\s_])_(?!\w)"),
    re.compile(r"~~(?=[^\s~])([^~]+?)(?<=[^\s~])~~"),
)


def _markdown_outline(text: str) -> list[_Part]:
    """Markdown split at headings, with markup removed lightly (a line-based subset of CommonMark).

    Kept: the text of links and images, the content of code spans and fences (verbatim), list markers,
    table cells. Removed: emphasis markers, heading and blockquote markers, fences, thematic breaks,
    table rules, link definitions, HTML tags and comments. Entities are decoded.
    """
    lines = _without_html_comments(_LINE_BREAKS.sub("\n", text)).split("\n")
    parts: list[_Part] = []
    path = _HeadingPath()
    heading = ""
    body: list[str] = []
    fence: tuple[str, int] | None = None  # fence character and length while inside a code block
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if fence is not None:
            char, length = fence
            stripped = line.strip()
            if len(line) - len(line.lstrip(" ")) <= 3 and len(stripped) >= length and stripped == char * len(stripped):
                fence = None
                body.append("")
            else:
                body.append(line)
            continue
        opened = _FENCE_OPEN.match(line)
        if opened and not (opened.group(1)[0] == "`" and "`" in line[opened.end() :]):
            fence = (opened.group(1)[0], len(opened.group(1)))
            body.append("")
            continue
        heading_level, raw_title = _heading_at(lines, index - 1)
        if heading_level:
            title = " ".join(_inline(raw_title).split())
            if _is_setext(lines, index - 1):
                index += 1  # the underline
            if title:
                parts.append(_Part(path.location, heading, "\n".join(body)))
                path.enter(heading_level, title)
                heading, body = title, []
            continue
        if _THEMATIC_BREAK.match(line):
            body.append("")
            continue
        if _is_table_rule(line) or _LINK_DEFINITION.match(line):
            continue
        body.append(_inline(_BLOCKQUOTE.sub("", line)))
    parts.append(_Part(path.location, heading, "\n".join(body)))
    return parts


def _without_html_comments(text: str) -> str:
    """Text without <!-- ... --> comments; an unclosed one is left as text (CommonMark would end it at the
    end of its block; keeping it loses nothing)."""
    pieces: list[str] = []
    position = 0
    while (start := text.find("<!--", position)) >= 0:
        end = text.find("-->", start + 4)
        if end < 0:
            break
        pieces.append(text[position:start])
        position = end + 3
    pieces.append(text[position:])
    return "".join(pieces)


def _is_table_rule(line: str) -> bool:
    """A table's header rule ("| --- | :-: |"): at least two cells of dashes, the outer pipes optional.

    Checked cell by cell (each cell a pattern with no ambiguous repetition): the one-regex version
    backtracked quadratically on a long run of spaces.
    """
    row = line.strip(" \t")
    row = row.removeprefix("|").removesuffix("|")
    cells = row.split("|")
    return len(cells) >= 2 and all(_TABLE_CELL_RULE.fullmatch(cell) for cell in cells)


def _atx_title(raw: str) -> str:
    """An ATX heading's title without its closing sequence ("## Title ##" -> "Title")."""
    title = raw.rstrip(" \t")
    without_hashes = title.rstrip("#")
    if without_hashes and len(without_hashes) < len(title) and without_hashes[-1] in " \t":
        return without_hashes.rstrip(" \t")
    return title


def _is_setext(lines: list[str], index: int) -> bool:
    line = lines[index]
    if index + 1 >= len(lines) or not line.strip() or (index > 0 and lines[index - 1].strip()):
        return False  # a setext heading is a one-line paragraph (this subset) with an underline
    if _LIST_ITEM.match(line) or _ATX_HEADING.match(line) or _THEMATIC_BREAK.match(line):
        return False
    underline = lines[index + 1]
    return bool(_SETEXT_1.match(underline) or _SETEXT_2.match(underline))


def _heading_at(lines: list[str], index: int) -> tuple[int, str]:
    """(level, raw title) if lines[index] starts a heading, else (0, "")."""
    atx = _ATX_HEADING.match(lines[index])
    if atx:
        return len(atx.group(1)), _atx_title(atx.group(2) or "")
    if _is_setext(lines, index):
        return (1 if _SETEXT_1.match(lines[index + 1]) else 2), lines[index]
    return 0, ""


def _inline(line: str) -> str:
    """Inline Markdown markup removed; code spans keep their content untouched."""
    out: list[str] = []
    position = 0
    for start, end, run in _code_spans(line):
        out.append(_strip_inline_markup(line[position:start]))
        out.append(line[start + run : end - run])
        position = end
    out.append(_strip_inline_markup(line[position:]))
    return "".join(out)


def _code_spans(line: str) -> list[tuple[int, int, int]]:
    """(start, end, backtick count) of each code span, as CommonMark reads them, in linear time.

    A run of n backticks opens a span that the next run of exactly n backticks closes; a run with no
    such partner is literal text. The regex this replaces, `(`+)(.+?)(?<!`)\\1(?!`)`, tried every run
    length at every backtick and rescanned the rest of the line each time: one line of backtick runs of
    growing length (6 KB) took 13 s. Here each run is found once, and the run closing it is looked up
    in a table built right to left.
    """
    runs: list[tuple[int, int]] = []  # (start, length) of every maximal run of backticks
    position = line.find("`")
    while position >= 0:
        end = position + 1
        while end < len(line) and line[end] == "`":
            end += 1
        runs.append((position, end - position))
        position = line.find("`", end)
    following: list[int] = [-1] * len(runs)  # index of the next run of the same length, or -1
    last_of_length: dict[int, int] = {}
    for index in range(len(runs) - 1, -1, -1):
        length = runs[index][1]
        following[index] = last_of_length.get(length, -1)
        last_of_length[length] = index
    spans: list[tuple[int, int, int]] = []
    index = 0
    while index < len(runs):
        closing = following[index]
        if closing < 0:
            index += 1  # no partner: literal backticks
            continue
        start, length = runs[index]
        spans.append((start, runs[closing][0] + length, length))
        index = closing + 1
    return spans


def _strip_inline_markup(text: str) -> str:
    text = _ESCAPE.sub(lambda m: chr(_ESCAPE_BASE + ord(m.group(1))), text)
    text = _INLINE_LINK.sub(r"\1", text)
    text = _REFERENCE_LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _INLINE_TAG.sub("", text)
    for _ in range(2):  # twice, for one level of nesting: "**a *b* c**", "***both***"
        for emphasis in _EMPHASIS:
            text = emphasis.sub(r"\1", text)
    text = html.unescape(text)
    return _ESCAPED.sub(lambda m: chr(ord(m.group()) - _ESCAPE_BASE), text)


# --- HTML -----------------------------------------------------------------------------------------

# Elements whose content is not document text. <head> also ends where <body> or body content begins,
# since both its end tag and the <body> tag are optional.
_SKIPPED = frozenset({"script", "style", "nav", "head", "noscript", "template", "svg", "iframe", "object"})
_HEAD_CONTENT = frozenset({"title", "meta", "link", "base", "style", "script", "noscript", "template"})
_HEADING_LEVELS = {f"h{level}": level for level in range(1, 7)}
_PARAGRAPH_BLOCKS = frozenset(
    {
        "p", "blockquote", "pre", "table", "ul", "ol", "dl", "section", "article", "header", "footer",
        "main", "aside", "figure", "form", "fieldset", "details", "address", "hr", "body", "html",
    }
)  # fmt: skip
_LINE_BLOCKS = frozenset({"br", "div", "li", "tr", "dt", "dd", "figcaption", "summary", "caption", "legend", "option"})
_CELLS = frozenset({"td", "th"})
_HTML_SPACE = re.compile(r"\s+")
# Block boundaries are marked with private-use characters while parsing, then each run of them (and the
# spaces between) becomes one line break, or a blank line if any boundary in the run is a paragraph's:
# "</li> <li>" is one line break, not two.
_LINE_MARK = "\ue000"
_PARAGRAPH_MARK = "\ue001"
_MARKS = re.compile(r"[\ue000\ue001]")
_MARK_RUN = re.compile(r"[\ue000\ue001][\s\ue000\ue001]*")  # no leading \s*: quadratic on long space runs


class _HtmlOutline(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # entities arrive decoded in handle_data
        self.parts: list[_Part] = []
        self._path = _HeadingPath()
        self._heading = ""
        self._body: list[str] = []
        self._skipping: list[str] = []
        self._title: tuple[int, list[str]] | None = None  # level and text of the heading being read
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skipping == ["head"] and tag not in _HEAD_CONTENT:
            self._skipping.clear()  # content after an unclosed <head>
        if self._skipping:
            if tag in _SKIPPED:
                self._skipping.append(tag)
            return
        if tag in _SKIPPED:
            self._skipping.append(tag)
        elif tag in _HEADING_LEVELS:
            self._title = (_HEADING_LEVELS[tag], [])
        else:
            if tag == "pre":
                self._pre += 1
            self._break(tag)
            if tag == "li":
                self._emit("- ")

    def handle_endtag(self, tag: str) -> None:
        if self._skipping:
            if tag in self._skipping:
                del self._skipping[len(self._skipping) - 1 - self._skipping[::-1].index(tag) :]
            return
        if tag in _HEADING_LEVELS and self._title is not None:
            level, pieces = self._title
            self._title = None
            title = " ".join("".join(pieces).split())
            if title:
                self._end_part()
                self._path.enter(level, title)
                self._heading, self._body = title, []
            return
        if tag == "pre":
            self._pre = max(0, self._pre - 1)
        self._break(tag)

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        data = _MARKS.sub("", data)
        self._emit(data if self._pre else _HTML_SPACE.sub(" ", data))

    def close(self) -> None:
        super().close()
        if self._title is not None:  # an unclosed heading: keep its words as text
            self._body.append(" ".join(self._title[1]))
            self._title = None
        self._end_part()

    def _end_part(self) -> None:
        body = _MARK_RUN.sub(lambda run: "\n\n" if _PARAGRAPH_MARK in run.group() else "\n", "".join(self._body))
        self.parts.append(_Part(self._path.location, self._heading, body))

    def _break(self, tag: str) -> None:
        if tag in _PARAGRAPH_BLOCKS:
            self._emit(_PARAGRAPH_MARK)
        elif tag in _LINE_BLOCKS:
            self._emit(_LINE_MARK)
        elif tag in _CELLS:
            self._emit(" ")

    def _emit(self, text: str) -> None:
        if self._title is not None:
            self._title[1].append(" " if text in (_LINE_MARK, _PARAGRAPH_MARK) else text)
        else:
            self._body.append(text)


def _html_outline(text: str) -> list[_Part]:
    parser = _HtmlOutline()
    parser.feed(_escape_stray_lt(text))
    parser.close()
    return parser.parts


def _escape_stray_lt(text: str) -> str:
    """Each "<" with no ">" before the next "<" escaped as "&lt;" (linear time); comments kept whole.

    Such a "<" cannot start a tag, comment or declaration, so html.parser would treat it as text anyway,
    but it first scans ahead for the end of the would-be tag, from every such "<": quadratic time on
    input like "<a <a <a ..." (CPython gh-135462, fixed only in later patch releases). Escaping them
    first keeps parsing linear. A "<" inside a quoted attribute value, before the tag's own ">", makes
    that tag text; browsers would read it as a tag, but such markup is rare and only loses a tag.
    """
    pieces: list[str] = []
    position = 0
    comments_can_close = True
    while (start := text.find("<", position)) >= 0:
        if comments_can_close and text.startswith("<!--", start):
            end = text.find("-->", start + 4)
            if end >= 0:  # a comment is kept whole: a "<" inside it is not markup
                pieces.append(text[position : end + 3])
                position = end + 3
                continue
            comments_can_close = False  # no "-->" after this point: do not search again
        following = text.find("<", start + 1)
        closing = text.find(">", start + 1, following if following >= 0 else len(text))
        pieces.append(text[position:start])
        pieces.append("<" if closing >= 0 else "&lt;")
        position = start + 1
    pieces.append(text[position:])
    return "".join(pieces)


__all__ = ["LOCATION_MAX", "SECTION_SEPARATOR", "extract_text", "full_text"]
