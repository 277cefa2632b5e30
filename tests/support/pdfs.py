"""A minimal PDF writer for tests and benches: text pages, raw content streams, decompression bombs.

Objects in order, then a correct xref table and trailer, so pypdf reads what these build exactly as
it reads a real file; nothing is shipped as a binary fixture.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence


class PdfBuilder:
    """Objects in order, then a correct xref table and trailer: a valid PDF 1.7 file."""

    def __init__(self) -> None:
        self._objects: list[bytes] = []

    def add(self, body: bytes) -> int:
        self._objects.append(body)
        return len(self._objects)

    def reserve(self) -> int:
        return self.add(b"null")

    def set(self, number: int, body: bytes) -> None:
        self._objects[number - 1] = body

    def stream(self, data: bytes, entries: bytes = b"", *, compress: bool = True) -> int:
        if compress:
            data = zlib.compress(data)
            entries += b" /Filter /FlateDecode"
        return self.add(b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(data), entries, data))

    def build(self, root: int) -> bytes:
        out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(self._objects, start=1):
            offsets.append(len(out))
            out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(self._objects) + 1)
        for offset in offsets:
            out += b"%010d 00000 n \n" % offset
        out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(self._objects) + 1, root, xref)
        return bytes(out)


def _pdf_string(text: str) -> bytes:
    raw = text.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def text_page_content(lines: Sequence[str]) -> bytes:
    ops = [b"BT", b"/F1 12 Tf", b"14 TL", b"72 720 Td"]
    ops += [_pdf_string(line) + b" Tj T*" for line in lines]
    ops.append(b"ET")
    return b"\n".join(ops)


IMAGE_PAGE = b"q 200 0 0 200 100 400 cm /Im1 Do Q"


def make_pdf(pages: Sequence[Sequence[str] | bytes], *, raw_contents: dict[int, int] | None = None) -> bytes:
    """A PDF with one page per entry: lines of Helvetica text, or raw content-stream bytes.

    Every page has the font F1 and a 2x2 RGB image Im1 as resources. `raw_contents` maps a page index to
    an already added content stream object (see `bomb_pdf`).
    """
    builder = PdfBuilder()
    font = builder.add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    image = builder.stream(
        bytes(range(12)),
        b" /Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceRGB /BitsPerComponent 8",
    )
    pages_node = builder.reserve()
    kids = []
    for index, page in enumerate(pages):
        if raw_contents and index in raw_contents:
            contents = raw_contents[index]
        else:
            contents = builder.stream(page if isinstance(page, bytes) else text_page_content(page))
        kids.append(
            builder.add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                b"/Resources << /Font << /F1 %d 0 R >> /XObject << /Im1 %d 0 R >> >> >>"
                % (pages_node, contents, font, image)
            )
        )
    kid_refs = b" ".join(b"%d 0 R" % kid for kid in kids)
    builder.set(pages_node, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kid_refs, len(kids)))
    return builder.build(builder.add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_node))


def bomb_pdf(inflated_bytes: int, filler: bytes) -> bytes:
    """One page whose content stream is a little text then `inflated_bytes` of `filler`, deflated.

    The deflate stream is produced piece by piece, so building it never holds the inflated data.
    """
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(text_page_content(["Hello from the bomb"]) + b"\n")]
    block = (filler * (1024 * 1024 // len(filler) + 1))[: 1024 * 1024]
    for _ in range(inflated_bytes // len(block)):
        parts.append(compressor.compress(block))
    parts.append(compressor.flush())
    data = b"".join(parts)
    builder = PdfBuilder()
    font = builder.add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    contents = builder.add(b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(data), data))
    pages_node = builder.reserve()
    page = builder.add(
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
        b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (pages_node, contents, font)
    )
    builder.set(pages_node, b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % page)
    return builder.build(builder.add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_node))
