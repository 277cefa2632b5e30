"""Chunking: exact offsets, sections never crossed, sentence-aware cuts, bounded overlap, determinism.

The properties are checked with hypothesis on generated documents (and on arbitrary Unicode text for
the invariants that must hold whatever the input); the examples pin the intended cuts.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oratio.knowledge.chunking import CHUNK_CHARS_MAX, chunk_text
from oratio.knowledge.extract import SECTION_SEPARATOR, extract_text, full_text
from oratio.knowledge.ports import ChunkDraft, ExtractedText, Section
from schemas import DocumentFormat


def document(*sections: tuple[str, str]) -> ExtractedText:
    """An ExtractedText with offsets laid out as `extract` does: texts joined by SECTION_SEPARATOR."""
    built = []
    offset = 0
    for location, text in sections:
        built.append(Section(text=text, location=location, start_offset=offset))
        offset += len(text) + len(SECTION_SEPARATOR)
    return ExtractedText(sections=built, pages=1)


def texts(chunks: Sequence[ChunkDraft]) -> list[str]:
    return [chunk.text for chunk in chunks]


def check_invariants(extracted: ExtractedText, chunks: list[ChunkDraft], max_chars: int, overlap_chars: int) -> None:
    full = full_text(extracted)
    for chunk in chunks:
        assert full[chunk.start_offset : chunk.end_offset] == chunk.text
        assert 0 < len(chunk.text) <= max_chars
        assert chunk.text == chunk.text.strip()
    for section in extracted.sections:
        end = section.start_offset + len(section.text)
        own = [c for c in chunks if section.start_offset <= c.start_offset < end]
        # Each chunk lies inside one section and carries its location.
        assert all(c.end_offset <= end and c.location == section.location for c in own)
        # Every non-space character of the section is in some chunk.
        covered = set[int]()
        for chunk in own:
            covered.update(range(chunk.start_offset, chunk.end_offset))
        missing = [
            i for i, ch in enumerate(section.text) if not ch.isspace() and section.start_offset + i not in covered
        ]
        assert not missing, f"characters not in any chunk: {missing[:10]}"
        # Consecutive chunks move forward and share at most overlap_chars.
        for before, after in zip(own, own[1:], strict=False):
            assert after.start_offset > before.start_offset
            assert after.end_offset > before.end_offset
            assert before.end_offset - after.start_offset <= overlap_chars
    assert [c.start_offset for c in chunks] == sorted(c.start_offset for c in chunks)


# --- examples -------------------------------------------------------------------------------------


def test_short_sections_are_one_chunk_each_and_never_merged() -> None:
    extracted = document(("page 1", "Refunds within 30 days."), ("page 2", "Tiny."), ("page 3", "Also tiny."))

    chunks = chunk_text(extracted)

    assert [(c.location, c.text) for c in chunks] == [
        ("page 1", "Refunds within 30 days."),
        ("page 2", "Tiny."),
        ("page 3", "Also tiny."),
    ]
    check_invariants(extracted, chunks, 1200, 200)


def test_cuts_fall_between_sentences_not_at_abbreviations_or_prices() -> None:
    text = "Dr. Smith paid $1.50 for it. We agreed, e.g. on price. The U.S. office is No. 5 of 7. Done!"
    extracted = document(("", text))

    chunks = chunk_text(extracted, max_chars=30, overlap_chars=0)

    assert texts(chunks) == [
        "Dr. Smith paid $1.50 for it.",
        "We agreed, e.g. on price.",
        "The U.S. office is No. 5 of 7.",
        "Done!",
    ]


def test_consecutive_chunks_overlap_by_whole_sentences() -> None:
    sentences = [f"Sentence number {n} is here." for n in range(10)]  # 27 or 28 characters each
    extracted = document(("", " ".join(sentences)))

    chunks = chunk_text(extracted, max_chars=100, overlap_chars=60)

    assert (
        texts(chunks)
        == [
            " ".join(sentences[0:3]),
            " ".join(sentences[1:4]),  # one sentence overlaps: two (56 chars + a space) would exceed 60
            " ".join(sentences[2:5]),
            " ".join(sentences[3:6]),
            " ".join(sentences[4:7]),
            " ".join(sentences[5:8]),
            " ".join(sentences[6:9]),
            " ".join(sentences[7:10]),
        ]
    )
    check_invariants(extracted, chunks, 100, 60)


def test_no_overlap_when_overlap_chars_is_zero() -> None:
    extracted = document(("", " ".join(f"Sentence number {n} is here." for n in range(10))))

    chunks = chunk_text(extracted, max_chars=100, overlap_chars=0)

    assert all(before.end_offset < after.start_offset for before, after in zip(chunks, chunks[1:], strict=False))
    assert "".join(texts(chunks)).replace(" ", "") == extracted.sections[0].text.replace(" ", "")


def test_a_paragraph_end_in_the_second_half_is_preferred_to_a_fuller_chunk() -> None:
    first = "One short sentence. Another sentence here. A third one to fill."  # 63 characters
    second = "Next paragraph starts. It goes on for a while. And it ends."
    extracted = document(("", f"{first}\n\n{second}"))

    chunks = chunk_text(extracted, max_chars=100, overlap_chars=0)

    assert texts(chunks) == [first, second]


def test_a_paragraph_end_in_the_first_half_does_not_shorten_the_chunk() -> None:
    first = "Short one."
    second = "Next paragraph starts. It goes on for a while. And it ends with more words to be long."
    extracted = document(("", f"{first}\n\n{second}"))

    chunks = chunk_text(extracted, max_chars=60, overlap_chars=0)

    assert texts(chunks)[0] == f"{first}\n\nNext paragraph starts. It goes on for a while."


def test_only_an_over_long_sentence_is_cut_inside_at_spaces() -> None:
    long_sentence = " ".join(["Word"] + ["word"] * 59) + "."  # 300 characters, no sentence end inside
    extracted = document(("", f"Before it. {long_sentence} After it."))

    chunks = chunk_text(extracted, max_chars=100, overlap_chars=20)

    assert texts(chunks)[0] == "Before it."
    assert texts(chunks)[-1].endswith("After it.")
    pieces = [t for t in texts(chunks) if t.startswith(("Word", "word"))]
    assert all(not piece.endswith("wor") and len(piece) <= 100 for piece in pieces)
    assert " ".join(pieces).replace(" After it.", "").split() == long_sentence.split()
    check_invariants(extracted, chunks, 100, 20)


def test_a_sentence_without_spaces_is_cut_at_max_chars() -> None:
    extracted = document(("", "x" * 250))

    assert texts(chunk_text(extracted, max_chars=100, overlap_chars=10)) == ["x" * 100, "x" * 100, "x" * 50]


def test_over_long_sentence_prefers_line_breaks() -> None:
    lines = [f"Item {n} costs {n} euros" for n in range(12)]  # a list without sentence ends, as in PDFs
    extracted = document(("page 1", "\n".join(lines)))

    chunks = chunk_text(extracted, max_chars=80, overlap_chars=0)

    assert all(chunk.text.startswith("Item ") and chunk.text.endswith(" euros") for chunk in chunks)
    check_invariants(extracted, chunks, 80, 0)


def test_cjk_sentences_end_without_spaces() -> None:
    extracted = document(("", "我们提供退款。请在三十天内申请！谢谢。"))

    assert texts(chunk_text(extracted, max_chars=10, overlap_chars=0)) == [
        "我们提供退款。",
        "请在三十天内申请！",
        "谢谢。",
    ]


def test_whitespace_only_sections_give_no_chunks() -> None:
    assert chunk_text(document(("", "   \n\n  "), ("x", "Text."))) == [
        ChunkDraft(text="Text.", location="x", start_offset=9, end_offset=14)
    ]


@pytest.mark.parametrize(
    ("max_chars", "overlap_chars"),
    [(0, 0), (-1, 0), (CHUNK_CHARS_MAX + 1, 0), (100, 100), (100, 150), (100, -1)],
)
def test_arguments_are_validated(max_chars: int, overlap_chars: int) -> None:
    with pytest.raises(ValueError):
        chunk_text(document(("", "Text.")), max_chars=max_chars, overlap_chars=overlap_chars)


def test_extracted_markdown_chunks_map_back_to_the_full_text() -> None:
    markdown = "# Refunds\n\n" + "Refunds take five days. " * 80 + "\n\n## Over $100\n\nAsk a manager.\n"
    extracted = extract_text(markdown.encode(), DocumentFormat.MARKDOWN)

    chunks = chunk_text(extracted, max_chars=500, overlap_chars=100)

    assert {c.location for c in chunks} == {"Refunds", "Refunds > Over $100"}
    assert chunks[-1].text == "Over $100\n\nAsk a manager."
    check_invariants(extracted, chunks, 500, 100)


# --- properties -----------------------------------------------------------------------------------

WORDS = st.sampled_from("refund policy days manager Smith Paris e.g. $1.50 Dr. i.e. 3.5% café —".split() + ["No. 5"])
# Abbreviations and prices only inside sentences: a sentence ending in "Dr." is (rightly) not ended there.
SENTENCES = st.builds(
    lambda first, middle, last, end: " ".join([first, *middle, last]) + end,
    st.sampled_from(["The", "A", "Our", "Refunds", "Éclair", "Nobody"]),
    st.lists(WORDS, max_size=12),
    st.sampled_from(["today", "now", "refunds", "ok"]),
    st.sampled_from([".", "!", "?", ".”", "…"]),
)
PARAGRAPHS = st.lists(SENTENCES, min_size=1, max_size=8).map(" ".join)
SECTION_TEXTS = st.lists(PARAGRAPHS, min_size=1, max_size=6).map("\n\n".join)
DOCUMENTS = st.lists(st.tuples(st.sampled_from(["", "page 1", "A > B"]), SECTION_TEXTS), min_size=1, max_size=4).map(
    lambda sections: document(*sections)
)
ARBITRARY_DOCUMENTS = st.lists(st.tuples(st.just("x"), st.text(max_size=400)), min_size=1, max_size=3).map(
    lambda sections: document(*sections)
)


@st.composite
def limits(draw: st.DrawFn, smallest: int) -> tuple[int, int]:
    max_chars = draw(st.integers(min_value=smallest, max_value=600))
    return max_chars, draw(st.integers(min_value=0, max_value=max_chars - 1))


@settings(max_examples=300, deadline=None)
@given(DOCUMENTS, limits(smallest=120))
def test_chunks_of_prose_cover_the_text_with_exact_offsets_between_sentences(
    extracted: ExtractedText, limit: tuple[int, int]
) -> None:
    max_chars, overlap_chars = limit  # every generated sentence is shorter than 120 characters

    chunks = chunk_text(extracted, max_chars=max_chars, overlap_chars=overlap_chars)

    check_invariants(extracted, chunks, max_chars, overlap_chars)
    for chunk in chunks:  # no sentence is cut: every chunk is whole sentences
        assert chunk.text[0] in "TAORÉN", chunk.text
        assert chunk.text.endswith((".", "!", "?", "”", "…")), chunk.text
    assert chunk_text(extracted, max_chars=max_chars, overlap_chars=overlap_chars) == chunks


@settings(max_examples=300, deadline=None)
@given(ARBITRARY_DOCUMENTS, limits(smallest=1))
def test_invariants_hold_for_arbitrary_text(extracted: ExtractedText, limit: tuple[int, int]) -> None:
    max_chars, overlap_chars = limit

    chunks = chunk_text(extracted, max_chars=max_chars, overlap_chars=overlap_chars)

    check_invariants(extracted, chunks, max_chars, overlap_chars)
    assert chunk_text(extracted, max_chars=max_chars, overlap_chars=overlap_chars) == chunks
