"""HTML: one part per heading (h1-h6), the page's text without scripts, styles, navigation or the head.

Parsed with the standard library's `html.parser` after stray "<" are escaped, so hostile input costs
linear time.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from oratio.knowledge.extract.text import HeadingPath, Part

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
        self.parts: list[Part] = []
        self._path = HeadingPath()
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
        self.parts.append(Part(self._path.location, self._heading, body))

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


def html_outline(text: str) -> list[Part]:
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
