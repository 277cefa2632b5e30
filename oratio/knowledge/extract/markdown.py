"""Markdown: one part per heading, with the markup removed by patterns that cannot backtrack quadratically."""

from __future__ import annotations

import html
import re

from oratio.knowledge.extract.text import LINE_BREAKS, HeadingPath, Part

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


def markdown_outline(text: str) -> list[Part]:
    """Markdown split at headings, with markup removed lightly (a line-based subset of CommonMark).

    Kept: the text of links and images, the content of code spans and fences (verbatim), list markers,
    table cells. Removed: emphasis markers, heading and blockquote markers, fences, thematic breaks,
    table rules, link definitions, HTML tags and comments. Entities are decoded.
    """
    lines = _without_html_comments(LINE_BREAKS.sub("\n", text)).split("\n")
    parts: list[Part] = []
    path = HeadingPath()
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
                parts.append(Part(path.location, heading, "\n".join(body)))
                path.enter(heading_level, title)
                heading, body = title, []
            continue
        if _THEMATIC_BREAK.match(line):
            body.append("")
            continue
        if _is_table_rule(line) or _LINK_DEFINITION.match(line):
            continue
        body.append(_inline(_BLOCKQUOTE.sub("", line)))
    parts.append(Part(path.location, heading, "\n".join(body)))
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
