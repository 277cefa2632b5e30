"""A minimal text-only PDF writer, so PDF ingestion can be timed on real prose without shipping PDFs.

Each page is lines of Helvetica 10 pt (a standard font: nothing embedded), one text object per page,
uncompressed. That is the simplest PDF a text layer can come from, so the figure it gives is an upper
bound for pypdf's extraction speed: real PDFs add fonts, compression and layout.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence

LINES_PER_PAGE = 60
CHARS_PER_LINE = 95


def text_pdf(pages: Sequence[Sequence[str]]) -> bytes:
    """A PDF with one page per item of `pages`, each showing its lines top to bottom."""
    if not pages:
        raise ValueError("a PDF needs at least one page")
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(len(pages))), len(pages)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, lines in enumerate(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
            b" /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i)
        )
        stream = b"BT /F1 10 Tf 12 TL 50 750 Td " + b"".join(b"(%s) Tj T* " % _pdf_string(line) for line in lines)
        stream += b"ET"
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = bytearray(b"%PDF-1.4\n")
    offsets: list[int] = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def paginate(texts: Iterable[str], pages: int) -> list[list[str]]:
    """Up to `pages` pages of wrapped lines from `texts`, in order (fewer if the texts run out)."""
    result: list[list[str]] = []
    current: list[str] = []
    for text in texts:
        for paragraph in text.split("\n"):
            for line in textwrap.wrap(paragraph, CHARS_PER_LINE) or [""]:
                current.append(line)
                if len(current) == LINES_PER_PAGE:
                    result.append(current)
                    current = []
                    if len(result) == pages:
                        return result
    if current and len(result) < pages:
        result.append(current)
    return result


def _pdf_string(line: str) -> bytes:
    raw = line.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)").replace(b"\r", b" ")


__all__ = ["CHARS_PER_LINE", "LINES_PER_PAGE", "paginate", "text_pdf"]
