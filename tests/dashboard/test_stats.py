"""Chart figures: the pure aggregation, the bounded collection and the /api/v1/stats route."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from dashboard import stats
from oratio.ids import new_id
from schemas import Channel, Role, Session, SessionStatus, Turn, utcnow
from tests.dashboard.dash import Dash, say

SINCE = datetime(2030, 1, 1, 0, 0, tzinfo=UTC)
TENANT = "ten_stats"


def session(at: datetime, status: SessionStatus = SessionStatus.COMPLETED) -> Session:
    return Session(
        tenant_id=TENANT, id=new_id("session"), agent_id="agt_a", channel=Channel.TEXT, status=status, started_at=at
    )


def turns(s: Session, *gaps_ms: int) -> list[Turn]:
    """A customer turn then an agent turn `gap` later, for each gap, starting at the session's start."""
    found: list[Turn] = []
    at = s.started_at
    for gap in gaps_ms:
        for role, when in ((Role.CUSTOMER, at), (Role.AGENT, at + timedelta(milliseconds=gap))):
            found.append(
                Turn(tenant_id=TENANT, session_id=s.id, seq=len(found) + 1, role=role, text="x", started_at=when)
            )
        at += timedelta(minutes=1)
    return found


def test_aggregate_counts_per_hour_handoffs_and_reply_latency() -> None:
    early = [session(SINCE + timedelta(minutes=5)), session(SINCE + timedelta(minutes=50))]
    waiting = session(SINCE + timedelta(hours=5, minutes=1), SessionStatus.HANDOFF_REQUESTED)
    handed_then_ended = session(SINCE + timedelta(hours=5, minutes=2))
    before = session(SINCE - timedelta(minutes=1), SessionStatus.HANDOFF_REQUESTED)
    everything = [*early, waiting, handed_then_ended, before]
    transcripts = {
        early[0].id: turns(early[0], 1500, 500),
        waiting.id: turns(waiting, 4000),
        before.id: turns(before, 9),
    }

    figures = stats.aggregate(SINCE, SINCE + timedelta(hours=24), everything, transcripts, [handed_then_ended.id])

    assert len(figures.hours) == stats.WINDOW_HOURS and figures.hours[5].start == SINCE + timedelta(hours=5)
    assert [h.sessions for h in figures.hours[:6]] == [2, 0, 0, 0, 0, 2]
    assert [h.handoffs for h in figures.hours[:6]] == [0, 0, 0, 0, 0, 2]
    assert (figures.sessions, figures.handoffs, figures.handoff_rate) == (4, 2, 0.5)
    assert [h.avg_latency_ms for h in figures.hours[:6]] == [1000.0, None, None, None, None, 4000.0]
    assert figures.avg_latency_ms == 2000.0
    assert figures.truncated is False


def test_aggregate_of_nothing_has_no_rates() -> None:
    figures = stats.aggregate(SINCE, SINCE, [], {}, [])
    assert (figures.sessions, figures.handoff_rate, figures.avg_latency_ms) == (0, None, None)


def test_the_stats_route_reads_only_the_tenants_own_sessions(http: httpx.Client, dash: Dash) -> None:
    first = say(http, dash, "hello")
    say(http, dash, "and again", str(first["session_id"]))
    handed = say(http, dash, "get me a person")
    theirs_turn = dash.platform.engine.turn(dash.globex.tenant_id, dash.globex_agent.id, None, "hi", Channel.TEXT)
    for tenant, session_id in (
        (dash.acme.tenant_id, str(first["session_id"])),
        (dash.acme.tenant_id, str(handed["session_id"])),
        (dash.globex.tenant_id, theirs_turn.session_id),
    ):
        dash.platform.sessions.end(tenant, session_id, "ended by the agent")
    assert dash.platform.analyses.run_pending() == 3

    figures = http.get("/api/v1/stats?range=today", headers=dash.bearer()).json()

    assert (figures["conversations"], figures["handoff_rate"]) == (2, 0.5)
    [text, _] = figures["latency"]
    assert text["turns"] == 3 and text["p50_ms"] is not None and text["p50_ms"] >= 0
    assert len(figures["days"]) == 1 and figures["days"][0]["conversations"] == 2
    theirs = http.get("/api/v1/stats?range=today", headers=dash.bearer(dash.globex_token)).json()
    assert (theirs["conversations"], theirs["handoff_rate"]) == (1, 0)


def test_collection_is_capped_and_says_so(dash: Dash, monkeypatch: pytest.MonkeyPatch) -> None:
    p = dash.platform
    for text in ("one", "two", "three"):
        p.engine.turn(dash.acme.tenant_id, dash.agent.id, None, text, Channel.TEXT)
    monkeypatch.setattr(stats, "MAX_SESSIONS", 2)

    figures = stats.collect(p, dash.acme.principal, utcnow())

    assert (figures.sessions, figures.truncated) == (2, True)
