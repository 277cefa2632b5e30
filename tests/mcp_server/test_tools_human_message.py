"""`send_human_message`: the person who took a session over speaks to its customer from MCP."""

from __future__ import annotations

import pytest
from mcp import Client

from oratio.platform import Platform
from schemas import Agent, AgentStatus, Channel, EventType, Principal, Role, Session, Turn
from tests.support.mcp import call_as, call_error, spec
from tests.support.tenants import events

pytestmark = pytest.mark.anyio

TOOL = "send_human_message"


@pytest.fixture
async def live_session(client: Client, platform: Platform, acme: Principal) -> Session:
    created = await call_as(client, "create_agent", {"spec": spec("Support")}, Agent)
    agent = platform.agents.transition(acme.tenant_id, created.id, AgentStatus.ACTIVE, reason=None)
    return platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)


async def test_the_message_is_a_human_turn_with_its_author_and_its_event(
    client: Client, platform: Platform, acme: Principal, live_session: Session
) -> None:
    await call_as(client, "take_over_session", {"session_id": live_session.id}, Session)

    said = await call_as(client, TOOL, {"session_id": live_session.id, "text": "  Hi, I am Sam.  "}, Turn)

    assert (said.role, said.text, said.author) == (Role.HUMAN, "Hi, I am Sam.", acme.subject)
    [*_, last] = platform.sessions.get(acme, live_session.id).turns
    assert last == said
    [*_, event] = [e for e in events(platform, acme.tenant_id) if e.type is EventType.SESSION_TURN]
    assert (event.subject, event.data["role"], event.data["author"]) == (live_session.id, "human", acme.subject)


async def test_refusals_are_tool_errors(client: Client, rival: Client, live_session: Session) -> None:
    arguments = {"session_id": live_session.id, "text": "hello"}

    not_taken = await call_error(client, TOOL, arguments)
    await call_as(client, "take_over_session", {"session_id": live_session.id}, Session)
    blank = await call_error(client, TOOL, {**arguments, "text": "   "})
    empty = await call_error(client, TOOL, {**arguments, "text": ""})
    too_long = await call_error(client, TOOL, {**arguments, "text": "x" * 8001})
    foreign = await call_error(rival, TOOL, arguments)
    await call_as(client, "close_session", {"session_id": live_session.id}, Session)
    ended = await call_error(client, TOOL, arguments)

    assert not_taken == f"Error executing tool {TOOL}: invalid_state: take the session over before sending it messages"
    assert blank == f"Error executing tool {TOOL}: invalid_input: the message is empty"
    assert "validation error" in empty and "text" in empty
    assert "validation error" in too_long and "text" in too_long
    assert foreign == f"Error executing tool {TOOL}: not_found: session '{live_session.id}' was not found"
    assert ended.startswith(f"Error executing tool {TOOL}: invalid_state:") and "ended" in ended
