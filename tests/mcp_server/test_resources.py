"""MCP resources: JSON views of one organisation, read through a real server over a real platform."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import TextResourceContents
from mcp_types import INVALID_PARAMS

from mcp_server._principal import OperatorPrincipal
from mcp_server.server import build_server
from oratio.platform import Platform
from schemas import (
    Agent,
    AgentSpec,
    AgentStatus,
    Channel,
    CreateAgent,
    NotificationType,
    Principal,
    Priority,
    Role,
    Scope,
    Session,
    SessionWithTranscript,
)
from tests.support.tenants import SOP

pytestmark = pytest.mark.anyio


def make_agent(platform: Platform, principal: Principal, name: str = "Support") -> Agent:
    return platform.agents.create(principal, CreateAgent(spec=AgentSpec(name=name, sop=SOP)))


def make_session(platform: Platform, principal: Principal, agent: Agent) -> Session:
    """A live text session with two turns (the agent is made active first, as the AgentCreator would)."""
    platform.agents.transition(principal.tenant_id, agent.id, AgentStatus.ACTIVE, reason=None)
    session = platform.sessions.start(principal.tenant_id, agent.id, Channel.TEXT, {"email": "c@example.com"})
    platform.sessions.append_turn(principal.tenant_id, session.id, Role.CUSTOMER, "Where is my order?")
    platform.sessions.append_turn(principal.tenant_id, session.id, Role.AGENT, "Let me check that for you.")
    return session


async def read_json(client: Client, uri: str) -> Any:
    result = await client.read_resource(uri)
    [content] = result.contents
    assert isinstance(content, TextResourceContents)
    assert content.mime_type == "application/json"
    assert str(content.uri) == uri
    return json.loads(content.text)


async def read_error(client: Client, uri: str) -> MCPError:
    with pytest.raises(MCPError) as raised:
        await client.read_resource(uri)
    return raised.value


async def test_resources_and_templates_are_listed(client: Client) -> None:
    resources = {str(r.uri): r for r in (await client.list_resources()).resources}
    assert set(resources) == {"oratio://agents", "oratio://sessions/live", "oratio://notifications"}
    assert all(r.mime_type == "application/json" and r.description for r in resources.values())
    templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert templates == {
        "oratio://agents/{agent_id}",
        "oratio://sessions/{session_id}",
        "oratio://sessions/{session_id}/events",
    }


async def test_agent_reads_back_as_the_stored_agent(client: Client, platform: Platform, acme: Principal) -> None:
    agent = make_agent(platform, acme)

    body = await read_json(client, f"oratio://agents/{agent.id}")

    assert Agent.model_validate(body) == platform.agents.get(acme, agent.id)
    assert body["spec"]["sop"] == SOP
    assert body["status"] == "creating"


async def test_agent_list_has_the_organisations_agents(client: Client, platform: Platform, acme: Principal) -> None:
    first, second = make_agent(platform, acme, "Support"), make_agent(platform, acme, "Sales")

    body = await read_json(client, "oratio://agents")

    assert [a["id"] for a in body["agents"]] == [first.id, second.id]
    assert body["truncated"] is False


async def test_session_reads_back_with_its_transcript(client: Client, platform: Platform, acme: Principal) -> None:
    session = make_session(platform, acme, make_agent(platform, acme))

    body = await read_json(client, f"oratio://sessions/{session.id}")

    read = SessionWithTranscript.model_validate(body)
    assert read == platform.sessions.get(acme, session.id)
    assert [(t.seq, t.role, t.text) for t in read.turns] == [
        (1, Role.CUSTOMER, "Where is my order?"),
        (2, Role.AGENT, "Let me check that for you."),
    ]
    assert read.session.customer == {"email": "c@example.com"}


async def test_live_sessions_lists_only_sessions_in_progress(
    client: Client, platform: Platform, acme: Principal
) -> None:
    agent = make_agent(platform, acme)
    live = make_session(platform, acme, agent)
    ended = platform.sessions.start(acme.tenant_id, agent.id, Channel.VOICE)
    platform.sessions.end(acme.tenant_id, ended.id)

    body = await read_json(client, "oratio://sessions/live")

    assert [s["id"] for s in body["sessions"]] == [live.id]
    assert body["sessions"][0]["message_count"] == 2
    assert body["truncated"] is False


async def test_notifications_has_unread_and_recent(client: Client, platform: Platform, acme: Principal) -> None:
    notes = platform.notifications
    handoff = notes.notify(
        acme.tenant_id, NotificationType.HANDOFF, "Customer asks for a person", priority=Priority.HIGH
    )
    ready = notes.notify(acme.tenant_id, NotificationType.AGENT_READY, "Support is ready")
    notes.mark_read(acme, ready.id)

    body = await read_json(client, "oratio://notifications")

    assert [n["id"] for n in body["unread"]] == [handoff.id]
    assert body["unread"][0]["priority"] == "high"
    assert body["more_unread"] is False
    assert [(n["id"], n["status"]) for n in body["recent"]] == [(ready.id, "read"), (handoff.id, "unread")]


async def test_empty_organisation_reads_empty_views(client: Client) -> None:
    assert await read_json(client, "oratio://agents") == {"agents": [], "truncated": False}
    assert await read_json(client, "oratio://sessions/live") == {"sessions": [], "truncated": False}
    assert await read_json(client, "oratio://notifications") == {"unread": [], "more_unread": False, "recent": []}


async def test_another_tenants_records_read_as_not_found(
    client: Client, rival: Client, platform: Platform, acme: Principal
) -> None:
    agent = make_agent(platform, acme)
    session = make_session(platform, acme, agent)
    platform.notifications.notify(acme.tenant_id, NotificationType.HANDOFF, "Acme's customer", session_id=session.id)

    for uri, kind, ident in [
        (f"oratio://agents/{agent.id}", "agent", agent.id),
        (f"oratio://sessions/{session.id}", "session", session.id),
    ]:
        error = await read_error(rival, uri)
        assert error.error.code == INVALID_PARAMS
        assert error.error.message == f"not_found: {kind} '{ident}' was not found"
        assert "Support" not in error.error.message and SOP not in error.error.message
        await read_json(client, uri)  # the owner still reads it

    assert await read_json(rival, "oratio://agents") == {"agents": [], "truncated": False}
    assert await read_json(rival, "oratio://sessions/live") == {"sessions": [], "truncated": False}
    assert await read_json(rival, "oratio://notifications") == {"unread": [], "more_unread": False, "recent": []}


async def test_unknown_id_gets_the_same_error_as_another_tenants(client: Client) -> None:
    error = await read_error(client, "oratio://agents/agt_01jd5k0000000000000000000")
    assert error.error.code == INVALID_PARAMS
    assert error.error.message == "not_found: agent 'agt_01jd5k0000000000000000000' was not found"


async def test_missing_scope_is_a_resource_error(platform: Platform, acme: Principal) -> None:
    agent = make_agent(platform, acme)
    agents_only = acme.model_copy(update={"scopes": frozenset({Scope.AGENTS_READ})})
    async with Client(build_server(platform, OperatorPrincipal(agents_only))) as narrow:
        assert (await read_json(narrow, f"oratio://agents/{agent.id}"))["id"] == agent.id
        error = await read_error(narrow, "oratio://notifications")
    assert error.error.message == "forbidden: this token lacks the 'sessions:read' scope"
