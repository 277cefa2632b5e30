"""The confirmation gate's plain code: what counts as an explicit yes or no, the statement, the state machine."""

from __future__ import annotations

import pytest

from oratio.runtime.confirmation import (
    CONFIRM_TEXT_MAX,
    STATEMENT_MAX,
    Gate,
    Verdict,
    argument_words,
    is_confirmation,
    render_statement,
)
from schemas import HttpTool, McpToolSnapshot

CANCEL = HttpTool(
    name="cancel_order",
    description="Cancel an order that has not shipped yet. Use it only when the customer asks.",
    url="http://127.0.0.1:9/orders/{order_id}/cancel",
    method="POST",
    write=True,
    parameters={
        "type": "object",
        "properties": {"order_id": {"type": "string"}, "reason": {"type": "string"}, "card_pin": {"type": "string"}},
    },
    sensitive_arguments=["card_pin"],
)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("yes", "en"),
        ("Yes please", "en"),
        ("yes, please.", "en"),
        ("Go ahead!", "en"),
        ("confirm", "en"),
        ("OK thanks", "en"),
        ("oui", "fr"),
        ("Oui, allez-y s'il vous plaît", "fr"),
        ("d’accord", "fr"),
        ("sí", "es"),
        ("Sí, por favor", "es"),
        ("vale", "es"),
        ("ja", "de"),
        ("Ja bitte", "de"),
        ("in Ordnung", "de"),
        ("yes", "fr"),  # English always counts
    ],
)
def test_explicit_yes_confirms(text: str, language: str) -> None:
    assert is_confirmation(text, language) is Verdict.CONFIRM


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("no", "en"),
        ("No thanks.", "en"),
        ("don't do it", "en"),
        ("non merci", "fr"),
        ("no, gracias", "es"),
        ("Nein danke", "de"),
        ("lieber nicht", "de"),
    ],
)
def test_explicit_no_declines(text: str, language: str) -> None:
    assert is_confirmation(text, language) is Verdict.DECLINE


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("yes but change the date", "en"),
        ("yes?", "en"),
        ("no thanks, yes", "en"),
        ("yes 42", "en"),
        ("yes, order B456 instead", "en"),
        ("not yes", "en"),
        ("yes don't", "en"),
        ("what does that mean", "en"),
        ("oui mais pas maintenant", "fr"),
        ("¿sí?", "es"),
        ("ja, aber nicht heute", "de"),
        ("ja", "en"),  # German yes is not English: only the plan's language and English count
        ("", "en"),
        ("please", "en"),
        ("yes " * 40, "en"),
        ("y" * (CONFIRM_TEXT_MAX + 1), "en"),
    ],
)
def test_anything_else_is_other(text: str, language: str) -> None:
    assert is_confirmation(text, language) is Verdict.OTHER


def test_statement_names_arguments_in_words_and_masks_sensitive_ones() -> None:
    statement = render_statement(CANCEL, {"reason": "damaged", "order_id": "A123", "card_pin": "9876"}, "en")
    assert statement == (
        "To confirm: I will cancel an order that has not shipped yet with order id A123, reason damaged and "
        "card pin [hidden]. Shall I go ahead? Please answer yes or no."
    )
    assert "9876" not in statement


@pytest.mark.parametrize(
    ("language", "question"),
    [("fr", "Répondez par oui ou par non."), ("es", "Responda sí o no"), ("de", "mit Ja oder Nein")],
)
def test_statement_in_the_plans_language(language: str, question: str) -> None:
    assert question in render_statement(CANCEL, {"order_id": "A123"}, language)


def test_statement_is_bounded_and_deterministic() -> None:
    arguments = {f"field_{n}": "x" * 1000 for n in range(30)}
    first = render_statement(CANCEL, arguments, "en")
    assert first == render_statement(CANCEL, dict(reversed(arguments.items())), "en")
    assert len(first) <= STATEMENT_MAX
    assert first.endswith("Please answer yes or no.")


def test_mcp_tool_without_description_uses_its_name() -> None:
    tool = McpToolSnapshot(server="shop", tool="refundPayment", name="shop_refundpayment")
    assert render_statement(tool, {}, "en").startswith("To confirm: I will refund payment.")


def test_argument_words() -> None:
    assert argument_words("order_id") == "order id"
    assert argument_words("orderId") == "order id"


def test_gate_runs_only_the_confirmed_arguments_once() -> None:
    gate = Gate()
    held = gate.propose(CANCEL, "call-1", {"order_id": "A123"}, "en", 2)
    assert gate.pending == held
    assert gate.customer_said("yes please", "en") is Verdict.CONFIRM
    assert gate.pending is None
    assert not gate.may_run("cancel_order", {"order_id": "B999"})
    assert gate.may_run("cancel_order", {"order_id": "A123"})
    assert gate.take_approved("cancel_order", {"order_id": "A123"}) == held
    assert gate.take_approved("cancel_order", {"order_id": "A123"}) is None


@pytest.mark.parametrize(("text", "verdict"), [("no", Verdict.DECLINE), ("and my other order?", Verdict.OTHER)])
def test_gate_drops_the_action_on_anything_but_yes(text: str, verdict: Verdict) -> None:
    gate = Gate()
    gate.propose(CANCEL, "call-1", {"order_id": "A123"}, "en", 2)
    assert gate.customer_said(text, "en") is verdict
    assert gate.pending is None and gate.approved is None
    assert gate.settled is not None and gate.settled.tool == "cancel_order"
    assert not gate.may_run("cancel_order", {"order_id": "A123"})


def test_a_new_proposal_supersedes_an_earlier_confirmation() -> None:
    gate = Gate()
    gate.propose(CANCEL, "call-1", {"order_id": "A123"}, "en", 2)
    gate.customer_said("yes", "en")
    gate.propose(CANCEL, "call-2", {"order_id": "B456"}, "en", 4)
    assert not gate.may_run("cancel_order", {"order_id": "A123"})
    assert not gate.may_run("cancel_order", {"order_id": "B456"})


def test_a_confirmation_lapses_with_the_next_message() -> None:
    gate = Gate()
    gate.propose(CANCEL, "call-1", {"order_id": "A123"}, "en", 2)
    gate.customer_said("yes", "en")
    gate.customer_said("and another thing", "en")
    assert not gate.may_run("cancel_order", {"order_id": "A123"})


def test_gate_with_nothing_held_ignores_a_yes() -> None:
    gate = Gate()
    assert gate.customer_said("yes", "en") is Verdict.OTHER
    assert not gate.may_run("cancel_order", {})


def test_a_write_whose_value_the_statement_would_cut_is_never_stated() -> None:
    """The customer confirms what they heard: a value cut short ("refund to account 12…") is not statable."""
    from oratio.runtime.confirmation import VALUE_CHARS_MAX, unstatable
    from schemas import HttpTool

    tool = HttpTool(
        name="refund",
        description="Refund an order.",
        url="https://a.example/r",
        method="POST",
        write=True,
        sensitive_arguments=["card"],
    )
    assert unstatable(tool, {"order_id": "A1", "note": "x" * VALUE_CHARS_MAX}, "en") is None
    assert "in full" in (unstatable(tool, {"order_id": "A1", "note": "x" * (VALUE_CHARS_MAX + 1)}, "en") or "")
    assert unstatable(tool, {"order_id": "A1", "card": "4" * 300}, "en") is None  # hidden anyway: never stated
