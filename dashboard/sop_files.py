"""An uploaded SOP file turned into text for the page's SOP editor: Markdown and plain text as they are,
Word (.docx) as Markdown (headings and list items kept), PDF through the knowledge base's text extractor.

Why here: the admin edits the text before the agent is created, so this only reads a file and answers
text; nothing is stored. The file is untrusted, so every step is bounded and linear in its size:

* .docx is a zip: at most `DOCX_ENTRIES_MAX` entries, `word/document.xml` at most `DOCX_XML_BYTES_MAX`
  bytes once inflated (read through a bounded reader, whatever the zip's header claims), no DTD (a .docx
  never has one; refusing it rules out entity expansion), parsed once with the stdlib's expat
  (`xml.etree.ElementTree.iterparse`) and walked once.
* PDF uses `oratio.knowledge.extract.extract_pdf` (pypdf under tight limits), at most `PDF_PAGES_MAX` pages.
* The text must fit an SOP (`Limits.SOP_MAX` characters) or it is refused, never silently cut.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Final
from xml.etree.ElementTree import ParseError, iterparse

from oratio.errors import InvalidInput
from oratio.knowledge.extract import full_text
from oratio.knowledge.extract.pdf import extract_pdf
from oratio.knowledge.extract.text import decode
from schemas import Limits

__all__ = ["SOP_SUFFIXES", "SopText", "sop_text"]

DOCX_ENTRIES_MAX: Final = 2_000
DOCX_XML_BYTES_MAX: Final = 8 * 1024 * 1024
PDF_PAGES_MAX: Final = 200
SOP_SUFFIXES: Final = (".md", ".markdown", ".txt", ".docx", ".pdf")
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_DOCUMENT = "word/document.xml"


@dataclass(frozen=True)
class SopText:
    text: str
    format: str
    """markdown, text, docx or pdf: what the file was read as."""


def sop_text(name: str, content: bytes) -> SopText:
    """The SOP text of an uploaded file, or InvalidInput (field `file`) saying what is wrong with it."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not content:
        raise InvalidInput(f"'{name[:80]}' is empty", field="file")
    if suffix in (".md", ".markdown"):
        found = SopText(decode(content), "markdown")
    elif suffix == ".txt":
        found = SopText(decode(content), "text")
    elif suffix == ".docx":
        found = SopText(docx_markdown(content), "docx")
    elif suffix == ".pdf":
        found = SopText(full_text(extract_pdf(content, max_pages=PDF_PAGES_MAX, max_chars=Limits.SOP_MAX)), "pdf")
    else:
        raise InvalidInput(f"an SOP file is one of {', '.join(SOP_SUFFIXES)}; '{name[:80]}' is not", field="file")
    text = found.text.replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput(f"'{name[:80]}' holds no text", field="file")
    if len(text) > Limits.SOP_MAX:
        raise InvalidInput(
            f"'{name[:80]}' holds {len(text)} characters of text; an SOP is at most {Limits.SOP_MAX}", field="file"
        )
    return SopText(text, found.format)


def docx_markdown(content: bytes) -> str:
    """A Word document's body as Markdown: `Heading N` styles become `#` headings, numbered or bulleted
    paragraphs `- ` items, other paragraphs plain lines (tables read row by row, one cell per line)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InvalidInput("the .docx file is not a Word document (not a zip archive)", field="file") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > DOCX_ENTRIES_MAX:
            raise InvalidInput(f"the .docx file has more than {DOCX_ENTRIES_MAX} parts; refused", field="file")
        if _DOCUMENT not in {entry.filename for entry in entries}:
            raise InvalidInput("the .docx file has no document body (word/document.xml)", field="file")
        try:
            with archive.open(_DOCUMENT) as member:
                xml = member.read(DOCX_XML_BYTES_MAX + 1)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
            raise InvalidInput("the .docx file is damaged (its body cannot be read)", field="file") from None
    if len(xml) > DOCX_XML_BYTES_MAX:
        raise InvalidInput(f"the .docx body is larger than {DOCX_XML_BYTES_MAX} bytes once unpacked", field="file")
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise InvalidInput("the .docx body declares a DTD, which Word never writes; refused", field="file")
    return _paragraphs(xml)


def _paragraphs(xml: bytes) -> str:
    lines: list[str] = []
    text: list[str] = []
    style = ""
    listed = False
    size = 0
    try:
        for event, element in iterparse(io.BytesIO(xml), events=("start", "end")):
            tag = element.tag
            if event == "start":
                if tag == _W + "p":
                    text, style, listed = [], "", False
                continue
            if tag == _W + "t" and element.text:
                text.append(element.text)
            elif tag == _W + "tab":
                text.append("\t")
            elif tag in (_W + "br", _W + "cr"):
                text.append("\n")
            elif tag == _W + "pStyle":
                style = element.get(_W + "val", "")
            elif tag == _W + "numPr":
                listed = True
            elif tag == _W + "p":
                lines.append(_line("".join(text), style, listed))
                size += len(lines[-1]) + 2
                element.clear()  # the walk keeps memory flat: a paragraph's nodes go once it is read
                if size > Limits.SOP_MAX:  # no need to read the rest of a document already too long
                    raise InvalidInput(
                        f"the .docx holds more than {Limits.SOP_MAX} characters of text; an SOP is at most that",
                        field="file",
                    )
    except ParseError as exc:
        raise InvalidInput(f"the .docx body is not well-formed XML ({exc})", field="file") from None
    return "\n".join(_squeezed(lines))


def _line(text: str, style: str, listed: bool) -> str:
    text = text.strip()
    if not text:
        return ""
    lowered = style.lower()
    if lowered.startswith("heading") and lowered[7:].isdigit():
        return "#" * min(max(int(lowered[7:]), 1), 6) + " " + text
    if lowered == "title":
        return "# " + text
    if listed or lowered.startswith("list"):
        return "- " + text
    return text


def _squeezed(lines: list[str]) -> list[str]:
    """Paragraphs separated by one blank line (Markdown's paragraph break), list items kept together."""
    out: list[str] = []
    for line in lines:
        if not line:
            continue
        if out and not (line.startswith("- ") and out[-1].startswith("- ")):
            out.append("")
        out.append(line)
    return out
