"""PDF: one section per page, read from the text layer under tight pypdf limits.

The file is untrusted: a decompression bomb or a pathological content stream fails fast at the limits
below instead of exhausting memory, and whatever pypdf raises on a malformed file becomes an
`ExtractionError` that fails this document only.
"""

from __future__ import annotations

import io
import logging
from typing import Final

import pypdf
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PyPdfError

from oratio.knowledge.extract.text import Builder
from oratio.knowledge.ports import ExtractedText, ExtractionError

logger = logging.getLogger("oratio.knowledge")

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


def extract_pdf(content: bytes, *, max_pages: int, max_chars: int) -> ExtractedText:
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
            builder = Builder(max_chars)
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
