"""An SOP's text as blocks: headings, list items, table rows, paragraphs and HTML comments, each under its section.

One pass over the lines; every pattern is anchored at a line start and has no nested quantifier, and
HTML comments are found with `str.find`, so the cost is linear in the SOP whatever its content.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from typing import Final, Literal

from creator_agent.sop_reader._cues import INTERNAL_MARKERS

BlockKind = Literal["item", "row", "paragraph", "comment"]

_HEADING: Final = re.compile(r"(?P<level>#{1,6})[ \t]+(?P<title>\S.*)")
# Bullets; "1." "1)" "1.1" "1.1." "a)" "a." "(a)" "(i)" "iv.": the marker, then spaces, then the text.
_ITEM: Final = re.compile(
    r"(?P<indent>[ \t]*)(?:(?P<bullet>[-*+•–—▪◦‣►▸])|(?P<number>\d{1,3}[.)])|(?P<outline>\d{1,3}(?:\.\d{1,3}){1,3}\.?)"
    r"|(?P<letter>\(?[a-zA-Z][.)])|(?P<roman>\(?[ivxIVX]{1,5}[.)]))[ \t]+(?P<text>\S.*)"
)
_BULLETS: Final = "•–—▪◦‣►▸"
_SETEXT: Final = re.compile(r"[ \t]*(?:=+|-{3,})[ \t]*")
_TABLE_RULE: Final = re.compile(r"[ \t|:\-]+")
_LEAD_IN: Final = re.compile(
    r"(?:if|when|whenever|for|before|after|si|quand|lorsque|cuando|antes|wenn|falls|bei)\b", re.I
)
_BOLD_TITLE: Final = re.compile(r"\*\*(?P<title>[^*]{1,80})\*\*:?")
TITLE_MAX_WORDS: Final = 8


@dataclass(frozen=True)
class Block:
    """One unit of an SOP: `text` as written (markup stripped), under the heading `section` (lower case)."""

    kind: BlockKind
    text: str
    section: str
    numbered: bool = False  # a "1." / "1)" ordered item (not an outline number like 1.1 or a letter)
    before_first_heading: bool = False
    cells: tuple[str, ...] = ()  # a table row's cells


def _without_comments(sop: str) -> tuple[str, list[str]]:
    """The SOP with its HTML comments removed, and the comments' texts (authors' notes, never for customers)."""
    kept: list[str] = []
    comments: list[str] = []
    position = 0
    while (start := sop.find("<!--", position)) >= 0:
        end = sop.find("-->", start + 4)
        kept.append(sop[position:start])
        if end < 0:
            comments.append(sop[start + 4 :])
            position = len(sop)
            break
        comments.append(sop[start + 4 : end])
        position = end + 3
    kept.append(sop[position:])
    return "".join(kept), [" ".join(c.split()) for c in comments if c.strip()]


_BREAK_TAGS: Final = frozenset(
    "p div br hr ul ol table tbody thead tr section article header footer blockquote pre dl dt dd".split()
)
_INLINE_TAGS: Final = frozenset("b i u em strong span a code small sup sub font mark td th".split())
_TAG: Final = re.compile(r"<(?P<close>/?)(?P<name>[a-zA-Z][a-zA-Z0-9]{0,9})(?:\s[^<>]{0,500})?/?>")


def _without_html(text: str) -> str:
    """HTML markup pasted from a wiki or an editor turned into the lines a reader sees.

    Block tags end a line, `<li>` starts a list item, `<h1>`..`<h6>` a heading; inline tags go; entities
    (`&amp;`, `&ndash;`) are decoded. Only known tag names are touched: "<booking reference>" stays.
    Without this, a whole wiki page read as one paragraph: its sentences ran into one rule or one handoff
    condition. The tag pattern stops at the next "<" or ">" (at most 500 characters): linear."""
    if "<" not in text and "&" not in text:
        return text

    def replace_tag(found: re.Match[str]) -> str:
        name = found["name"].casefold()
        if name == "li":
            return "\n" if found["close"] else "\n- "
        if len(name) == 2 and name[0] == "h" and name[1] in "123456":
            return "\n" if found["close"] else "\n" + "#" * int(name[1]) + " "
        if name in _BREAK_TAGS:
            return "\n"
        if name in _INLINE_TAGS:
            return " " if name in ("td", "th") else ""
        return found[0]

    return html.unescape(_TAG.sub(replace_tag, text)) if "<" in text else html.unescape(text)


def _cells(line: str) -> list[str]:
    return [" ".join(cell.split()) for cell in line.strip().strip("|").split("|")]


def _is_title(line: str) -> str | None:
    """A short line that titles what follows: "**Baggage**", "Cancellations:" (no sentence punctuation)."""
    stripped = line.strip()
    if bold := _BOLD_TITLE.fullmatch(stripped):
        return bold["title"].strip()
    if stripped.endswith(":") and len(stripped.split()) <= TITLE_MAX_WORDS and not any(c in stripped for c in ".!?"):
        return stripped[:-1].strip()
    return None


def _strip_inline(text: str) -> str:
    """Emphasis markers removed and spaces collapsed: the text as a reader sees it."""
    return " ".join(text.replace("**", "").replace("__", "").replace("`", "").split())


def blocks(sop: str) -> tuple[list[Block], list[str]]:
    """The SOP's blocks in order, and the texts of its HTML comments."""
    text, comments = _without_comments(sop)
    text = _without_html(text)
    lines = text.splitlines()
    found: list[Block] = []
    section = ""
    seen_heading = False
    paragraph: list[str] = []
    header: list[str] | None = None
    extra: dict[int, list[str]] = {}  # an item's index -> its continuation lines (joined once, at the end)
    lead_in = ""  # "If the customer wants a refund:" before a list: the condition each item holds under

    def flush() -> None:
        if paragraph:
            found.append(Block("paragraph", _strip_inline(" ".join(paragraph)), section, False, not seen_heading))
            paragraph.clear()

    for index, line in enumerate(lines):
        stripped = line.strip()
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if not stripped:
            flush()
            header = None
            continue
        heading = _HEADING.match(stripped)
        setext = not paragraph and _SETEXT.fullmatch(following) is not None and "|" not in stripped
        title = None if heading or setext else _is_title(stripped)
        if title is not None and not paragraph and _LEAD_IN.match(title):
            flush()  # "When a refund is requested:" over a list: each item is read with it
            lead_in = f"{title}:"
            continue
        if heading and heading["level"] == "#" and not seen_heading and not found and not paragraph:
            continue  # the document's title: what follows it is still the introduction
        if heading or setext or (title is not None and not paragraph):
            flush()
            header = None
            lead_in = ""
            raw = heading["title"] if heading else (stripped if setext else title or "")
            section = _strip_inline(raw.strip().strip("#")).casefold()
            seen_heading = True
            continue
        if _SETEXT.fullmatch(line):
            flush()  # the underline of a setext heading, already read, or a horizontal rule
            continue
        if stripped.startswith("|") or (header is not None and "|" in stripped):
            flush()
            if _TABLE_RULE.fullmatch(stripped):
                continue
            cells = _cells(stripped)
            if header is None:
                header = cells
                continue
            found.append(Block("row", _row_text(header, cells), section, False, not seen_heading, tuple(cells)))
            continue
        header = None
        if item := _ITEM.match(line):
            flush()
            if _is_list_title(item, following):
                section = _strip_inline(item["text"]).casefold()  # "1. Identification" over "   1.1 Ask ..."
                seen_heading = True
                continue
            body = item["text"].lstrip(_BULLETS + " \t") or item["text"]  # "<li>• Items": one marker
            text = _strip_inline(f"{lead_in} {body}" if lead_in else body)
            found.append(Block("item", text, section, item["number"] is not None, not seen_heading))
            continue
        if found and found[-1].kind == "item" and not paragraph and line[:1] in (" ", "\t"):
            extra.setdefault(len(found) - 1, []).append(stripped)  # an item's continuation line
            continue
        if stripped.casefold().startswith(INTERNAL_MARKERS):
            flush()  # "Internal: ..." starts a paragraph of its own (the note may run over several lines)
        elif _is_field_line(stripped):
            flush()  # "Last updated: 2024-05-01", "Owner: Support": a line of its own, never joined to prose
            paragraph.append(stripped)
            flush()
            continue
        lead_in = ""  # prose after the list ends the lead-in
        paragraph.append(stripped)
    flush()
    for index, lines in extra.items():
        listed = found[index]
        found[index] = replace(listed, text=_strip_inline(" ".join([listed.text, *lines])))
    for comment in comments:
        found.append(Block("comment", comment, section))
    return found, comments


def _is_field_line(line: str) -> bool:
    """A short "Key: value" line (document metadata, a label), read on its own."""
    key, colon, value = line.partition(":")
    return bool(colon) and 0 < len(key.split()) <= 3 and len(value.split()) <= 6 and not line.endswith((".", "!", "?"))


def _is_list_title(item: re.Match[str], following: str) -> bool:
    """A short item with no sentence punctuation over a deeper one: a section title.

    Deeper is more indented ("1. Identification" over "   1.1 Ask ..."), or numbered under it at the
    same indent ("1. Accounts" over "1.1 Password resets", "1.2 MFA" over "1.2.1 Verify ...")."""
    text, indent = item["text"], item["indent"]
    if len(text.split()) > TITLE_MAX_WORDS // 2 or any(c in text for c in ".!?:;,"):
        return False
    sub = _ITEM.match(following)
    if sub is None:
        return False
    if len(sub["indent"].expandtabs(4)) > len(indent.expandtabs(4)):
        return True
    number = (item["number"] or item["outline"] or "").rstrip(".)")
    return bool(number) and sub["outline"] is not None and sub["outline"].startswith(f"{number}.")


def _row_text(header: list[str], cells: list[str]) -> str:
    """A table row as one line that keeps its header: "Fare Basic: Change fee $75; Refundable no"."""
    pairs = [(h, c) for h, c in zip(header, cells, strict=False) if c]
    if not pairs:
        return ""
    (first_header, first), *rest = pairs
    lead = f"{first_header} {first}" if first_header and first_header.casefold() not in first.casefold() else first
    if not rest:
        return _strip_inline(lead)
    return _strip_inline(f"{lead}: " + "; ".join(f"{h} {c}" if h else c for h, c in rest))


__all__ = ["Block", "blocks"]
