"""`oratio.runtime.settle`, the one function that applies a turn's outcome, and `open_or_continue`,
the one way a door opens a session: on the real SQLite platform and the real handoff service."""

from __future__ import annotations

import pytest

from oratio.errors import InvalidState, NotFound
from oratio.runtime.outcome import TurnOutcome
from oratio.runtime.settle import ENDED_BY_AGENT, Rehearsed, Settlement, StoredSession, settle
from schemas import Channel, EventType, Role, Session, SessionStatus
from tests.support.engine import PLAN, EngineWorld


def _session(world: EngineWorld) -> tuple[Session, StoredSession]:
    session = world.platform.sessions.start(world.tenant_id, world.agent.id, Channel.TEXT)
    return session, StoredSession(world.platform.sessions, world.handoffs, world.tenant_id, session.id)


def _stored(world: EngineWorld, session_id: str) -> Session:
    return world.platform.sessions.get(world.principal, session_id).session


def _count(world: EngineWorld, kind: EventType) -> int:
    return sum(1 for event in world.events() if event.type is kind)


def test_a_handoff_is_requested_once_even_when_asked_twice(world: EngineWorld) -> None:
    session, effects = _session(world)
    outcome = TurnOutcome()
    outcome.request_handoff("the customer asked for a person")
    outcome.request_handoff("and asked again")

    first = settle(effects, session.status, outcome)
    second = settle(effects, first.status, outcome)  # a voice call settles the same outcome on every reply

    assert world.handoffs.calls == [(world.tenant_id, session.id, "the customer asked for a person")]
    assert (first.handoff_requested, first.handoff, first.status) == (True, True, SessionStatus.HANDOFF_REQUESTED)
    assert (second.handoff_requested, second.handoff) == (False, True)
    assert _stored(world, session.id).status is SessionStatus.HANDOFF_REQUESTED
    assert first.final_words(PLAN) == second.final_words(PLAN) == PLAN.handoff_message


def test_a_session_that_already_asked_is_not_asked_again(world: EngineWorld) -> None:
    session, effects = _session(world)
    world.platform.handoff.request(world.tenant_id, session.id, "an earlier turn")
    outcome = TurnOutcome(handoff_reason="this turn")

    settled = settle(effects, SessionStatus.HANDOFF_REQUESTED, outcome)

    assert world.handoffs.calls == []
    assert (settled.handoff_requested, settled.handoff, settled.handoff_reason) == (False, True, "this turn")


def test_a_rule_wins_over_the_models_reason(world: EngineWorld) -> None:
    session, effects = _session(world)

    settled = settle(effects, session.status, TurnOutcome(handoff_reason="the model's"), rule_reason="rule 'legal'")

    assert world.handoffs.calls == [(world.tenant_id, session.id, "rule 'legal'")]
    assert settled.handoff_reason == "rule 'legal'"


def test_end_completes_the_session_after_the_reply_is_stored(world: EngineWorld) -> None:
    session, effects = _session(world)
    seen: list[Settlement] = []

    def store_reply(settlement: Settlement) -> None:
        seen.append(settlement)
        assert _stored(world, session.id).status is SessionStatus.ACTIVE  # not ended yet: the goodbye goes in
        words = settlement.final_words(PLAN)
        assert words is not None
        world.platform.sessions.append_turn(world.tenant_id, session.id, Role.AGENT, words)

    settled = settle(effects, session.status, TurnOutcome(end_requested=True), store_reply=store_reply)

    assert (settled.ended, settled.handoff, settled.status) == (True, False, SessionStatus.COMPLETED)
    assert seen[0].final_words(PLAN) == PLAN.closing_message
    stored = world.platform.sessions.get(world.principal, session.id)
    assert stored.session.status is SessionStatus.COMPLETED
    [status] = [e for e in world.events() if e.type is EventType.SESSION_STATUS]
    assert status.data["reason"] == ENDED_BY_AGENT
    assert [(t.role, t.text) for t in stored.turns] == [(Role.AGENT, PLAN.closing_message)]
    assert world.handoffs.calls == []


def test_an_ended_session_is_not_ended_again(world: EngineWorld) -> None:
    session, effects = _session(world)
    outcome = TurnOutcome(end_requested=True)
    first = settle(effects, session.status, outcome)

    second = settle(effects, first.status, outcome)

    assert (first.ended, second.ended, second.status) == (True, False, SessionStatus.COMPLETED)
    statuses = [e for e in world.events() if e.type is EventType.SESSION_STATUS and e.subject == session.id]
    assert len(statuses) == 1


def test_collected_fields_are_stored_once(world: EngineWorld) -> None:
    session, effects = _session(world)
    outcome = TurnOutcome()
    outcome.collect("account", "12345")

    first = settle(effects, session.status, outcome)
    second = settle(effects, first.status, outcome)

    assert dict(first.collected) == {"account": "12345"} and dict(second.collected) == {}
    assert outcome.collected == {}
    assert _stored(world, session.id).collected == {"account": "12345"}
    assert _count(world, EventType.SESSION_COLLECTED) == 1
    assert (first.ended, first.handoff, first.final_words(PLAN)) == (False, False, None)


def test_handoff_and_end_together_hand_off_and_keep_the_session_open(world: EngineWorld) -> None:
    session, effects = _session(world)
    outcome = TurnOutcome(handoff_reason="a person must approve this", end_requested=True)
    outcome.collect("order", "A-1")

    settled = settle(effects, session.status, outcome)

    assert (settled.handoff_requested, settled.ended, settled.status) == (True, False, SessionStatus.HANDOFF_REQUESTED)
    assert settled.final_words(PLAN) == PLAN.handoff_message
    stored = _stored(world, session.id)
    assert (stored.status, stored.collected) == (SessionStatus.HANDOFF_REQUESTED, {"order": "A-1"})


def test_a_rehearsal_settles_alike_and_stores_nothing(world: EngineWorld) -> None:
    before = len(world.events())
    effects = Rehearsed()
    outcome = TurnOutcome(end_requested=True)
    outcome.collect("name", "Ada")

    ended = settle(effects, SessionStatus.ACTIVE, outcome)
    handed = settle(effects, ended.status, TurnOutcome(), rule_reason="rule 'legal'")

    assert (ended.ended, ended.status) == (True, SessionStatus.COMPLETED)
    assert (handed.handoff_requested, handed.status) == (True, SessionStatus.HANDOFF_REQUESTED)
    assert (effects.ended, effects.collected, effects.handoffs) == (True, {"name": "Ada"}, ["rule 'legal'"])
    assert len(world.events()) == before


def test_open_or_continue_starts_then_continues_with_recent_turns(world: EngineWorld) -> None:
    sessions = world.platform.sessions
    opened = sessions.open_or_continue(world.tenant_id, world.agent.id, None, Channel.VOICE, {"name": "Ada"})
    for text in ("one", "two", "three"):
        sessions.append_turn(world.tenant_id, opened.session.id, Role.CUSTOMER, text)

    again = sessions.open_or_continue(world.tenant_id, world.agent.id, opened.session.id, Channel.VOICE, recent=2)

    assert (opened.turns, opened.session.channel, opened.session.customer) == ([], Channel.VOICE, {"name": "Ada"})
    assert again.session.id == opened.session.id
    assert [t.text for t in again.turns] == ["two", "three"]


def test_open_or_continue_keeps_the_continuation_rules(world: EngineWorld) -> None:
    sessions = world.platform.sessions
    test_chat = sessions.open_or_continue(world.tenant_id, world.agent.id, None, Channel.TEXT, tester="admin-1")
    customer = sessions.open_or_continue(world.tenant_id, world.agent.id, None, Channel.TEXT)

    with pytest.raises(NotFound):  # a key never continues an admin's test chat, nor learns it exists
        sessions.open_or_continue(world.tenant_id, world.agent.id, test_chat.session.id, Channel.TEXT)
    with pytest.raises(InvalidState):  # an admin's test chat never speaks in a customer's session
        sessions.open_or_continue(world.tenant_id, world.agent.id, customer.session.id, Channel.TEXT, tester="a")
    sessions.end(world.tenant_id, customer.session.id)
    with pytest.raises(InvalidState, match="has ended"):
        sessions.open_or_continue(world.tenant_id, world.agent.id, customer.session.id, Channel.TEXT)
    assert test_chat.session.tester == "admin-1"
