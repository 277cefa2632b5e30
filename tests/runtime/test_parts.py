"""The engine's small parts: handoff rule matching, history rebuilding, reply assembly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from oratio.runtime import matching_rule
from oratio.runtime.history import conversation, to_messages
from oratio.runtime.reply import SEPARATOR, ReplyBuilder
from schemas import AgentPlan, HandoffRule, Role, Turn

RULES = AgentPlan(
    persona="test",
    system_prompt="A plan used to test handoff rule matching.",
    handoff_rules=[
        HandoffRule(
            id="human", description="Asks for a person", kind="keywords", patterns=["speak to a human", "agent"]
        ),
        HandoffRule(id="account", description="Account numbers", kind="regex", patterns=[r"\bACC-\d{6}\b"]),
    ],
)


@pytest.mark.parametrize(
    ("text", "rule_id"),
    [
        ("Can I SPEAK TO A HUMAN please", "human"),
        ("agent!", "human"),
        ("my number is acc-123456", "account"),
        ("the agents were kind", None),
        ("reagent", None),
        ("acc-12345", None),
        ("", None),
    ],
)
def test_rules_match_whole_words_and_regexes_in_any_case(text: str, rule_id: str | None) -> None:
    rule = matching_rule(RULES, text)
    assert (rule.id if rule else None) == rule_id


def turn(seq: int, role: Role, text: str) -> Turn:
    return Turn(
        tenant_id="ten_1",
        session_id="ses_1",
        seq=seq,
        role=role,
        text=text,
        started_at=datetime(2030, 1, 1, tzinfo=UTC),
    )


def test_history_alternates_roles_opens_with_the_customer_and_skips_system_notes() -> None:
    turns = [
        turn(1, Role.AGENT, "Welcome!"),
        turn(2, Role.CUSTOMER, "Hi"),
        turn(3, Role.CUSTOMER, "Anyone there?"),
        turn(4, Role.SYSTEM, "handoff requested"),
        turn(5, Role.AGENT, "Yes, hello."),
    ]

    assert to_messages(turns) == [
        {"role": "user", "content": [{"text": "Hi"}, {"text": "Anyone there?"}]},
        {"role": "assistant", "content": [{"text": "Yes, hello."}]},
    ]


def test_history_keeps_only_the_newest_turns() -> None:
    turns = [turn(n, Role.CUSTOMER if n % 2 else Role.AGENT, f"t{n}") for n in range(1, 11)]

    messages = to_messages(turns, limit=3)

    assert [m["content"][0]["text"] for m in messages] == ["t9", "t10"]


def test_unanswered_customer_words_go_out_again_with_the_new_message() -> None:
    answered = [turn(1, Role.CUSTOMER, "Hi"), turn(2, Role.AGENT, "Hello!")]
    unanswered = [*answered, turn(3, Role.CUSTOMER, "Are you there?")]

    assert conversation(answered, "Refunds?") == (to_messages(answered), [{"text": "Refunds?"}])
    assert conversation(unanswered, "Refunds?") == (
        to_messages(answered),
        [{"text": "Are you there?"}, {"text": "Refunds?"}],
    )


def test_a_reply_is_exactly_what_was_handed_out() -> None:
    reply = ReplyBuilder(limit=600)
    handed = [reply.add("One "), reply.add("moment.")]
    reply.end_paragraph()
    handed.append(reply.add("Found it."))
    reply.finish("Bye.")
    handed.append(reply.pending_tail())

    assert reply.text == "".join(handed) == f"One moment.{SEPARATOR}Found it.{SEPARATOR}Bye."
    assert reply.pending_tail() == ""


def test_a_full_reply_still_has_room_for_its_ending() -> None:
    reply = ReplyBuilder(limit=600)
    reply.add("x" * 1000)

    reply.finish("e" * 500)

    assert len(reply.text) == 600 and reply.text.endswith(SEPARATOR + "e" * 500)
