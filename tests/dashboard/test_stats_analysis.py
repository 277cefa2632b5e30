"""Post-call charts: resolution rate, outcomes, top handoff reasons and average handling time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from dashboard import stats
from oratio.analysis import analyse
from oratio.ids import new_id
from schemas import Channel, Role, Session, SessionStatus, Turn
from tests.dashboard.dash import HANDOFF_REASON, Dash, say

SINCE = datetime(2030, 1, 1, 0, 0, tzinfo=UTC)
TENANT = "ten_stats"


def ended(minutes: int, seconds: int, status: SessionStatus = SessionStatus.COMPLETED, **changes: object) -> Session:
    at = SINCE + timedelta(minutes=minutes)
    base = Session(
        tenant_id=TENANT,
        id=new_id("session"),
        agent_id="agt_a",
        channel=Channel.TEXT,
        status=status,
        started_at=at,
        ended_at=at + timedelta(seconds=seconds),
        end_reason="ended by the agent",
    )
    return base.model_copy(update=changes)


def said(s: Session) -> list[Turn]:
    return [Turn(tenant_id=TENANT, session_id=s.id, seq=1, role=Role.CUSTOMER, text="hi", started_at=s.started_at)]


def test_aggregate_rates_outcomes_reasons_and_handling_time() -> None:
    resolved = [ended(1, 60), ended(2, 120)]
    handed = [ended(3, 30, handoff_reason="legal"), ended(4, 90, handoff_reason="legal")]
    other = ended(5, 300, handoff_reason="asked for a person")
    failed = ended(6, 0, SessionStatus.ERROR)
    live = Session(tenant_id=TENANT, id=new_id("session"), agent_id="agt_a", channel=Channel.TEXT, started_at=SINCE)
    everything = [*resolved, *handed, other, failed, live]
    analysed = [*resolved, *handed, failed]  # `other` ended but is not analysed yet
    analyses = {s.id: analyse(s, said(s), None, SINCE) for s in analysed}

    figures = stats.aggregate(SINCE, SINCE + timedelta(hours=1), everything, {}, [], analyses=analyses)

    assert figures.analysed == 5
    assert figures.outcomes == {"resolved": 2, "handed_off": 2, "failed": 1}
    assert figures.resolution_rate == 0.4
    assert figures.top_handoff_reasons == [("legal", 2), ("asked for a person", 1)]
    assert figures.avg_handling_s == 100.0  # (60 + 120 + 30 + 90 + 300 + 0) / 6; the live one has no end


def test_no_analyses_means_no_resolution_rate() -> None:
    figures = stats.aggregate(SINCE, SINCE, [], {}, [])
    assert (figures.analysed, figures.resolution_rate, figures.top_handoff_reasons, figures.avg_handling_s) == (
        0,
        None,
        [],
        None,
    )


def test_the_stats_route_shows_the_analysed_sessions(http: httpx.Client, dash: Dash) -> None:
    first = say(http, dash, "hello")
    dash.platform.sessions.end(dash.acme.tenant_id, str(first["session_id"]), "ended by the agent")
    handed = say(http, dash, "get me a person")
    dash.platform.sessions.end(dash.acme.tenant_id, str(handed["session_id"]), "closed by a human")
    assert dash.platform.analyses.run_pending() == 2

    figures = http.get("/api/v1/stats", headers=dash.bearer()).json()

    assert (figures["conversations"], figures["resolution_rate"]) == (2, 0.5)
    assert figures["outcomes"] == {"resolved": 1, "handed_off": 1}
    assert figures["top_handoff_reasons"] == [{"name": HANDOFF_REASON, "count": 1}]
    assert figures["avg_handling_s"] is not None
    detail = http.get(f"/api/v1/sessions/{handed['session_id']}", headers=dash.bearer()).json()
    assert detail["analysis"]["outcome"] == "handed_off" and detail["analysis"]["method"] == "rules"
    theirs = http.get("/api/v1/stats", headers=dash.bearer(dash.globex_token)).json()
    assert (theirs["conversations"], theirs["top_handoff_reasons"]) == (0, [])
    by_outcome = http.get("/api/v1/sessions?outcome=handed_off", headers=dash.bearer()).json()
    assert [s["id"] for s in by_outcome["sessions"]] == [handed["session_id"]]
    refused = http.get("/api/v1/sessions?outcome=happy", headers=dash.bearer())
    assert refused.status_code == 422 and "outcome" in refused.text
