"""Handoff rules derived in code: amount thresholds are compared, not matched as keywords."""

from __future__ import annotations

import re

import pytest

from creator_agent.coverage import greater_than, key_phrases, threshold_example, threshold_rule
from creator_agent.rehearsal import derive_tests
from schemas import AgentPlan, HandoffRule


@pytest.mark.parametrize("n", [0, 7, 9, 10, 99, 100, 250, 999, 1000, 4599])
def test_greater_than_matches_exactly_the_larger_numbers(n: int) -> None:
    pattern = re.compile(rf"^{greater_than(n)}$")
    assert [x for x in range(12_000) if pattern.match(str(x))] == list(range(n + 1, 12_000))


@pytest.mark.parametrize(
    ("message", "hands_off"),
    [
        ("I want a refund of $150", True),
        ("$300 refund now", True),
        ("Can I get $2,500 refunded?", True),
        ("What is the refund policy?", False),
        ("refund $100 please", False),
        ("I'd like a refund of $99.50", False),
        ("I paid $500 for the router", False),
    ],
)
def test_a_threshold_condition_fires_only_above_the_amount(message: str, hands_off: bool) -> None:
    derived = threshold_rule("a refund request is over $100")
    assert derived is not None
    patterns, topics = derived
    assert topics == ["refund"]
    assert any(re.search(p, message, re.IGNORECASE) for p in patterns) is hands_off


def test_conditions_without_an_amount_get_no_threshold_rule() -> None:
    assert threshold_rule("the customer mentions sparks, smoke or exposed wires") is None
    assert key_phrases("the customer mentions sparks, smoke or exposed wires") == ["sparks", "smoke", "exposed wires"]


@pytest.mark.parametrize(
    "condition", ["a refund request is over $100", "the bill exceeds $2500", "a credit of more than $9"]
)
def test_a_threshold_rule_gets_a_test_message_that_only_just_fires_it(condition: str) -> None:
    """The rehearsal's message for a threshold rule is one dollar over: it must fire, the threshold must not."""
    derived = threshold_rule(condition)
    example = threshold_example(condition)
    assert derived is not None and example is not None
    patterns, _ = derived
    assert any(re.search(p, example, re.IGNORECASE) for p in patterns)
    at_threshold = re.sub(r"\$(\d+)", lambda m: f"${int(m[1]) - 1}", example)
    assert not any(re.search(p, at_threshold, re.IGNORECASE) for p in patterns)


def test_a_condition_without_a_threshold_has_no_example() -> None:
    assert threshold_example("the customer mentions sparks") is None


def test_the_rehearsal_tests_every_threshold_rule() -> None:
    plan = AgentPlan(
        persona="Desk agent",
        system_prompt="You are a helpful support agent for Acme.",
        handoff_rules=[
            HandoffRule(id="refund", description="a refund request is over $100", kind="regex", patterns=["x"]),
            HandoffRule(id="custom", description="a custom regex", kind="regex", patterns=["y"]),
        ],
    )
    names = [test.name for test in derive_tests(plan, None)]
    assert any("'refund' fires" in name for name in names)
    assert not any("'custom'" in name for name in names)
