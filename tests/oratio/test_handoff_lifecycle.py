"""The handoff lifecycle: requested -> acknowledged -> taken_over -> returned | closed, as data.

Each move is checked against HANDOFF_TRANSITIONS, written with a system turn and its events in one
transaction, and refused with a clear error otherwise.
"""

from __future__ import annotations

import pytest

from oratio.errors import Forbidden, InvalidInput, InvalidState, NotFound
from oratio.platform import Platform
from schemas import (
    HANDOFF_TRANSITIONS,
    Channel,
    EventType,
    HandoffState,
    NotificationStatus,
    Role,
    Scope,
    Session,
    SessionStatus,
)
from tests.support.tenants import Tenancy, active_agent, events, narrow


def _handed_off(platform: Platform, acme: Tenancy) -> Session:
    agent = active_agent(platform, acme)
    session = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    platform.sessions.append_turn(acme.tenant_id, session.id, Role.CUSTOMER, "I want a person")
    platform.handoff.request(acme.tenant_id, session.id, "customer asked for a person")
    return platform.sessions.get(acme.principal, session.id).session


def _transcript(platform: Platform, acme: Tenancy, session_id: str) -> list[tuple[Role, str]]:
    return [(t.role, t.text) for t in platform.sessions.get(acme.principal, session_id).turns]


def test_a_request_records_the_handoff_on_the_session(platform: Platform, acme: Tenancy) -> None:
    session = _handed_off(platform, acme)

    assert session.handoff is not None
    assert (session.handoff.state, session.handoff.reason) == (HandoffState.REQUESTED, "customer asked for a person")
    [notification] = platform.notifications.list(acme.principal).items
    assert session.handoff.notification_id == notification.id
    assert session.paused  # pause_on_handoff is on by default
    moves = [e.data["state"] for e in events(platform, acme.tenant_id) if e.type is EventType.SESSION_HANDOFF]
    assert moves == ["requested"]


def test_the_whole_lifecycle_is_in_the_transcript_and_the_event_log(platform: Platform, acme: Tenancy) -> None:
    session = _handed_off(platform, acme)
    who = acme.principal.subject

    acked = platform.handoff.acknowledge(acme.principal, session.id)
    taken = platform.handoff.take_over(acme.principal, session.id)
    returned = platform.handoff.return_to_agent(acme.principal, session.id)

    assert acked.handoff is not None and (acked.handoff.state, acked.handoff.acknowledged_by) == (
        HandoffState.ACKNOWLEDGED,
        who,
    )
    assert taken.handoff is not None and taken.handoff.taken_over_by == who and taken.paused
    assert returned.status is SessionStatus.ACTIVE and not returned.paused
    assert _transcript(platform, acme, session.id)[1:] == [
        (Role.SYSTEM, f"Handoff acknowledged by {who}."),
        (Role.SYSTEM, f"Handoff taken over by {who}."),
        (Role.SYSTEM, f"Handoff returned to the agent by {who}."),
    ]
    handoff_events = [e for e in events(platform, acme.tenant_id) if e.type is EventType.SESSION_HANDOFF]
    logged = [(e.data["state"], e.data["by"]) for e in handoff_events]
    assert logged == [("requested", None), ("acknowledged", who), ("taken_over", who), ("returned", who)]
    [notification] = platform.notifications.list(acme.principal).items
    assert notification.status is NotificationStatus.ACKNOWLEDGED  # acknowledging the session acknowledged it


def test_acknowledging_twice_is_refused_and_says_by_whom(platform: Platform, acme: Tenancy) -> None:
    session = _handed_off(platform, acme)
    platform.handoff.acknowledge(acme.principal, session.id)

    with pytest.raises(InvalidState, match=f"already acknowledged by {acme.principal.subject}"):
        platform.handoff.acknowledge(acme.principal, session.id)


def test_acknowledging_the_notification_moves_the_session(platform: Platform, acme: Tenancy) -> None:
    session = _handed_off(platform, acme)
    [notification] = platform.notifications.list(acme.principal).items

    platform.handoff.acknowledge_notification(acme.principal, notification.id)

    stored = platform.sessions.get(acme.principal, session.id).session
    assert stored.handoff is not None and stored.handoff.state is HandoffState.ACKNOWLEDGED
    with pytest.raises(InvalidState, match="already acknowledged"):
        platform.handoff.acknowledge_notification(acme.principal, notification.id)


def test_moves_the_table_does_not_allow_are_refused(platform: Platform, acme: Tenancy) -> None:
    session = _handed_off(platform, acme)
    live = platform.sessions.start(acme.tenant_id, session.agent_id, Channel.TEXT)
    with pytest.raises(InvalidState, match="no open handoff"):
        platform.handoff.acknowledge(acme.principal, live.id)
    with pytest.raises(InvalidState, match="no open handoff"):
        platform.handoff.return_to_agent(acme.principal, live.id)
    platform.handoff.take_over(acme.principal, session.id)
    with pytest.raises(InvalidState, match=f"already taken over by {acme.principal.subject}"):
        platform.handoff.take_over(acme.principal, session.id)
    with pytest.raises(InvalidState, match="already taken over"):
        platform.handoff.acknowledge(acme.principal, session.id)
    assert HandoffState.ACKNOWLEDGED not in HANDOFF_TRANSITIONS[HandoffState.TAKEN_OVER]


def test_an_admin_may_take_over_a_live_session_that_never_asked(platform: Platform, acme: Tenancy) -> None:
    agent = active_agent(platform, acme)
    live = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)

    taken = platform.handoff.take_over(acme.principal, live.id)

    assert taken.status is SessionStatus.HANDOFF_REQUESTED and taken.paused
    assert taken.handoff is not None and taken.handoff.state is HandoffState.TAKEN_OVER


def test_closing_ends_the_session_and_nothing_moves_after(platform: Platform, acme: Tenancy) -> None:
    session = _handed_off(platform, acme)

    closed = platform.handoff.close_session(acme.principal, session.id)

    assert closed.status is SessionStatus.COMPLETED
    assert closed.end_reason == f"closed by {acme.principal.subject}"
    with pytest.raises(InvalidState, match="ended"):
        platform.handoff.take_over(acme.principal, session.id)
    statuses = [e.data["status"] for e in events(platform, acme.tenant_id) if e.type is EventType.SESSION_STATUS]
    assert statuses[-1] == "completed"


def test_taking_over_needs_the_sessions_write_scope_and_the_tenant(
    platform: Platform, acme: Tenancy, globex: Tenancy
) -> None:
    session = _handed_off(platform, acme)
    reader = narrow(acme, Scope.SESSIONS_READ)

    with pytest.raises(Forbidden, match="sessions:write"):
        platform.handoff.take_over(reader, session.id)
    with pytest.raises(NotFound):
        platform.handoff.take_over(globex.principal, session.id)
    acked = platform.handoff.acknowledge(reader, session.id)  # a reader may pick up the alert
    assert acked.handoff is not None and acked.handoff.state is HandoffState.ACKNOWLEDGED


def test_the_person_who_took_over_speaks_as_a_human_turn(platform: Platform, acme: Tenancy) -> None:
    session = _handed_off(platform, acme)
    with pytest.raises(InvalidState, match="take the session over"):
        platform.handoff.say(acme.principal, session.id, "Hello, I am Dana")
    platform.handoff.take_over(acme.principal, session.id)

    turn = platform.handoff.say(acme.principal, session.id, "  Hello, I am Dana  ")

    assert (turn.role, turn.text, turn.author) == (Role.HUMAN, "Hello, I am Dana", acme.principal.subject)
    assert _transcript(platform, acme, session.id)[-1] == (Role.HUMAN, "Hello, I am Dana")
    [said] = [
        e for e in events(platform, acme.tenant_id) if e.type is EventType.SESSION_TURN and e.data["role"] == "human"
    ]
    assert (said.subject, said.data["seq"], said.data["author"]) == (session.id, turn.seq, acme.principal.subject)
    with pytest.raises(InvalidInput, match="empty"):
        platform.handoff.say(acme.principal, session.id, "   ")
    platform.handoff.return_to_agent(acme.principal, session.id)
    with pytest.raises(InvalidState, match="take the session over"):
        platform.handoff.say(acme.principal, session.id, "still here?")
