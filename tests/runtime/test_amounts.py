"""Amount thresholds read the ways customers write money (issue 15 item 7, issue 17's "dépasse 100 $").

The corpus is checked through the real rule ("a refund request is over $100", derived by the creator
as production does) and through `find_amounts` directly for the reading of each phrasing.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from creator_agent.handoff_conditions import Trigger, classify
from oratio.runtime.amounts import AMOUNT_MAX, Amount, exceeds, find_amounts
from oratio.runtime.handoff import matching_rule
from schemas import AgentPlan, HandoffRule


def _refund_rule() -> HandoffRule:
    trigger = classify("Hand off when a refund request is over $100.", "en")
    assert isinstance(trigger, Trigger) and trigger.kind == "amount"
    return trigger.rule("big_refund")


# (customer message, whether "a refund request is over $100" hands off)
CORPUS: list[tuple[str, bool]] = [
    # ordinary dollar phrasings above the threshold
    ("I want a refund of $150", True),
    ("I want a refund of $100.50", True),
    ("refund me $1,000 please", True),
    ("I need a refund of 500 dollars", True),
    ("refund: 500 USD", True),
    ("refund of USD 500", True),
    ("I want my 500$ refunded", True),
    ("je veux un refund de 150 $", True),
    ("I want a refund of ＄150", True),
    ("I want a refund of ＄１５０", True),
    ("I want a refund. The charge was $250.", True),
    ("Hello. I was billed twice! I want a refund. It was 300 bucks.", True),
    ("refund $2.5k", True),
    ("refund of $1 million", True),
    ("refund of US$ 120", True),
    ("refund of $ 101", True),
    ("refunded amount should be $101", True),
    ("Refund of $5 and another of $200", True),  # any amount above the threshold
    ("REFUND $999", True),
    ("refund 1 000 $", True),
    ("refund of 1.000,50 USD", True),
    ("refund -$500", True),  # signs are ignored: a hyphen is usually punctuation
    ("refund of $" + "9" * 5000, True),  # a huge digit string saturates, it does not crash
    ("refund of 120 dollar", True),
    # at or below the threshold
    ("I want a refund of $100", False),
    ("I want a refund of $100.00", False),
    ("I'd like a refund of $99.50", False),
    ("refund of 100 dollars", False),
    ("refund of $0.999", False),
    ("refund $1.00", False),
    ("refund of 100,00 $", False),
    # no currency, another currency, or no topic
    ("I want a refund for order 12345", False),
    ("refund of 500", False),
    ("refund of 500 euros", False),
    ("refund of €500", False),
    ("refund of £500", False),
    ("refund of 500 CAD", False),
    ("refund of C$500", False),
    ("I paid $500 for the router", False),
    ("What is the refund policy?", False),
    ("refund v1.2.3 $", False),
    ("refund for 500 km of cable", False),
    ("", False),
]


@pytest.mark.parametrize(("message", "hands_off"), CORPUS, ids=[m[:40] for m, _ in CORPUS])
def test_the_refund_threshold_reads_ordinary_phrasings(message: str, hands_off: bool) -> None:
    rule = _refund_rule()
    plan = AgentPlan(persona="Desk", system_prompt="You are a helpful support agent for Acme.", handoff_rules=[rule])
    assert (matching_rule(plan, message) is not None) is hands_off


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 40
    assert sum(hands for _, hands in CORPUS) >= 20 and sum(not hands for _, hands in CORPUS) >= 15


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("$100", [("100", "USD")]),
        ("$100.50", [("100.50", "USD")]),
        ("$1,000", [("1000", "USD")]),
        ("$1,000.50 and 1.000,50 €", [("1000.50", "USD"), ("1000.50", "EUR")]),
        ("100,50 €", [("100.50", "EUR")]),
        ("1.000 €", [("1000", "EUR")]),  # one "." then three digits groups thousands (the larger reading)
        ("500 dollars, 500 USD, USD 500, 500$, 100 $", [(v, "USD") for v in ("500", "500", "500", "500", "100")]),
        ("＄100", [("100", "USD")]),
        ("CA$30 or A$40 or 5 GBP", [("30", "CAD"), ("40", "AUD"), ("5", "GBP")]),
        ("$5k and 2 million euros", [("5000", "USD"), ("2000000", "EUR")]),
        ("order 12345, version 1.2.3, 10 km", []),
        ("1 000 000 $", [("1000000", "USD")]),
        ("abcUSD 5", []),
    ],
)
def test_amounts_are_read_with_their_currency(text: str, amounts: list[tuple[str, str]]) -> None:
    assert find_amounts(text) == [Amount(Decimal(value), currency) for value, currency in amounts]


def test_huge_and_absurd_numbers_are_bounded() -> None:
    assert find_amounts("$" + "1" * 100_000) == [Amount(AMOUNT_MAX, "USD")]
    assert exceeds("$" + "1" * 100_000, Decimal(10**14), "USD")
    assert find_amounts("$" + "1," * 50_000 + "5") == []  # not a well-formed number: no amount


def test_an_amount_rule_needs_its_threshold_and_currency() -> None:
    with pytest.raises(ValueError, match="amount_over and currency"):
        HandoffRule(id="r", description="big refunds", kind="amount", patterns=["refund"])
    keywords = HandoffRule(id="r", description="refunds", kind="keywords", patterns=["refund"], amount_over=Decimal(1))
    assert keywords.amount_over is None  # meaningless outside amount rules (a grammar-bound model fills it)
