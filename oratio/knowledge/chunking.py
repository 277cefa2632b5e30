"""Cutting extracted text into the chunks that are indexed and cited.

A chunk is what a search returns and what the agent reads, so it should be a self-contained run of
text with one location: chunks never cross a section boundary (one page, or the text under one
heading), and inside a section they are cut at paragraph ends when one is close enough, else between
sentences. Only a single sentence longer than `max_chars` is cut mid-sentence (at a line break or a
space if possible). Consecutive chunks of a section share up to `overlap_chars` of whole sentences, so
a passage that straddles a cut is still found whole in one of them.

Offsets are exact: `full_text[c.start_offset : c.end_offset] == c.text`, where `full_text` is the string
`Section.start_offset` refers to (`extract.full_text`). Chunk texts never start or end with whitespace.

The output is a pure function of the input (no randomness, no clock, no locale), which idempotent
ingestion relies on: the same document always gives the same chunks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from oratio.knowledge.ports import ChunkDraft, ExtractedText

CHUNK_CHARS_MAX: Final = 20_000  # Chunk.text's max_length

_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_NON_SPACE_SPAN = re.compile(r"\S(?:[\s\S]*\S)?")
# A sentence ends at ., !, ?, … (followed by closing quotes or brackets, then whitespace), or at CJK
# full stops, which need no space after them.
_SENTENCE_END = re.compile(r"(?:(?P<latin>[.!?…]+)|[。！？]+)[\"'”’»)\]」』）]*(?P<space>\s*)")
_WORD_BEFORE = re.compile(r"[\w.]+$")
_DOTTED_ABBREVIATION = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")  # single letters, dot-separated
# Abbreviations that a capitalised word often follows ("Dr. Smith", "Acme Inc. Ltd."): never sentence ends.
_ABBREVIATIONS: Final = frozenset(
    {"mr", "mrs", "ms", "mx", "dr", "prof", "sr", "jr", "st", "mt", "vs", "inc", "ltd", "co", "corp", "dept", "approx"}
)
# Abbreviations that end a sentence only if a number does not follow ("No. 5", "p. 12", "Fig. 3").
_NUMBER_ABBREVIATIONS: Final = frozenset({"no", "nos", "nr", "p", "pp", "fig", "vol", "art", "sec", "ch", "ex", "tel"})


@dataclass(frozen=True)
class _Unit:
    """A sentence (or a piece of an over-long one) as a span of its section's text."""

    start: int
    end: int
    ends_paragraph: bool


def chunk_text(extracted: ExtractedText, *, max_chars: int = 1200, overlap_chars: int = 200) -> list[ChunkDraft]:
    """The chunks of every section in order; each is at most `max_chars` long."""
    if not 1 <= max_chars <= CHUNK_CHARS_MAX:
        raise ValueError(f"max_chars must be between 1 and {CHUNK_CHARS_MAX}, got {max_chars}")
    if not 0 <= overlap_chars < max_chars:
        raise ValueError(f"overlap_chars must be at least 0 and less than max_chars, got {overlap_chars}")
    drafts: list[ChunkDraft] = []
    for section in extracted.sections:
        units = list(_units(section.text, max_chars))
        for start, end in _pack(units, max_chars, overlap_chars):
            drafts.append(
                ChunkDraft(
                    text=section.text[start:end],
                    location=section.location,
                    start_offset=section.start_offset + start,
                    end_offset=section.start_offset + end,
                )
            )
    return drafts


def _pack(units: list[_Unit], max_chars: int, overlap_chars: int) -> Iterator[tuple[int, int]]:
    """Greedy: each chunk takes as many units as fit, then backs up to a paragraph end if one is in its
    second half; the next chunk starts with the last units of this one that fit in `overlap_chars`."""
    first = 0
    new_from = 0  # the first unit no chunk has included yet; each chunk must include it
    while first < len(units):
        start = units[first].start
        last = first
        while last + 1 < len(units) and units[last + 1].end - start <= max_chars:
            last += 1
        if last + 1 < len(units) and not units[last].ends_paragraph:
            for candidate in range(last - 1, max(first, new_from) - 1, -1):
                if units[candidate].end - start < max_chars // 2:
                    break
                if units[candidate].ends_paragraph:
                    last = candidate
                    break
        yield start, units[last].end
        if last + 1 == len(units):
            return
        new_from = following = last + 1
        # Extend the overlap backwards while it stays within overlap_chars, leaves room for the next
        # new unit, and starts after this chunk's start (so every chunk makes progress).
        while (
            following - 1 > first
            and units[last].end - units[following - 1].start <= overlap_chars
            and units[last + 1].end - units[following - 1].start <= max_chars
        ):
            following -= 1
        first = following


def _units(text: str, max_chars: int) -> Iterator[_Unit]:
    for paragraph_start, paragraph_end in _paragraphs(text):
        sentences = list(_sentences(text, paragraph_start, paragraph_end))
        for index, (start, end) in enumerate(sentences):
            pieces = list(_hard_split(text, start, end, max_chars))
            for piece_index, (piece_start, piece_end) in enumerate(pieces):
                last = index == len(sentences) - 1 and piece_index == len(pieces) - 1
                yield _Unit(piece_start, piece_end, ends_paragraph=last)


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    """Spans of the paragraphs (separated by blank lines), without surrounding whitespace."""
    position = 0
    for separator in _PARAGRAPH_BREAK.finditer(text):
        yield from _trimmed(text, position, separator.start())
        position = separator.end()
    yield from _trimmed(text, position, len(text))


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    span = _NON_SPACE_SPAN.search(text, start, end)
    if span is not None:
        yield span.start(), span.end()


def _sentences(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    sentence_start = start
    for match in _SENTENCE_END.finditer(text, start, end):
        space = match.group("space")
        if match.end() >= end:
            break  # the paragraph's end closes its last sentence anyway
        if match.group("latin") is not None and (not space or not _ends_sentence(text, match)):
            continue
        yield sentence_start, match.end() - len(space)
        sentence_start = match.end()
    yield sentence_start, end


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    """Whether a '.', '!', '?' or '…' followed by whitespace ends a sentence (not "e.g. ", "Dr. ")."""
    following = text[match.end()] if match.end() < len(text) else ""
    if following.islower():
        return False  # "e.g. the", "approx. ten", "… and then"
    if set(match.group("latin")) != {"."}:
        return True
    word = _WORD_BEFORE.search(text, max(0, match.start() - 40), match.start())
    if word is None:
        return True
    word_text = word.group().strip(".")
    if "." in word_text and _DOTTED_ABBREVIATION.fullmatch(word_text):
        return False  # "U.S.", "i.e."
    if len(word_text) == 1 and word_text.isupper():
        return False  # an initial: "J. Smith"
    token = word_text.lower()
    if token in _ABBREVIATIONS:
        return False
    return not (token in _NUMBER_ABBREVIATIONS and following.isdigit())


def _hard_split(text: str, start: int, end: int, max_chars: int) -> Iterator[tuple[int, int]]:
    """Pieces of at most max_chars, cut at the last line break, else the last space, in the second half
    of the window; at max_chars exactly if there is neither."""
    while end - start > max_chars:
        limit = start + max_chars
        earliest = start + max(1, max_chars // 2)
        cut = text.rfind("\n", earliest, limit + 1)
        if cut < 0:
            cut = next((i for i in range(limit, earliest - 1, -1) if text[i].isspace()), limit)
        piece_end = cut
        while text[piece_end - 1].isspace():
            piece_end -= 1
        yield start, piece_end
        start = cut
        while text[start].isspace():
            start += 1
    yield start, end


__all__ = ["CHUNK_CHARS_MAX", "chunk_text"]
