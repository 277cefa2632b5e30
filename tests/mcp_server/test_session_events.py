"""`oratio://sessions/{id}/events`: an admin's assistant follows one conversation live.

Read: the session's state and its last turns. Listen: `resources/updated` for that URI on every new
turn or handoff move, from the event log, over the real streamable HTTP door; tenant-isolated and
scoped to sessions:read like the other session resources.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ResourceUpdated, Subscription
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ServerEvent
from mcp.types import TextResourceContents

from mcp_server._principal import OperatorPrincipal
from mcp_server.http import create_mcp_http_app
from mcp_server.resources import EVENTS_TURNS
from mcp_server.server import build_server
from oratio.platform import Platform
from schemas import (
    AgentSpec,
    AgentStatus,
    Channel,
    CreateAgent,
    NotificationType,
    Principal,
    Role,
    Scope,
    Session,
)
from tests.support.tenants import SOP

pytestmark = pytest.mark.anyio

WAIT = 10.0
"""Upper bound on any wait (a passing run waits about one poll of the tailer)."""


def live_session(platform: Platform, principal: Principal) -> Session:
    agent = platform.agents.create(principal, CreateAgent(spec=AgentSpec(name="Support", sop=SOP)))
    platform.agents.transition(principal.tenant_id, agent.id, AgentStatus.ACTIVE, reason=None)
    session = platform.sessions.start(principal.tenant_id, agent.id, Channel.TEXT, {"email": "c@example.com"})
    platform.sessions.append_turn(principal.tenant_id, session.id, Role.CUSTOMER, "My router is down.")
    return session


def uri_of(session: Session) -> str:
    return f"oratio://sessions/{session.id}/events"


async def read_json(client: Client, uri: str) -> Any:
    [content] = (await client.read_resource(uri)).contents
    assert isinstance(content, TextResourceContents)
    assert content.mime_type == "application/json"
    return json.loads(content.text)


async def next_event(subscription: Subscription) -> ServerEvent:
    with anyio.fail_after(WAIT):
        return await anext(subscription)


async def test_the_template_is_listed(client: Client) -> None:
    templates = {t.uri_template: t for t in (await client.list_resource_templates()).resource_templates}
    events = templates["oratio://sessions/{session_id}/events"]
    assert events.mime_type == "application/json" and events.description


async def test_read_gives_the_state_and_the_last_turns(client: Client, platform: Platform, acme: Principal) -> None:
    session = live_session(platform, acme)
    platform.sessions.append_turn(acme.tenant_id, session.id, Role.AGENT, "Let me check.")

    body = await read_json(client, uri_of(session))

    assert body["session"]["id"] == session.id
    assert body["session"]["status"] == "active"
    assert [(t["seq"], t["role"], t["text"]) for t in body["turns"]] == [
        (1, "customer", "My router is down."),
        (2, "agent", "Let me check."),
    ]
    assert body["earlier_turns"] is False
    # The whole-transcript resource is still its own URI, not shadowed by the new template.
    whole = await read_json(client, f"oratio://sessions/{session.id}")
    assert len(whole["turns"]) == 2


async def test_a_long_conversation_reads_only_its_tail(client: Client, platform: Platform, acme: Principal) -> None:
    session = live_session(platform, acme)
    for n in range(EVENTS_TURNS + 4):
        platform.sessions.append_turn(acme.tenant_id, session.id, Role.AGENT, f"reply {n}")

    body = await read_json(client, uri_of(session))

    assert len(body["turns"]) == EVENTS_TURNS
    assert body["turns"][-1]["text"] == f"reply {EVENTS_TURNS + 3}"
    assert body["turns"][0]["seq"] == EVENTS_TURNS + 5 - EVENTS_TURNS + 1
    assert body["earlier_turns"] is True


async def test_another_tenant_and_an_unknown_id_read_as_not_found(
    rival: Client, client: Client, platform: Platform, acme: Principal
) -> None:
    session = live_session(platform, acme)
    with pytest.raises(MCPError) as theirs:
        await rival.read_resource(uri_of(session))
    with pytest.raises(MCPError) as unknown:
        await client.read_resource("oratio://sessions/ses_01jd5k0000000000000000000/events")
    assert theirs.value.error.message == f"not_found: session '{session.id}' was not found"
    assert unknown.value.error.message == "not_found: session 'ses_01jd5k0000000000000000000' was not found"


async def test_reading_needs_sessions_read(platform: Platform, acme: Principal) -> None:
    session = live_session(platform, acme)
    agents_only = acme.model_copy(update={"scopes": frozenset({Scope.AGENTS_READ})})
    async with Client(build_server(platform, OperatorPrincipal(agents_only))) as client:
        with pytest.raises(MCPError, match="sessions:read"):
            await client.read_resource(uri_of(session))


async def test_a_listener_hears_each_turn_and_handoff_move(platform: Platform, acme: Principal) -> None:
    session = live_session(platform, acme)
    uri = uri_of(session)
    async with (
        Client(build_server(platform, OperatorPrincipal(acme), live_poll_seconds=0.05)) as client,
        client.listen(resource_subscriptions=[uri]) as stream,
    ):
        assert stream.honored.resource_subscriptions == [uri]
        await anyio.to_thread.run_sync(
            lambda: platform.handoff.request(acme.tenant_id, session.id, "the customer asked for a person")
        )
        assert await next_event(stream) == ResourceUpdated(uri)
        assert (await read_json(client, uri))["session"]["handoff"]["state"] == "requested"

        await anyio.to_thread.run_sync(lambda: platform.handoff.take_over(acme, session.id))
        assert await next_event(stream) == ResourceUpdated(uri)
        await anyio.to_thread.run_sync(lambda: platform.handoff.say(acme, session.id, "Hi, this is Dana."))
        body = await until_turn(client, stream, uri, "Hi, this is Dana.")
        assert body["session"]["handoff"]["state"] == "taken_over"
        assert body["turns"][-1]["role"] == "human"
        assert body["turns"][-1]["author"] == acme.subject


async def until_turn(client: Client, stream: Subscription, uri: str, text: str) -> Any:
    """Read the resource after each update until its last turn says `text` (updates are level triggers)."""
    while True:
        assert await next_event(stream) == ResourceUpdated(uri)
        body = await read_json(client, uri)
        if body["turns"] and body["turns"][-1]["text"] == text:
            return body


@asynccontextmanager
async def mcp_over_http(platform: Platform) -> AsyncIterator[int]:
    """`oratio serve`'s MCP app on a real socket; yields its port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()  # connections queue until uvicorn accepts them: no waiting for it to start
        port = sock.getsockname()[1]
        app = create_mcp_http_app(platform, public_url=f"http://127.0.0.1:{port}", host="127.0.0.1", port=port)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(server.serve, [sock])
            try:
                yield port
            finally:
                server.should_exit = True


def http_client(port: int, token: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=WAIT)
    return Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http))


async def test_over_streamable_http_only_the_owner_follows_the_conversation(platform: Platform) -> None:
    """Acme follows its customer's conversation; Globex, on the same server with Acme's URI, reads "not
    found" and hears nothing of it (its own notification is the first thing it hears)."""
    tokens: dict[str, str] = {}
    for name in ("Acme", "Globex"):
        tenant = platform.tenants.create_tenant(name)
        tokens[name] = platform.access.token_for(platform.tenants.create_admin(tenant.tenant_id, "o@example.com", "O"))
    acme = platform.access.admin_principal(tokens["Acme"])
    globex_id = platform.access.admin_principal(tokens["Globex"]).tenant_id
    session = live_session(platform, acme)
    uri = uri_of(session)

    with anyio.fail_after(WAIT * 3):
        async with (
            mcp_over_http(platform) as port,
            http_client(port, tokens["Acme"]) as acme_side,
            http_client(port, tokens["Globex"]) as globex_side,
        ):
            with pytest.raises(MCPError, match="not_found"):
                await globex_side.read_resource(uri)
            async with (
                acme_side.listen(resource_subscriptions=[uri]) as acme_stream,
                globex_side.listen(resource_subscriptions=[uri, "oratio://notifications"]) as globex_stream,
            ):
                await anyio.to_thread.run_sync(
                    lambda: platform.sessions.append_turn(acme.tenant_id, session.id, Role.CUSTOMER, "Still down.")
                )
                body = await until_turn(acme_side, acme_stream, uri, "Still down.")
                assert [t["text"] for t in body["turns"]] == ["My router is down.", "Still down."]
                await anyio.to_thread.run_sync(
                    lambda: platform.notifications.notify(globex_id, NotificationType.SYSTEM, "Globex only")
                )
                assert await next_event(globex_stream) == ResourceUpdated("oratio://notifications")
