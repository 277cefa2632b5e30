"""Handoff rules derived in code: amount thresholds are compared, not matched as keywords."""

from __future__ import annotations

import re

import pytest

from creator_agent.coverage import greater_than, key_phrases, threshold_rule


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
