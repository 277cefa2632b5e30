"""What every format shares: decoding text bytes, normalising text, and assembling sections with offsets.

A format module turns its input into raw text per location (a PDF page, a heading's part); this module
normalises that text the same way for every format and assigns each section its offset in the full text
(see the package docstring), refusing a document past `max_chars`.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from oratio.knowledge.ports import ExtractedText, ExtractionError, Section

SECTION_SEPARATOR: Final = "\n\n"
LOCATION_MAX: Final = 256  # Chunk.location's max_length

EMPTY = "the document is empty"
_BINARY = "the file looks like a binary file, not text; upload it in its own format (pdf) or as text"
_NOT_UTF8 = "the file is not UTF-8 text; save it as UTF-8 and upload it again"


LINE_BREAKS = re.compile("\r\n?|[\x0b\x0c\x85\u2028\u2029]")
# C0/C1 controls except tab and newline, invisible format characters that split words (soft hyphen,
# zero-width space, word joiner, BOM), and lone surrogates (a broken PDF font map can produce them and
# they cannot be stored as UTF-8).
_DROPPED = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u200b\u2060\ufeff\ud800-\udfff]")
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_SPACE_AROUND_NEWLINE = re.compile(r" ?\n ?")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalise(text: str, form: Literal["NFC", "NFKC"] = "NFC") -> str:
    text = LINE_BREAKS.sub("\n", text)
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


class Builder:
    """Collects sections in order, assigning offsets in the full text and enforcing `max_chars`."""

    def __init__(self, max_chars: int) -> None:
        self._max_chars = max_chars
        self._sections: list[Section] = []
        self._length = 0

    def add(self, location: str, raw: str, form: Literal["NFC", "NFKC"] = "NFC") -> None:
        text = normalise(raw, form)
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


def decode(content: bytes, *, html_charset: bool = False) -> str:
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


@dataclass(frozen=True)
class Part:
    """Text under one heading; `heading` is "" for text before the first heading."""

    location: str
    heading: str
    body: str


class HeadingPath:
    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def enter(self, level: int, title: str) -> None:
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, title))

    @property
    def location(self) -> str:
        return " > ".join(title for _, title in self._stack)


def from_outline(parts: Sequence[Part], *, max_chars: int) -> ExtractedText:
    """Sections from heading parts; each starts with its heading line, whose path is its location.

    A heading with no text of its own, directly followed by its first subheading, adds nothing a search
    could find that the subsection's location does not already say, so it is not a section of its own.
    """
    builder = Builder(max_chars)
    for index, part in enumerate(parts):
        body = normalise(part.body)
        following = parts[index + 1].location if index + 1 < len(parts) else ""
        if not body and part.location and following.startswith(part.location + " > "):
            continue
        builder.add(part.location, f"{part.heading}\n\n{body}" if part.heading else body)
    return builder.build(pages=1, empty_message=EMPTY)
