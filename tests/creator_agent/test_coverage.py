"""Handoff rules derived in code: amount thresholds are compared, not matched as keywords."""

from __future__ import annotations

from decimal import Decimal

import pytest

from creator_agent.coverage import amount_example, strip_handoff_lead
from creator_agent.handoff_conditions import Trigger, classify
from oratio.runtime.handoff import rule_matches
from schemas import HandoffRule


def threshold_rule(condition: str) -> Trigger | None:
    found = classify(condition, "en")
    return found if isinstance(found, Trigger) and found.kind == "amount" else None


def threshold_handoff_rule(ident: str, condition: str) -> HandoffRule | None:
    found = threshold_rule(condition)
    return found.rule(ident) if found is not None else None


def threshold_example(condition: str) -> str | None:
    rule = threshold_handoff_rule("example", condition)
    return amount_example(rule) if rule is not None else None


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
    assert (derived.patterns, derived.amount_over, derived.currency) == (["refund"], Decimal(100), "USD")
    rule = threshold_handoff_rule("refund", "a refund request is over $100")
    assert rule is not None and rule.kind == "amount"
    assert rule_matches(rule, message) is hands_off


@pytest.mark.parametrize(
    ("condition", "amount", "currency"),
    [
        ("a refund is more than 100 dollars", 100, "USD"),
        ("the bill exceeds €50", 50, "EUR"),
        ("le remboursement dépasse 100 $", 100, "USD"),
        ("a refund over $1,000.50", Decimal("1000.50"), "USD"),
        ("an order above 20 GBP", 20, "GBP"),
    ],
)
def test_thresholds_are_read_in_ordinary_phrasings(condition: str, amount: Decimal, currency: str) -> None:
    derived = threshold_rule(condition)
    assert derived is not None
    assert (derived.amount_over, derived.currency) == (Decimal(amount), currency)


def test_conditions_without_an_amount_get_no_threshold_rule() -> None:
    assert threshold_rule("the customer mentions sparks, smoke or exposed wires") is None
    found = classify("the customer mentions sparks, smoke or exposed wires", "en")
    assert isinstance(found, Trigger) and found.patterns == ["sparks", "smoke", "exposed wires"]


@pytest.mark.parametrize(
    "condition", ["a refund request is over $100", "the bill exceeds $2500", "a credit of more than $9"]
)
def test_a_threshold_rule_gets_a_test_message_that_only_just_fires_it(condition: str) -> None:
    """The rehearsal's message for a threshold rule is one dollar over: it must fire, the threshold must not."""
    rule = threshold_handoff_rule("rule", condition)
    example = threshold_example(condition)
    assert rule is not None and rule.amount_over is not None and example is not None
    assert rule_matches(rule, example)
    at_threshold = example.replace(f"${rule.amount_over + 1:f}", f"${rule.amount_over:f}")
    assert at_threshold != example
    assert not rule_matches(rule, at_threshold)


def test_a_condition_without_a_threshold_has_no_example() -> None:
    assert threshold_example("the customer mentions sparks") is None


@pytest.mark.parametrize(
    ("condition", "kept"),
    [
        (
            "Transfer the conversation when the request cannot be handled with your actions",
            "the request cannot be handled with your actions",
        ),
        ("Transfer the call to a human if the line drops.", "the line drops"),
        ("Hand off to a human when a refund is over $100.", "a refund is over $100"),
        ("Transfer funds when asked", "Transfer funds when asked"),
    ],
)
def test_a_handoff_lead_is_stripped_so_the_condition_reads_alone(condition: str, kept: str) -> None:
    assert strip_handoff_lead(condition) == kept
