"""Text extraction: real PDFs (built byte by byte here), hostile PDFs, text encodings, Markdown and HTML.

The PDFs are written by a small builder in this module rather than a PDF library, so each test controls
exactly what is in the file: fonts and text, an image-only page, a FlateDecode stream of 200 MB of
zeros. pypdf's writer is used only to encrypt.
"""

from __future__ import annotations

import io
import random
import tracemalloc
import unicodedata
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter

from bench.extract_limits import HOSTILE_MARKUP, HOSTILE_SIZE, extract_and_chunk
from oratio.knowledge.extract import LOCATION_MAX, SECTION_SEPARATOR, extract_text, full_text
from oratio.knowledge.ports import ExtractedText, ExtractionError
from schemas import DocumentFormat
from tests.support.pdfs import IMAGE_PAGE, PdfBuilder, bomb_pdf, make_pdf

PDF, TEXT, MARKDOWN, HTML = DocumentFormat.PDF, DocumentFormat.TEXT, DocumentFormat.MARKDOWN, DocumentFormat.HTML


def encrypted(pdf: bytes, *, user_password: str, owner_password: str | None, algorithm: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def assert_offsets_exact(extracted: ExtractedText) -> None:
    text = full_text(extracted)
    for section in extracted.sections:
        assert text[section.start_offset : section.start_offset + len(section.text)] == section.text
    assert len(text) == sum(len(s.text) for s in extracted.sections) + len(SECTION_SEPARATOR) * (
        len(extracted.sections) - 1
    )


def locations(extracted: ExtractedText) -> list[str]:
    return [section.location for section in extracted.sections]


@pytest.fixture
def bounded_memory() -> Iterator[None]:
    """Fails the test if Python allocations peak above 100 MB during it (tracemalloc)."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    baseline = tracemalloc.get_traced_memory()[0]
    yield
    peak = tracemalloc.get_traced_memory()[1]
    if not was_tracing:
        tracemalloc.stop()
    assert peak - baseline < 100 * 1024 * 1024, f"peak {(peak - baseline) / 1e6:.0f} MB"


# --- PDF ------------------------------------------------------------------------------------------


def test_pdf_has_one_section_per_page_with_text() -> None:
    pdf = make_pdf([["Refunds within 30 days.", "Café costs $1.50 (tax included)."], [], ["Shipping takes 3 days."]])

    extracted = extract_text(pdf, PDF)

    assert extracted.pages == 3
    assert locations(extracted) == ["page 1", "page 3"]  # the blank page 2 adds no section
    assert "Refunds within 30 days." in extracted.sections[0].text
    assert "Café costs $1.50 (tax included)." in extracted.sections[0].text
    assert extracted.sections[1].text == "Shipping takes 3 days."
    assert_offsets_exact(extracted)


def test_pdf_with_only_image_and_blank_pages_has_no_text_layer() -> None:
    pdf = make_pdf([IMAGE_PAGE, [], IMAGE_PAGE])

    with pytest.raises(ExtractionError, match=r"no text layer \(scanned\?\); OCR is not supported"):
        extract_text(pdf, PDF)


def test_pdf_image_page_between_text_pages_is_skipped() -> None:
    extracted = extract_text(make_pdf([["Before."], IMAGE_PAGE, ["After."]]), PDF)

    assert [(s.location, s.text) for s in extracted.sections] == [("page 1", "Before."), ("page 3", "After.")]


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_pdf_with_a_user_password_is_refused(algorithm: str) -> None:
    pdf = encrypted(make_pdf([["Secret terms."]]), user_password="pw", owner_password=None, algorithm=algorithm)

    with pytest.raises(ExtractionError, match="the PDF is encrypted"):
        extract_text(pdf, PDF)


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_pdf_with_only_an_owner_password_is_read(algorithm: str) -> None:
    """Restrictions-only encryption (empty user password) opens in every viewer, so it is read too."""
    pdf = encrypted(make_pdf([["Open terms."]]), user_password="", owner_password="owner", algorithm=algorithm)

    extracted = extract_text(pdf, PDF)

    assert extracted.sections[0].text == "Open terms."


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(random.Random(7).randbytes(4096), id="random-bytes"),
        pytest.param(b"%PDF-1.7\n" + random.Random(8).randbytes(4096), id="random-after-header"),
        pytest.param(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", id="header-and-a-fragment"),
        pytest.param(b"hello, I am plain text", id="text"),
    ],
)
def test_not_a_pdf_is_refused(content: bytes) -> None:
    with pytest.raises(ExtractionError, match="the file is not a valid PDF"):
        extract_text(content, PDF)


@pytest.mark.parametrize("keep", [0.5, 0.9, -12])
def test_truncated_pdf_is_refused(keep: float) -> None:
    pdf = make_pdf([["Page one text."], ["Page two text."]])
    cut = int(len(pdf) * keep) if keep > 0 else len(pdf) + int(keep)

    with pytest.raises(ExtractionError, match="the file is not a valid PDF"):
        extract_text(pdf[:cut], PDF)


def test_every_pdf_failure_is_an_extraction_error() -> None:
    """Garbage in any position (a fuzz of single-byte corruptions) never escapes as another exception."""
    pdf = make_pdf([["Some text on a page."], ["More."]])
    rng = random.Random(11)
    for _ in range(300):
        corrupt = bytearray(pdf)
        for _ in range(rng.randint(1, 8)):
            corrupt[rng.randrange(len(corrupt))] = rng.randrange(256)
        try:
            extract_text(bytes(corrupt), PDF)
        except ExtractionError:
            pass


def test_pdf_with_too_many_pages_is_refused() -> None:
    pdf = make_pdf([[f"Page {n}."] for n in range(5)])

    assert extract_text(pdf, PDF, max_pages=5).pages == 5
    with pytest.raises(ExtractionError, match="the PDF has 5 pages, more than the 4 allowed"):
        extract_text(pdf, PDF, max_pages=4)


def test_pdf_text_beyond_max_chars_is_refused() -> None:
    pdf = make_pdf([["x" * 80] * 40 for _ in range(10)])  # ~3,200 characters a page

    with pytest.raises(ExtractionError, match="more than 10,000 characters"):
        extract_text(pdf, PDF, max_chars=10_000)


def test_decompression_bomb_is_refused_in_bounded_memory(bounded_memory: None) -> None:
    pdf = bomb_pdf(200 * 1024 * 1024, b"\0")  # 200 MB of zeros in a ~200 KB file
    assert len(pdf) < 1024 * 1024

    with pytest.raises(ExtractionError, match="beyond the safety limits"):
        extract_text(pdf, PDF)  # how fast: bench/extract_limits.py


def test_content_stream_with_millions_of_operators_fails_in_bounded_memory(bounded_memory: None) -> None:
    pdf = bomb_pdf(4 * 1024 * 1024, b"(a) Tj ")  # ~1.2 million text-showing operations in ~30 KB

    with pytest.raises(ExtractionError, match="content on page 1 beyond the safety limits"):
        extract_text(pdf, PDF)  # how fast: bench/extract_limits.py


def test_pdf_text_is_normalised() -> None:
    page = b"BT /F1 12 Tf 72 720 Td (Total:      \\t 30    days) Tj 0 -14 Td (Next\\007line) Tj ET"

    text = extract_text(make_pdf([page]), PDF).sections[0].text

    assert text == "Total: 30 days\nNextline"


def test_pdf_ligatures_become_letters() -> None:
    """A PDF text layer often holds presentation forms ("ﬁ"); searching "financial" must still match."""
    builder = PdfBuilder()
    font = builder.add(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Type /Encoding "
        b"/BaseEncoding /WinAnsiEncoding /Differences [128 /fi 129 /fl] >> >>"
    )
    pages_node = builder.reserve()
    contents = builder.stream(b"BT /F1 12 Tf 72 720 Td (\x80nancial \x81ow) Tj ET")
    page = builder.add(
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
        b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (pages_node, contents, font)
    )
    builder.set(pages_node, b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % page)
    pdf = builder.build(builder.add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_node))
    assert PdfReader(io.BytesIO(pdf)).pages[0].extract_text().strip() == "\ufb01nancial \ufb02ow"

    assert extract_text(pdf, PDF).sections[0].text == "financial flow"


# --- plain text -----------------------------------------------------------------------------------


def test_utf8_text_is_one_section() -> None:
    extracted = extract_text("Héllo wörld.\n\nSecond paragraph: 5 € — ok.".encode(), TEXT)

    assert [(s.text, s.location, s.start_offset) for s in extracted.sections] == [
        ("Héllo wörld.\n\nSecond paragraph: 5 € — ok.", "", 0)
    ]
    assert extracted.pages == 1


def test_utf8_bom_is_removed() -> None:
    extracted = extract_text(b"\xef\xbb\xbfCaf\xc3\xa9 menu", TEXT)

    assert extracted.sections[0].text == "Café menu"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_bom_is_decoded(encoding: str) -> None:
    bom = {"utf-16": b"", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[encoding]
    content = bom + "Straße 5, 10115 Berlin".encode(encoding)

    assert extract_text(content, TEXT).sections[0].text == "Straße 5, 10115 Berlin"


def test_utf16_without_bom_looks_binary() -> None:
    with pytest.raises(ExtractionError, match="looks like a binary file"):
        extract_text("plain words".encode("utf-16-le"), TEXT)


def test_latin1_text_is_not_utf8() -> None:
    with pytest.raises(ExtractionError, match="not UTF-8 text"):
        extract_text("Café crème à la carte".encode("latin-1"), TEXT)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", id="png"),
        pytest.param(b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + bytes(100), id="zip/docx"),
        pytest.param(bytes(range(1, 9)) * 40 + b"some words", id="control-characters"),
    ],
)
def test_binary_content_named_text_is_refused(content: bytes) -> None:
    with pytest.raises(ExtractionError, match="looks like a binary file"):
        extract_text(content, TEXT)


@pytest.mark.parametrize("fmt", [TEXT, MARKDOWN, HTML])
def test_pdf_uploaded_as_text_says_so(fmt: DocumentFormat) -> None:
    with pytest.raises(ExtractionError, match="the file is a PDF"):
        extract_text(make_pdf([["Hi."]]), fmt)


@pytest.mark.parametrize("content", [b"", b"   \n\t\r\n  ", b"\xef\xbb\xbf\n\n", "\u200b\u00a0\n\u3000".encode()])
@pytest.mark.parametrize("fmt", [TEXT, MARKDOWN, HTML])
def test_empty_document_is_refused(content: bytes, fmt: DocumentFormat) -> None:
    with pytest.raises(ExtractionError, match="the document is empty"):
        extract_text(content, fmt)


def test_markup_without_text_is_empty() -> None:
    with pytest.raises(ExtractionError, match="the document is empty"):
        extract_text(b"---\n\n***\n", MARKDOWN)
    with pytest.raises(ExtractionError, match="the document is empty"):
        extract_text(b"<html><head><title>t</title></head><body><script>x()</script></body></html>", HTML)


def test_whitespace_and_control_characters_are_normalised() -> None:
    content = "  a\r\nb\t\tc   d\x07e\u00a0f \n\n\n\n g\u200bh\u00adi\x0cj  \r\n".encode()

    assert extract_text(content, TEXT).sections[0].text == "a\nb c de f\n\nghi\nj"


def test_text_beyond_max_chars_is_refused() -> None:
    with pytest.raises(ExtractionError, match="more than 100 characters"):
        extract_text(b"word " * 30, TEXT, max_chars=100)
    assert extract_text(b"word " * 20, TEXT, max_chars=100).sections[0].text == ("word " * 20).strip()


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        extract_text(b"x", TEXT, max_chars=0)
    with pytest.raises(ValueError):
        extract_text(b"x", TEXT, max_pages=0)


# --- Markdown -------------------------------------------------------------------------------------

POLICY_MD = """\
Welcome to the store.

# Refund policy

Refunds are possible within 30 days.

## Over $100

Ask **a manager**; see [the form](https://example.com/form_(v2)) first.

### Exceptions

Gift cards are _final_.

## Under $100

Any *cashier* can refund.

# Shipping

#### Abroad

Allow 10 days.
"""


def test_markdown_sections_follow_the_heading_path() -> None:
    extracted = extract_text(POLICY_MD.encode(), MARKDOWN)

    assert [(s.location, s.text) for s in extracted.sections] == [
        ("", "Welcome to the store."),
        ("Refund policy", "Refund policy\n\nRefunds are possible within 30 days."),
        ("Refund policy > Over $100", "Over $100\n\nAsk a manager; see the form first."),
        ("Refund policy > Over $100 > Exceptions", "Exceptions\n\nGift cards are final."),
        ("Refund policy > Under $100", "Under $100\n\nAny cashier can refund."),
        # "Shipping" has no text of its own and its subsection's location names it: not a section.
        ("Shipping > Abroad", "Abroad\n\nAllow 10 days."),
    ]
    assert_offsets_exact(extracted)


def test_markdown_heading_without_text_is_kept_when_nothing_under_it() -> None:
    extracted = extract_text(b"# FAQ\n\nSome text.\n\n# Contact\n", MARKDOWN)

    assert [(s.location, s.text) for s in extracted.sections] == [("FAQ", "FAQ\n\nSome text."), ("Contact", "Contact")]


def test_markdown_markup_is_removed_lightly() -> None:
    content = """\
Text with `inline *code*`, a_snake_case_name, 2*3*4, \\*literal stars\\* and ~~old~~ &amp; new.
> Quoted **bold** line.
- item with ![a diagram](d.png) and <https://example.com>
1. first <br> second

```python
# not a heading
def total(x):  # **kept**
    return x * 2
```

| Plan | Price |
|------|------:|
| Pro  | $10   |

[ref]: https://example.com
<!-- an HTML comment
over two lines -->
Plain [reference link][ref] here.
"""

    text = extract_text(content.encode(), MARKDOWN).sections[0].text

    assert text == (
        "Text with inline *code*, a_snake_case_name, 2*3*4, *literal stars* and old & new.\n"
        "Quoted bold line.\n"
        "- item with a diagram and https://example.com\n"
        "1. first second\n\n"
        "# not a heading\n"
        "def total(x): # **kept**\n"
        "return x * 2\n\n"
        "| Plan | Price |\n"
        "| Pro | $10 |\n\n"
        "Plain reference link here."
    )


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("**a *b* c**", "a b c"),
        ("***both***", "both"),
        ("*a **b** c*", "a b c"),
        ("2 * 3 * 4 and 2*3*4", "2 * 3 * 4 and 2*3*4"),
        ("an **unclosed bold", "an **unclosed bold"),
        ('[text](https://example.com/a_(b) "title")', "text"),
        ("[not a link] (x)", "[not a link] (x)"),
        ("`` code with ` tick ``", "code with ` tick"),
        ("x <span class='a'>y</span> z", "x y z"),
        ("a < b > c", "a < b > c"),
    ],
)
def test_markdown_inline_markup(markdown: str, text: str) -> None:
    assert extract_text(markdown.encode(), MARKDOWN).sections[0].text == text


def test_markdown_setext_and_closed_atx_headings() -> None:
    content = (
        b"Title\n=====\n\nIntro.\n\nPart two\n--------\n\nBody.\n\n## Closed ##\n\nEnd.\n\nTwo lines\nof text\n---\n"
    )

    extracted = extract_text(content, MARKDOWN)

    assert locations(extracted) == ["Title", "Title > Part two", "Title > Closed"]
    # Under a multi-line paragraph, "---" makes the whole paragraph a heading in CommonMark; this subset
    # only reads one-line paragraphs as setext headings, so here it is a thematic break and dropped.
    assert extracted.sections[-1].text == "Closed\n\nEnd.\n\nTwo lines\nof text"


def test_markdown_unclosed_fence_keeps_the_rest_as_code() -> None:
    extracted = extract_text(b"# A\n\nText.\n\n```\ncode\n# B\n", MARKDOWN)

    assert [(s.location, s.text) for s in extracted.sections] == [("A", "A\n\nText.\n\ncode\n# B")]


def test_long_heading_path_is_clipped_to_the_location_limit() -> None:
    content = "".join(
        f"{'#' * level} {'Heading number ' + str(level) + ' ' * 3 + 'x' * 60}\n\n" for level in range(1, 7)
    )
    content += "Body."

    location = extract_text(content.encode(), MARKDOWN).sections[-1].location

    assert len(location) == LOCATION_MAX
    assert location.startswith("…") and location.endswith("Heading number 6 " + "x" * 60)


# --- HTML -----------------------------------------------------------------------------------------

PAGE_HTML = """\
<!DOCTYPE html>
<html>
<head><title>Store help</title><style>p { color: red }</style>
<script>var html = "<h1>not text</h1>";</script></head>
<body>
<nav><a href="/">Home</a> | <a href="/help">Help</a></nav>
<p>Welcome &amp; hello&nbsp;there &eacute;&#233;&#x20AC;.</p>
<h1>Refund <em>policy</em></h1>
<p>Refunds   within
   30 days.<br>No receipt, no refund.</p>
<ul><li>Cash</li> <li>Card</li></ul>
<h2>Over $100</h2>
<table><tr><th>Amount</th><td>Who</td></tr><tr><td>&gt; $100</td><td>Manager</td></tr></table>
<!-- a comment, with a<b inside -->
<h1>Contact</h1>
<div>Call us.</div><div>Or write.</div>
<pre>Line  one
  Line two</pre>
<noscript>Enable JavaScript</noscript>
</body>
</html>
"""


def test_html_sections_text_and_entities() -> None:
    extracted = extract_text(PAGE_HTML.encode(), HTML)

    assert [(s.location, s.text) for s in extracted.sections] == [
        ("", "Welcome & hello there éé€."),
        ("Refund policy", "Refund policy\n\nRefunds within 30 days.\nNo receipt, no refund.\n\n- Cash\n- Card"),
        ("Refund policy > Over $100", "Over $100\n\nAmount Who\n> $100 Manager"),
        ("Contact", "Contact\n\nCall us.\nOr write.\n\nLine one\nLine two"),
    ]
    assert_offsets_exact(extracted)


def test_html_without_headings_or_closing_tags() -> None:
    extracted = extract_text(b"<html><head><title>x</title><p>Unclosed head, <b>bold</b> text<p>Next", HTML)

    assert [(s.location, s.text) for s in extracted.sections] == [("", "Unclosed head, bold text\n\nNext")]


def test_html_declared_charset_is_used_when_not_utf8() -> None:
    content = '<html><head><meta charset="iso-8859-1"></head><body><p>Café “ok”</p></body></html>'.encode("cp1252")

    assert extract_text(content, HTML).sections[0].text == "Café “ok”"
    with pytest.raises(ExtractionError, match="not UTF-8 text"):
        extract_text(content.replace(b'<meta charset="iso-8859-1">', b""), HTML)


@pytest.mark.parametrize("name", sorted(HOSTILE_MARKUP))
def test_hostile_markup_is_extracted_or_refused_with_a_reason(name: str) -> None:
    """Markup that once made a pass quadratic; how long each takes is printed by bench/extract_limits.py."""
    make, fmt = HOSTILE_MARKUP[name]
    outcome = extract_and_chunk(make(HOSTILE_SIZE).encode(), fmt)
    assert isinstance(outcome, list | str)
    if isinstance(outcome, str):
        assert outcome  # a refusal says why


# --- properties over arbitrary input --------------------------------------------------------------

MARKUP_PIECES = "< > </ <h2> </h2> <p> <script> &amp; &# # ``` * _ [ ](".split() + ["## ", "\n", "\n\n"]
MARKUP_TEXT = st.lists(st.one_of(st.text(max_size=8), st.sampled_from(MARKUP_PIECES)), max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(MARKUP_TEXT, st.sampled_from([TEXT, MARKDOWN, HTML]))
def test_any_text_extracts_to_clean_sections_or_an_extraction_error(text: str, fmt: DocumentFormat) -> None:
    try:
        extracted = extract_text(text.encode("utf-8", "surrogatepass"), fmt)
    except ExtractionError:
        return
    assert_offsets_exact(extracted)
    for section in extracted.sections:
        assert section.text and section.text == section.text.strip()
        assert not any(unicodedata.category(ch) in ("Cc", "Cs") and ch != "\n" for ch in section.text)
        assert "\n\n\n" not in section.text and "  " not in section.text
        assert len(section.location) <= LOCATION_MAX


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.sampled_from(list(DocumentFormat)))
def test_any_bytes_extract_or_raise_an_extraction_error(content: bytes, fmt: DocumentFormat) -> None:
    try:
        assert_offsets_exact(extract_text(content, fmt))
    except ExtractionError:
        pass
