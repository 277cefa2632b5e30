"""Hostile text against every pattern that sees tenant, customer or model text (issue 15 item 1).

Threat: one tenant's upload (a Markdown line of backtick runs of growing length), one customer's message
(a long run of "a" against a tenant's `(a+)+$` handoff regex) or one model answer (a fence with a long run of
spaces) holds the GIL for seconds to hours and stalls every tenant. The targets and the adversarial families
are those of bench/adversarial_text.py, which prints the times (no time is asserted here): every target must
finish every family, and the rewritten scanners must give the same answers as the patterns they replace
(checked against those patterns on short hypothesis text, where backtracking is cheap) or CommonMark's.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.adversarial_text import FAMILIES, TARGETS, Target, benign
from creator_agent import coverage, offline
from creator_agent.handoff_conditions import Judgement, Trigger, classify, keyword_filter
from mcp_server import sampling
from oratio.knowledge.chunking import chunk_text
from oratio.knowledge.extract import extract_text, full_text, markdown
from oratio.knowledge.ports import ExtractionError
from oratio.models import gguf_chat
from oratio.runtime.amounts import AMOUNT_MAX, find_amounts
from oratio.runtime.handoff import rule_matches
from oratio.tenant_patterns import PatternError, compile_tenant_regex, contains_phrase
from schemas import DocumentFormat, HandoffRule, Limits
from voice_bridge.sentences import SentenceSplitter

SIZE = 16 * 1024  # large enough that a quadratic pattern runs for minutes and a cubic one for hours

MARKUP = st.text(alphabet="`*_#|<>[]()!$.,:;-=~ \n\t1a$€", max_size=300)


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_every_target_finishes_every_adversarial_family(target: Target, family: str) -> None:
    text = FAMILIES[family](SIZE)
    assert len(text) == SIZE
    target.run(text)


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
@settings(max_examples=60, deadline=None)
@given(text=MARKUP)
def test_every_target_takes_any_markup_soup(target: Target, text: str) -> None:
    target.run(text)


# --- extraction: the 13-second line, headings, table rules ------------------------------------------


def _markdown(text: str) -> str:
    return full_text(extract_text(text.encode(), DocumentFormat.MARKDOWN))


def test_a_line_of_backtick_runs_of_growing_length_is_read_as_text() -> None:
    line = FAMILIES["backtick runs of growing length"](SIZE)
    line = line[: line.rfind("a") + 1]  # the cut-off last run could repeat an earlier length
    assert _markdown(line) == line  # no two runs have the same length: no code span, nothing removed


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("`code` and ``a`b``", "code and a`b"),
        ("``a`", "``a`"),  # no closing run of two: literal (the old regex made a span of "`a")
        ("`a``b`", "a``b"),
        ("*a* `*not*` x", "a *not* x"),
        ("``` a ``` b `` c", "a b `` c"),
    ],
)
def test_code_spans_are_read_as_commonmark_says(source: str, text: str) -> None:
    assert _markdown(source) == text


def _reference_code_spans(line: str) -> list[tuple[int, int, int]]:
    """CommonMark code spans by brute force (quadratic; fine for short lines)."""
    runs = [(m.start(), len(m.group())) for m in re.finditer("`+", line)]
    spans, index = [], 0
    while index < len(runs):
        start, length = runs[index]
        closing = next((j for j in range(index + 1, len(runs)) if runs[j][1] == length), None)
        if closing is None:
            index += 1
            continue
        spans.append((start, runs[closing][0] + length, length))
        index = closing + 1
    return spans


@settings(max_examples=300, deadline=None)
@given(line=st.text(alphabet="`a ", max_size=80))
def test_code_spans_match_a_brute_force_reading(line: str) -> None:
    assert markdown._code_spans(line) == _reference_code_spans(line)


_OLD_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_OLD_TABLE_RULE = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*$")


@settings(max_examples=400, deadline=None)
@given(line=st.text(alphabet="# \ta-|:", max_size=40))
def test_headings_and_table_rules_read_as_the_old_patterns_did(line: str) -> None:
    old = _OLD_ATX.match(line)
    new = markdown._ATX_HEADING.match(line)
    assert (old is None) == (new is None)
    if old and new:
        assert markdown._atx_title(new.group(2) or "") == (old.group(2) or "")
    assert markdown._is_table_rule(line) == bool(_OLD_TABLE_RULE.match(line))


def test_a_heading_with_a_long_space_run_keeps_its_words() -> None:
    extracted = extract_text(("# a" + " " * SIZE + "b\n\ntext").encode(), DocumentFormat.MARKDOWN)
    assert extracted.sections[0].location == "a b"


@settings(max_examples=100, deadline=None)
@given(text=MARKUP)
def test_chunks_of_any_markup_point_at_their_text(text: str) -> None:
    try:
        extracted = extract_text(text.encode(), DocumentFormat.MARKDOWN)
    except ExtractionError:
        return
    whole = full_text(extracted)
    for chunk in chunk_text(extracted, max_chars=50, overlap_chars=10):
        assert whole[chunk.start_offset : chunk.end_offset] == chunk.text


def test_benign_text_is_unchanged_in_meaning() -> None:
    text = _markdown(benign(2000))
    assert "Refunds" in text and "refund of up to $100.50" in text and "supervisor" in text
    assert "**" not in text and "`" not in text


# --- handoff rules: tenant regexes on RE2, keywords and amounts by scanning --------------------------


def test_a_catastrophic_tenant_regex_runs_in_linear_time_and_still_matches() -> None:
    rule = HandoffRule(id="evil", description="tenant regex", kind="regex", patterns=["(a+)+$"])
    assert not rule_matches(rule, "a" * SIZE + "b")  # exponential on Python's re
    assert rule_matches(rule, "b" + "a" * SIZE)
    nested = HandoffRule(id="nested", description="tenant regex", kind="regex", patterns=["(x|x)*y"])
    assert not rule_matches(nested, "x" * SIZE + "z")
    assert rule_matches(nested, "x" * SIZE + "Y")  # case-insensitive, as documented


@pytest.mark.parametrize("pattern", [r"(?<!\w)refund", r"(a)\1", r"refund(?=s)"])
def test_patterns_that_need_backtracking_are_refused_with_a_reason(pattern: str) -> None:
    with pytest.raises(PatternError, match="not a supported regex"):
        compile_tenant_regex(pattern)
    assert not coverage.regex_compiles(pattern)
    rule = HandoffRule(id="legacy", description="stored before RE2", kind="regex", patterns=[pattern])
    assert not rule_matches(rule, "refund refunds")  # never run on a backtracking engine


@pytest.mark.parametrize(
    ("text", "phrase", "found"),
    [
        ("I want a refund", "refund", True),
        ("I was refunded", "refund", False),
        ("REFUND!", "refund", True),
        ("speak to a human being", "human being", True),
        ("superhuman", "human", False),
        ("a" * SIZE, "a a", False),
        ("a " * (SIZE // 2), "a a", True),
    ],
)
def test_keywords_match_whole_words(text: str, phrase: str, found: bool) -> None:
    assert contains_phrase(text, phrase) is found


_OLD_KEYWORD = "(?<!\\w){}(?!\\w)"


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="ab _-é", max_size=30), phrase=st.text(alphabet="ab _-", min_size=1, max_size=4))
def test_keyword_scan_agrees_with_the_old_regex(text: str, phrase: str) -> None:
    old = re.search(_OLD_KEYWORD.format(re.escape(phrase)), text, re.IGNORECASE)
    assert contains_phrase(text, phrase) is (old is not None)


def test_amounts_in_huge_digit_strings_are_bounded() -> None:
    assert [a.value for a in find_amounts("$" + "9" * SIZE)] == [AMOUNT_MAX]
    rule = HandoffRule(
        id="r",
        description="refund over $100",
        kind="amount",
        patterns=["refund"],
        amount_over=Decimal(100),
        currency="USD",
    )
    assert rule_matches(rule, "refund " + "$1 " * (SIZE // 3) + "$101")


# --- SOP parsing, model output, speech -----------------------------------------------------------

_OLD_SOP = re.compile(r"<sop>\n(?P<sop>.*)\n</sop>", re.DOTALL)
_OLD_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*$")
_OLD_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?P<text>.+?)\s*$")


@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.sampled_from(["<sop>\n", "\n</sop>", "a", "\n", " "]), max_size=30).map("".join))
def test_the_sop_block_is_found_as_the_old_pattern_found_it(text: str) -> None:
    old = _OLD_SOP.search(text)
    assert offline._sop_block(text) == (old["sop"] if old else text)


@settings(max_examples=300, deadline=None)
@given(line=st.text(alphabet="# -1.a \t", max_size=30))
def test_sop_headings_and_items_read_as_the_old_patterns_did(line: str) -> None:
    old_heading, new_heading = _OLD_HEADING.match(line), offline._HEADING.match(line)
    assert (old_heading is None) == (new_heading is None)
    if old_heading and new_heading and old_heading["title"].strip():
        assert new_heading["title"].strip() == old_heading["title"]
    old_item, new_item = _OLD_ITEM.match(line), offline._ITEM.match(line)
    assert (old_item is None) == (new_item is None)
    if old_item and new_item and old_item["text"].strip():
        assert new_item["text"].strip() == old_item["text"]


_OLD_GGUF_FENCE = re.compile(r"```[a-zA-Z]*\s*(.*?)\s*```", re.DOTALL)
_OLD_WRAPPED = re.compile(
    r"<(?:tools|function_call|functions)>\s*(.*?)\s*(?:</(?:tools|function_call|functions)>)?", re.DOTALL
)
_OLD_CALL = re.compile(re.escape(gguf_chat.OPEN) + r"\s*(.*?)\s*(?:" + re.escape(gguf_chat.CLOSE) + r"|$)", re.DOTALL)
_OLD_SAMPLING_FENCE = re.compile(r"^```(?:json)?\s*(?P<body>.*?)\s*```$", re.DOTALL)

_MODEL_PIECES = ["```", "json", "<tools>", "</tools>", "<functions>", "{", "a", " ", "\n"]
_MODEL_PIECES += [gguf_chat.OPEN, gguf_chat.CLOSE]
_MODEL_TEXT = st.lists(st.sampled_from(_MODEL_PIECES), max_size=12).map("".join)


def _old_unfenced(text: str) -> str:
    stripped = text.strip()
    for pattern in (_OLD_GGUF_FENCE, _OLD_WRAPPED):
        match = pattern.fullmatch(stripped)
        if match:
            stripped = match.group(1).strip()
    return stripped


@settings(max_examples=400, deadline=None)
@given(text=_MODEL_TEXT)
def test_model_output_is_unwrapped_as_the_old_patterns_did(text: str) -> None:
    assert gguf_chat.unfenced(text) == _old_unfenced(text)
    assert gguf_chat._call_bodies(text) == [m.group(1).strip() for m in _OLD_CALL.finditer(text)]
    stripped = text.strip()
    old = _OLD_SAMPLING_FENCE.match(stripped)
    assert sampling._unfenced(stripped) == (old["body"] if old else stripped)


def test_model_output_with_long_space_runs_is_parsed() -> None:
    call = json.dumps({"name": "end_session", "arguments": {}})
    text = gguf_chat.OPEN + " " * SIZE + call + " " * SIZE + gguf_chat.CLOSE
    assert [c.name for c in gguf_chat.parse_calls(text, frozenset({"end_session"}))] == ["end_session"]
    assert gguf_chat.unfenced("```json" + " " * SIZE + call + " " * SIZE + "```") == call


def test_a_long_run_of_exclamation_marks_is_one_sentence() -> None:
    splitter = SentenceSplitter(max_chars=10 * SIZE)
    assert splitter.add("Wow" + "!" * SIZE + " Next") == ["Wow" + "!" * SIZE]
    assert splitter.flush() == ["Next"]


# --- handoff conditions (issue 17 item 2): bounded reading, and no keyword a judgement smuggles in ----------


def test_the_condition_classifier_reads_at_most_a_conditions_length() -> None:
    """A parsed "condition" may be a whole SOP line; the classifier looks at CONDITION_MAX characters only."""
    padding = "the customer is upset " * (Limits.CONDITION_MAX // 22 + 1)

    assert isinstance(classify(padding + "and asks for a human", "en"), Judgement)
    assert isinstance(classify("the customer asks for a human " + padding, "en"), Trigger)


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(st.sampled_from(["le", "de", "the", "cannot", "handled", "customer", "el", "der", "a"]), max_size=8)
)
def test_a_derived_keyword_list_never_holds_only_stopwords_or_generic_words(words: list[str]) -> None:
    for language in ("en", "fr", "es", "de"):
        assert keyword_filter([" ".join(words)], language) == []
        assert classify(f"the customer says {', '.join(words)}", language) == Judgement(
            f"the customer says {', '.join(words)}".strip()
        )
