"""Post-call analysis over MCP: get_session_analysis, get_session carrying it, list_sessions by outcome."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from mcp import Client

from mcp_server.tools.sessions import SessionList
from oratio.platform import Platform
from oratio.services.analysis import SessionExport
from schemas import Agent, AgentStatus, Channel, Principal, Role, SessionStatus, SessionWithTranscript
from schemas.analysis import Outcome, SessionAnalysis
from tests.support.mcp import call_as, call_error, spec

pytestmark = pytest.mark.anyio


async def test_an_ended_session_is_analysed_and_found_by_its_outcome(
    client: Client, rival: Client, platform: Platform, acme: Principal
) -> None:
    agent = await call_as(client, "create_agent", {"spec": spec("Support")}, Agent)
    platform.agents.transition(agent.tenant_id, agent.id, AgentStatus.ACTIVE, reason=None)
    tenant = acme.tenant_id
    resolved = platform.sessions.start(tenant, agent.id, Channel.TEXT)
    platform.sessions.append_turn(tenant, resolved.id, Role.CUSTOMER, "Great, thanks!")
    platform.sessions.append_turn(tenant, resolved.id, Role.AGENT, "Glad to help. Goodbye!")
    platform.sessions.end(tenant, resolved.id, "ended by the agent")
    failed = platform.sessions.start(tenant, agent.id, Channel.VOICE)
    platform.sessions.set_status(tenant, failed.id, SessionStatus.ERROR, "the voice service failed")
    live = platform.sessions.start(tenant, agent.id, Channel.TEXT)

    missing = await call_error(client, "get_session_analysis", {"session_id": resolved.id})
    assert "no analysis yet" in missing  # nothing is analysed on the turn path: the sweep does it
    assert platform.analyses.run_pending() == 2

    analysis = await call_as(client, "get_session_analysis", {"session_id": resolved.id}, SessionAnalysis)
    assert (analysis.method, analysis.outcome, analysis.sentiment.value, analysis.turns) == (
        "rules",
        Outcome.RESOLVED,
        "positive",
        2,
    )
    read = await call_as(client, "get_session", {"session_id": resolved.id}, SessionWithTranscript)
    assert read.analysis == analysis
    unanalysed = await call_as(client, "get_session", {"session_id": live.id}, SessionWithTranscript)
    assert unanalysed.analysis is None

    def ids(listed: SessionList) -> list[str]:
        return [s.id for s in listed.sessions]

    assert ids(await call_as(client, "list_sessions", {"outcome": "resolved"}, SessionList)) == [resolved.id]
    assert ids(await call_as(client, "list_sessions", {"outcome": "failed"}, SessionList)) == [failed.id]
    assert ids(await call_as(client, "list_sessions", {"outcome": "failed", "channel": "text"}, SessionList)) == []
    assert ids(await call_as(client, "list_sessions", {"outcome": "handed_off"}, SessionList)) == []
    assert "outcome" in await call_error(client, "list_sessions", {"outcome": "great"})
    assert ids(await call_as(rival, "list_sessions", {"outcome": "resolved"}, SessionList)) == []
    assert "not found" in (await call_error(rival, "get_session_analysis", {"session_id": resolved.id})).lower()


async def test_export_sessions_gives_csv_and_json_with_the_analysis_in_a_bounded_window(
    client: Client, platform: Platform, acme: Principal
) -> None:
    agent = await call_as(client, "create_agent", {"spec": spec("Support")}, Agent)
    platform.agents.transition(agent.tenant_id, agent.id, AgentStatus.ACTIVE, reason=None)
    tenant = acme.tenant_id
    ended = platform.sessions.start(tenant, agent.id, Channel.TEXT)
    platform.sessions.append_turn(tenant, ended.id, Role.CUSTOMER, '=HYPERLINK("http://evil") this is terrible')
    platform.sessions.record_collected(tenant, ended.id, {"order_number": "55123"})
    platform.sessions.end(tenant, ended.id, "ended by the agent")
    live = platform.sessions.start(tenant, agent.id, Channel.VOICE)
    assert platform.analyses.run_pending() == 1
    window = {
        "started_after": (ended.started_at - timedelta(hours=1)).isoformat(),
        "started_before": (live.started_at + timedelta(hours=1)).isoformat(),
    }

    as_json = await call_as(client, "export_sessions", {**window, "format": "json"}, SessionExport)
    rows = json.loads(as_json.content)
    assert (as_json.count, as_json.truncated) == (2, False)
    assert [(r["session_id"], r["outcome"], r["sentiment"]) for r in rows] == [
        (live.id, None, None),
        (ended.id, "resolved", "negative"),
    ]
    assert rows[1]["collected"] == {"order_number": "55123"}

    as_csv = await call_as(client, "export_sessions", window, SessionExport)
    table = list(csv.DictReader(io.StringIO(as_csv.content)))
    assert [r["session_id"] for r in table] == [live.id, ended.id]
    assert table[1]["outcome"] == "resolved"
    assert table[1]["summary"].startswith("Text session")  # quoted inside, never a cell starting with "="
    assert all(not cell.startswith(("=", "+", "@")) for r in table for cell in r.values())
    assert json.loads(table[1]["collected"]) == {"order_number": "55123"}

    only = await call_as(client, "export_sessions", {**window, "outcome": "resolved"}, SessionExport)
    assert only.count == 1

    month = {"started_after": "2030-01-01T00:00:00Z", "started_before": "2030-03-01T00:00:00Z"}
    assert "at most 31 days" in await call_error(client, "export_sessions", month)
    assert "started_before" in await call_error(client, "export_sessions", {"started_after": window["started_after"]})
    assert "format" in await call_error(client, "export_sessions", {**window, "format": "xlsx"})
