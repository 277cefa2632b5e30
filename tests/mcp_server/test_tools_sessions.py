"""Session tools: filtered, paged session lists, live sessions, and a session with its transcript."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from mcp import Client

from mcp_server.tools.sessions import SessionList
from oratio.platform import Platform
from schemas import (
    Agent,
    AgentStatus,
    Channel,
    Principal,
    Role,
    Session,
    SessionStatus,
    SessionWithTranscript,
    Source,
)
from tests.support.mcp import call_as, call_error, spec

pytestmark = pytest.mark.anyio

UNKNOWN_SESSION = "ses_01aaaaaaaaaaaaaaaaaaaaaaaa"


@dataclass(frozen=True)
class Traffic:
    support: Agent
    sales: Agent
    sessions: list[Session]
    """Oldest first: support/text (completed), support/voice (active), sales/text (active), sales/voice (handoff)."""


async def active_agent(client: Client, platform: Platform, name: str) -> Agent:
    agent = await call_as(client, "create_agent", {"spec": spec(name)}, Agent)
    return platform.agents.transition(agent.tenant_id, agent.id, AgentStatus.ACTIVE, reason=None)


@pytest.fixture
async def traffic(client: Client, platform: Platform, acme: Principal) -> Traffic:
    support = await active_agent(client, platform, "Support")
    sales = await active_agent(client, platform, "Sales")
    tenant = acme.tenant_id
    started = [
        platform.sessions.start(tenant, support.id, Channel.TEXT, {"email": "ann@example.com"}),
        platform.sessions.start(tenant, support.id, Channel.VOICE),
        platform.sessions.start(tenant, sales.id, Channel.TEXT),
        platform.sessions.start(tenant, sales.id, Channel.VOICE),
    ]
    platform.sessions.end(tenant, started[0].id, "customer left")
    platform.sessions.set_status(tenant, started[3].id, SessionStatus.HANDOFF_REQUESTED)
    sessions = [platform.sessions.get(acme, s.id).session for s in started]
    return Traffic(support=support, sales=sales, sessions=sessions)


async def session_ids(client: Client, **arguments: object) -> list[str]:
    listed = await call_as(client, "list_sessions", dict(arguments), SessionList)
    return [s.id for s in listed.sessions]


async def test_list_sessions_is_newest_first(client: Client, traffic: Traffic) -> None:
    listed = await call_as(client, "list_sessions", {}, SessionList)

    assert listed == SessionList(sessions=traffic.sessions[::-1], next_cursor=None)


async def test_list_sessions_filters(client: Client, traffic: Traffic) -> None:
    s = [session.id for session in traffic.sessions]

    assert await session_ids(client, agent_id=traffic.support.id) == [s[1], s[0]]
    assert await session_ids(client, status="active") == [s[2], s[1]]
    assert await session_ids(client, status="handoff_requested") == [s[3]]
    assert await session_ids(client, channel="voice") == [s[3], s[1]]
    assert await session_ids(client, agent_id=traffic.sales.id, channel="text") == [s[2]]
    assert await session_ids(client, agent_id=traffic.support.id, status="completed", channel="text") == [s[0]]
    assert await session_ids(client, agent_id=traffic.support.id, status="handoff_requested") == []
    assert await session_ids(client, agent_id="agt_01aaaaaaaaaaaaaaaaaaaaaaaa") == []


async def test_list_sessions_filters_by_start_time(client: Client, traffic: Traffic) -> None:
    newest = traffic.sessions[-1]
    first = min(s.started_at for s in traffic.sessions)
    last = newest.started_at
    hour = timedelta(hours=1)

    assert await session_ids(client, started_after=(last + hour).isoformat()) == []
    assert await session_ids(client, started_before=(first - hour).isoformat()) == []
    window = {"started_after": (first - hour).isoformat(), "started_before": (last + hour).isoformat()}
    assert await session_ids(client, **window) == [s.id for s in traffic.sessions[::-1]]
    with_agent = await session_ids(client, agent_id=traffic.sales.id, **window)
    assert with_agent == [traffic.sessions[3].id, traffic.sessions[2].id]
    # Both bounds are inclusive: the newest session's own start time finds it.
    at_last = await call_as(
        client, "list_sessions", {"started_after": last.isoformat(), "started_before": last.isoformat()}, SessionList
    )
    assert newest in at_last.sessions
    assert all(s.started_at == last for s in at_last.sessions)


async def test_list_sessions_refuses_bad_time_windows(client: Client, traffic: Traffic) -> None:
    last = traffic.sessions[-1].started_at
    backwards = {"started_after": last.isoformat(), "started_before": (last - timedelta(hours=1)).isoformat()}

    assert await call_error(client, "list_sessions", backwards) == (
        "Error executing tool list_sessions: invalid_input: started_after is later than started_before"
    )
    assert "started_after" in await call_error(client, "list_sessions", {"started_after": "2030-01-01T09:00:00"})
    assert "started_before" in await call_error(client, "list_sessions", {"started_before": "yesterday"})


async def test_list_sessions_pages_through_everything(client: Client, traffic: Traffic) -> None:
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(len(traffic.sessions) + 1):
        page = await call_as(client, "list_sessions", {"limit": 1, "cursor": cursor}, SessionList)
        assert len(page.sessions) <= 1
        seen.extend(s.id for s in page.sessions)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert cursor is None
    assert seen == [s.id for s in traffic.sessions[::-1]]


async def test_list_sessions_refuses_bad_paging(client: Client, traffic: Traffic) -> None:
    assert "limit" in await call_error(client, "list_sessions", {"limit": 0})
    assert "cursor" in await call_error(client, "list_sessions", {"cursor": "c" * 513})
    assert "invalid_input" in await call_error(client, "list_sessions", {"cursor": "garbage"})


async def test_list_live_sessions(client: Client, traffic: Traffic, platform: Platform, acme: Principal) -> None:
    s = traffic.sessions

    live = await call_as(client, "list_live_sessions", {}, SessionList)
    first = await call_as(client, "list_live_sessions", {"limit": 1}, SessionList)
    second = await call_as(client, "list_live_sessions", {"limit": 1, "cursor": first.next_cursor}, SessionList)

    assert live == SessionList(sessions=[s[2], s[1]], next_cursor=None)
    assert [x.id for x in first.sessions + second.sessions] == [s[2].id, s[1].id]
    platform.sessions.end(acme.tenant_id, s[2].id)
    assert [x.id for x in (await call_as(client, "list_live_sessions", {}, SessionList)).sessions] == [s[1].id]


async def test_get_session_has_the_transcript_in_order(
    client: Client, traffic: Traffic, platform: Platform, acme: Principal
) -> None:
    session = traffic.sessions[1]
    source = Source(document_id="doc_01aaaaaaaaaaaaaaaaaaaaaaaa", document_name="refunds.md", snippet="14 days")
    platform.sessions.append_turn(acme.tenant_id, session.id, Role.CUSTOMER, "Can I get a refund?")
    platform.sessions.append_turn(acme.tenant_id, session.id, Role.AGENT, "Yes, within 14 days.", [source])
    platform.sessions.append_turn(acme.tenant_id, session.id, Role.CUSTOMER, "Thanks!")

    found = await call_as(client, "get_session", {"session_id": session.id}, SessionWithTranscript)

    assert found.session.id == session.id
    assert found.session.message_count == 3
    assert [(t.seq, t.role, t.text) for t in found.turns] == [
        (1, Role.CUSTOMER, "Can I get a refund?"),
        (2, Role.AGENT, "Yes, within 14 days."),
        (3, Role.CUSTOMER, "Thanks!"),
    ]
    assert found.turns[1].sources == [source]
    assert found == platform.sessions.get(acme, session.id)


async def test_get_session_without_turns_and_unknown(client: Client, traffic: Traffic) -> None:
    found = await call_as(client, "get_session", {"session_id": traffic.sessions[0].id}, SessionWithTranscript)

    assert found == SessionWithTranscript(session=traffic.sessions[0], turns=[])
    assert found.session.customer == {"email": "ann@example.com"}
    assert await call_error(client, "get_session", {"session_id": UNKNOWN_SESSION}) == (
        f"Error executing tool get_session: not_found: session '{UNKNOWN_SESSION}' was not found"
    )
