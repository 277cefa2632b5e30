"""The offline (`rules`) post-call analysis: outcome rules, SOP checks with evidence, sentiment, tool usage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from oratio.analysis import ANALYSIS_TURNS_MAX, analyse, decide_outcome
from oratio.runtime.handoff import rule_reason
from schemas import AgentPlan, Channel, HandoffRule, Role, Session, SessionStatus, Turn
from schemas.analysis import CheckKind, Outcome, Sentiment
from schemas.tools import ToolCallRecord, ToolCallStatus

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LEGAL = HandoffRule(id="legal", description="Legal threats go to a person", kind="keywords", patterns=["lawyer"])
FAILS = HandoffRule(id="stuck", description="Two failures go to a person", kind="repeated_failures", failures_over=2)
PLAN = AgentPlan(
    persona="Ava",
    system_prompt="You are Ava, a support agent for Acme. Answer briefly.",
    handoff_rules=[LEGAL, FAILS],
    information_to_collect=["order_number", "email"],
)


def session(status: SessionStatus = SessionStatus.COMPLETED, **changes: object) -> Session:
    base = Session(
        tenant_id="ten_1",
        id="ses_1",
        agent_id="agt_1",
        channel=Channel.TEXT,
        status=status,
        started_at=START,
        ended_at=START + timedelta(seconds=90),
        end_reason="ended by the agent",
    )
    return base.model_copy(update=changes)


def turn(seq: int, role: Role, text: str, calls: list[ToolCallRecord] | None = None) -> Turn:
    return Turn(tenant_id="ten_1", session_id="ses_1", seq=seq, role=role, text=text, tool_calls=calls or [])


def call(name: str, status: ToolCallStatus, *, write: bool = False, confirmed: bool = False) -> ToolCallRecord:
    return ToolCallRecord(id=f"c-{name}-{status.value}", name=name, status=status, write=write, confirmed=confirmed)


CHAT = [
    turn(1, Role.CUSTOMER, "Hi, my order 55123 never arrived"),
    turn(2, Role.AGENT, "Sorry! Which email did you order with?"),
    turn(3, Role.CUSTOMER, "ann@example.com, thanks"),
    turn(4, Role.AGENT, "A replacement is on its way. Goodbye!"),
]


@pytest.mark.parametrize(
    ("stored", "turns", "expected"),
    [
        (session(), CHAT, Outcome.RESOLVED),
        (session(SessionStatus.ERROR, end_reason="the voice service failed"), CHAT, Outcome.FAILED),
        (session(SessionStatus.INTERRUPTED, end_reason="platform restarted"), CHAT, Outcome.FAILED),
        (session(handoff_reason="handoff rule 'legal'"), CHAT, Outcome.HANDED_OFF),
        (session(end_reason="idle timeout", handoff_reason="customer asked"), CHAT, Outcome.HANDED_OFF),
        (session(), [], Outcome.ABANDONED),
        (session(SessionStatus.INTERRUPTED, end_reason="the customer hung up without end"), CHAT, Outcome.ABANDONED),
        (session(end_reason="idle timeout"), CHAT[:3], Outcome.ABANDONED),
        (session(end_reason="idle timeout", failed_turns=1), CHAT, Outcome.ABANDONED),
        (session(end_reason="idle timeout"), CHAT, Outcome.RESOLVED),
    ],
)
def test_the_outcome_follows_the_documented_rules(stored: Session, turns: list[Turn], expected: Outcome) -> None:
    assert decide_outcome(stored, turns) is expected


def test_a_resolved_chat_is_summarised_from_its_own_words_with_collected_fields_and_evidence() -> None:
    ended = session(collected={"order_number": "55123", "email": "ann@example.com"})
    analysis = analyse(ended, CHAT, PLAN, START)

    assert (analysis.method, analysis.outcome, analysis.turns, analysis.handling_seconds) == (
        "rules",
        Outcome.RESOLVED,
        4,
        90.0,
    )
    assert 'The customer asked: "Hi, my order 55123 never arrived".' in analysis.summary
    assert 'The agent last said: "A replacement is on its way. Goodbye!".' in analysis.summary
    assert analysis.collected == {"order_number": "55123", "email": "ann@example.com"}
    checks = {(c.kind, c.name): (c.met, c.evidence_seq) for c in analysis.sop}
    assert checks == {
        (CheckKind.HANDOFF_RULE, "legal"): (False, None),
        (CheckKind.HANDOFF_RULE, "stuck"): (False, None),
        (CheckKind.COLLECT, "order_number"): (True, 1),
        (CheckKind.COLLECT, "email"): (True, 3),
    }


def test_a_fired_rule_names_the_customer_turn_that_fired_it() -> None:
    turns = [*CHAT[:2], turn(3, Role.CUSTOMER, "I am calling my LAWYER"), turn(4, Role.AGENT, "Connecting you")]
    analysis = analyse(session(handoff_reason=rule_reason(LEGAL)), turns, PLAN, START)

    legal = next(c for c in analysis.sop if c.name == "legal")
    assert (analysis.outcome, legal.met, legal.evidence_seq) == (Outcome.HANDED_OFF, True, 3)
    assert analysis.handoff_reason == rule_reason(LEGAL)
    assert "handed off (handoff rule 'legal'" in analysis.summary


def test_a_failures_rule_is_met_when_it_handed_the_session_off() -> None:
    analysis = analyse(session(handoff_reason=rule_reason(FAILS)), CHAT, PLAN, START)
    stuck = next(c for c in analysis.sop if c.name == "stuck")
    assert (stuck.met, stuck.evidence_seq) == (True, 4)


def test_sentiment_counts_the_customers_words_only() -> None:
    angry = [turn(1, Role.CUSTOMER, "This is terrible and useless, I am furious"), turn(2, Role.AGENT, "Thanks!")]
    happy = [turn(1, Role.CUSTOMER, "Great, thanks, that solved it"), turn(2, Role.AGENT, "This is terrible")]
    plain = [turn(1, Role.CUSTOMER, "Where is my parcel?")]

    negative, positive, neutral = (analyse(session(), turns, None, START) for turns in (angry, happy, plain))
    assert (negative.sentiment, negative.sentiment_score) == (Sentiment.NEGATIVE, -1.0)
    assert (positive.sentiment, positive.sentiment_score) == (Sentiment.POSITIVE, 1.0)
    assert (neutral.sentiment, neutral.sentiment_score) == (Sentiment.NEUTRAL, 0.0)


def test_tool_calls_are_counted_with_failures_and_confirmed_writes() -> None:
    calls = [
        call("lookup_order", ToolCallStatus.OK),
        call("lookup_order", ToolCallStatus.TIMEOUT),
        call("refund", ToolCallStatus.OK, write=True, confirmed=True),
        call("refund", ToolCallStatus.AWAITING_CONFIRMATION, write=True),
    ]
    turns = [turn(1, Role.CUSTOMER, "refund please"), turn(2, Role.AGENT, "Done", calls)]

    tools = analyse(session(), turns, PLAN, START).tools
    assert (tools.calls, tools.failures, tools.writes_confirmed, tools.by_name) == (
        4,
        1,
        1,
        {"lookup_order": 2, "refund": 2},
    )


def test_without_a_plan_there_are_no_sop_checks_and_long_transcripts_are_bounded() -> None:
    long = [turn(i, Role.CUSTOMER if i % 2 else Role.AGENT, "x" * 1000) for i in range(1, ANALYSIS_TURNS_MAX + 50)]
    analysis = analyse(session(), long, None, START)
    assert (analysis.sop, analysis.turns) == ([], ANALYSIS_TURNS_MAX)
    assert len(analysis.summary) <= 2000
