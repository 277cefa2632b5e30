"""Tool calls, as the admin sees them: in a session's transcript (/api/v1/sessions/{id}), live on
/ws/dashboard (`session.tool_call` events), and counted in /api/v1/stats (issue 18, item 7)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import anyio
import httpx
import pytest
from websockets.asyncio.client import connect

from dashboard import stats
from oratio.ids import new_id
from schemas import Channel, Role, Session, Turn
from schemas.tools import ToolCallRecord, ToolCallStatus
from tests.dashboard.dash import Dash, say
from tests.support.serving import Served
from tests.support.tool_calls import call, event_data, store_agent_turn

WAIT = 15.0

LOOKUP = call(
    "call_1",
    "lookup_order",
    arguments={"order_id": "A123", "card_number": "[redacted]"},
    duration_ms=42.5,
    summary='{"status": "shipped"}',
)
CANCEL = call("call_2", "cancel_order", ToolCallStatus.OK, arguments={"order_id": "A123"}, write=True, confirmed=True)
TIMED_OUT = call("call_3", "lookup_order", ToolCallStatus.TIMEOUT, summary="no answer within 10 s")


def test_the_transcript_shows_each_call_with_its_redacted_arguments(http: httpx.Client, dash: Dash) -> None:
    session_id = str(say(http, dash, "where is my order A123?")["session_id"])
    store_agent_turn(dash.platform, dash.acme.tenant_id, session_id, [LOOKUP, CANCEL])

    body = http.get(f"/api/v1/sessions/{session_id}", headers=dash.bearer()).json()

    [turn] = [t for t in body["turns"] if t["tool_calls"]]
    shown = {c["id"]: c for c in turn["tool_calls"]}
    assert shown["call_1"]["name"] == "lookup_order"
    assert shown["call_1"]["arguments"] == {"order_id": "A123", "card_number": "[redacted]"}
    assert (shown["call_1"]["status"], shown["call_1"]["duration_ms"]) == ("ok", 42.5)
    assert shown["call_1"]["summary"] == '{"status": "shipped"}'
    assert (shown["call_2"]["write"], shown["call_2"]["confirmed"]) == (True, True)
    theirs = http.get(f"/api/v1/sessions/{session_id}", headers=dash.bearer(dash.globex_token))
    assert theirs.status_code == 404


def test_stats_count_tool_calls_and_failures(http: httpx.Client, dash: Dash) -> None:
    session_id = str(say(http, dash, "where is my order A123?")["session_id"])
    store_agent_turn(dash.platform, dash.acme.tenant_id, session_id, [LOOKUP, CANCEL, TIMED_OUT])
    dash.platform.sessions.end(dash.acme.tenant_id, session_id, "ended by the agent")
    assert dash.platform.analyses.run_pending() == 1

    figures = http.get("/api/v1/stats", headers=dash.bearer()).json()

    assert (figures["tool_calls"], figures["tool_failures"]) == (3, 1)
    assert sum(d["tool_calls"] for d in figures["days"]) == 3
    assert sum(d["tool_failures"] for d in figures["days"]) == 1
    theirs = http.get("/api/v1/stats", headers=dash.bearer(dash.globex_token)).json()
    assert (theirs["tool_calls"], theirs["tool_failures"]) == (0, 0)


def session(at: datetime) -> Session:
    return Session(tenant_id="ten_stats", id=new_id("session"), agent_id="agt_a", channel=Channel.TEXT, started_at=at)


def agent_turn(s: Session, calls: list[ToolCallRecord]) -> Turn:
    return Turn(tenant_id=s.tenant_id, session_id=s.id, seq=2, role=Role.AGENT, text="x", tool_calls=calls)


def test_aggregate_counts_calls_in_the_hour_they_started_and_only_real_failures() -> None:
    since = datetime(2030, 1, 1, tzinfo=UTC)
    first, second = session(since + timedelta(minutes=1)), session(since + timedelta(hours=2))
    statuses = list(ToolCallStatus)
    early = [call(f"c{i}", "t_x", status, at=since + timedelta(minutes=2 + i)) for i, status in enumerate(statuses)]
    late = [call("late", "t_x", ToolCallStatus.ERROR, at=since + timedelta(hours=2, minutes=5))]
    transcripts = {first.id: [agent_turn(first, early)], second.id: [agent_turn(second, late)]}

    figures = stats.aggregate(since, since + timedelta(hours=24), [first, second], transcripts, [])

    failing = {ToolCallStatus.ERROR, ToolCallStatus.TIMEOUT, ToolCallStatus.INVALID_ARGUMENTS, ToolCallStatus.REFUSED}
    assert set(statuses) - stats.GATE_STEPS - {ToolCallStatus.OK} == failing
    counted = len(failing) + 1  # the failures and OK; the gate's steps are not calls
    assert (figures.hours[0].tool_calls, figures.hours[0].tool_failures) == (counted, len(failing))
    assert (figures.hours[2].tool_calls, figures.hours[2].tool_failures) == (1, 1)
    assert (figures.tool_calls, figures.tool_failures) == (counted + 1, len(failing) + 1)


def test_a_confirmed_write_is_one_call_and_a_declined_one_none() -> None:
    """The gate records a write twice when it is confirmed (held, then run) and once when it is declined
    or dropped: the charts count the run, not the question."""
    since = datetime(2030, 1, 1, tzinfo=UTC)
    s = session(since + timedelta(minutes=1))
    at = since + timedelta(minutes=2)
    held = call("w1", "cancel_order", ToolCallStatus.AWAITING_CONFIRMATION, at=at, write=True)
    ran = call("w1", "cancel_order", ToolCallStatus.OK, at=at + timedelta(minutes=1), write=True, confirmed=True)
    asked_again = call("w2", "cancel_order", ToolCallStatus.AWAITING_CONFIRMATION, at=at, write=True)
    declined = call("w2", "cancel_order", ToolCallStatus.DECLINED, at=at + timedelta(minutes=1), write=True)
    dropped = call("w3", "cancel_order", ToolCallStatus.NOT_CONFIRMED, at=at, write=True)
    transcript = [agent_turn(s, [held]), agent_turn(s, [ran]), agent_turn(s, [asked_again, declined, dropped])]

    figures = stats.aggregate(since, since + timedelta(hours=24), [s], {s.id: transcript}, [])

    assert (figures.tool_calls, figures.tool_failures) == (1, 0)
    assert (figures.hours[0].tool_calls, figures.hours[0].tool_failures) == (1, 0)


@pytest.mark.anyio
async def test_a_tool_call_event_reaches_the_live_feed_with_the_contract_keys_only(served: Served, dash: Dash) -> None:
    def first_turn() -> str:
        with httpx.Client(base_url=served.base_url, timeout=10.0) as http:
            return str(say(http, dash, "where is my order A123?")["session_id"])

    session_id = await anyio.to_thread.run_sync(first_turn)
    url = served.base_url.replace("http://", "ws://") + "/ws/dashboard"
    async with connect(url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": dash.token, "after": None}))
        with anyio.fail_after(WAIT):
            assert json.loads(await ws.recv())["type"] == "ready"
        await anyio.to_thread.run_sync(
            lambda: store_agent_turn(dash.platform, dash.acme.tenant_id, session_id, [LOOKUP])
        )
        with anyio.fail_after(WAIT):
            while (frame := json.loads(await ws.recv()))["event"] != "session.tool_call":
                pass
    assert frame["subject"] == session_id
    assert frame["data"] == event_data(session_id, dash.agent.id, LOOKUP)
    assert "arguments" not in frame["data"] and "A123" not in json.dumps(frame["data"])
