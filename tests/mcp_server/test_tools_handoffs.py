"""Handoff tools: acknowledge (from the notification), take over, return to the agent, close."""

from __future__ import annotations

import pytest
from mcp import Client

from mcp_server.live import Change, changes_for
from mcp_server.resources import session_uri
from oratio.platform import Platform
from schemas import (
    Agent,
    AgentStatus,
    Channel,
    EventType,
    HandoffState,
    Notification,
    Principal,
    Role,
    Scope,
    Session,
    SessionStatus,
)
from tests.support.mcp import call_as, call_error, spec
from tests.support.tenants import events

pytestmark = pytest.mark.anyio


@pytest.fixture
async def handed_off(client: Client, platform: Platform, acme: Principal) -> Session:
    """A customer's session that asked for a person."""
    created = await call_as(client, "create_agent", {"spec": spec("Support")}, Agent)
    agent = platform.agents.transition(acme.tenant_id, created.id, AgentStatus.ACTIVE, reason=None)
    session = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    platform.handoff.request(acme.tenant_id, session.id, "customer asked for a person")
    return platform.sessions.get(acme, session.id).session


async def test_acknowledge_take_over_and_return_move_the_session(
    client: Client, platform: Platform, acme: Principal, handed_off: Session
) -> None:
    assert handed_off.handoff is not None and handed_off.handoff.notification_id is not None
    arguments = {"session_id": handed_off.id}

    await call_as(client, "acknowledge_handoff", {"notification_id": handed_off.handoff.notification_id}, Notification)
    acknowledged = platform.sessions.get(acme, handed_off.id).session
    taken = await call_as(client, "take_over_session", arguments, Session)
    returned = await call_as(client, "return_session_to_agent", arguments, Session)

    assert acknowledged.handoff is not None and acknowledged.handoff.state is HandoffState.ACKNOWLEDGED
    assert taken.handoff is not None and (taken.handoff.state, taken.handoff.taken_over_by) == (
        HandoffState.TAKEN_OVER,
        acme.subject,
    )
    assert returned.status is SessionStatus.ACTIVE
    transcript = platform.sessions.get(acme, handed_off.id).turns
    assert [t.role for t in transcript] == [Role.SYSTEM] * 3


async def test_close_session_ends_it_and_refusals_are_tool_errors(
    client: Client, rival: Client, handed_off: Session
) -> None:
    arguments = {"session_id": handed_off.id}

    closed = await call_as(client, "close_session", arguments, Session)
    again = await call_error(client, "take_over_session", arguments)
    foreign = await call_error(rival, "take_over_session", arguments)

    assert closed.status is SessionStatus.COMPLETED
    assert again.startswith("Error executing tool take_over_session: invalid_state:") and "ended" in again
    assert foreign == f"Error executing tool take_over_session: not_found: session '{handed_off.id}' was not found"


async def test_returning_a_session_that_asked_for_no_one_says_so(client: Client, handed_off: Session) -> None:
    await call_as(client, "return_session_to_agent", {"session_id": handed_off.id}, Session)

    refused = await call_error(client, "return_session_to_agent", {"session_id": handed_off.id})

    assert refused == (
        "Error executing tool return_session_to_agent: invalid_state: "
        "this session has no open handoff to mark returned to the agent"
    )


async def test_a_handoff_move_updates_the_session_resource_subscribers_follow(
    client: Client, platform: Platform, acme: Principal, handed_off: Session
) -> None:
    await call_as(client, "take_over_session", {"session_id": handed_off.id}, Session)

    [*_, moved] = [e for e in events(platform, acme.tenant_id) if e.type is EventType.SESSION_HANDOFF]

    assert moved.data["state"] == "taken_over" and moved.data["by"] == acme.subject
    assert Change(session_uri(handed_off.id), Scope.SESSIONS_READ) in changes_for(moved)
