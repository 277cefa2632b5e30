"""GET /api/v1/stats: a range by name or by days, one agent's figures, and a clear 4xx for every bad query."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from schemas import utcnow
from tests.dashboard.dash import Dash, say


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"stats_max_days": 31}


def ended(http: httpx.Client, dash: Dash, message: str) -> str:
    session_id = str(say(http, dash, message)["session_id"])
    dash.platform.sessions.end(dash.acme.tenant_id, session_id, "ended by the agent")
    return session_id


def test_a_range_by_name_by_days_and_for_one_agent(http: httpx.Client, dash: Dash) -> None:
    ended(http, dash, "hello")
    ended(http, dash, "get me a person")
    assert dash.platform.analyses.run_pending() == 2
    today = utcnow().date()

    month = http.get("/api/v1/stats?range=30d", headers=dash.bearer()).json()
    custom = http.get(
        f"/api/v1/stats?since={today - timedelta(days=2)}&until={today}&agent_id={dash.agent.id}",
        headers=dash.bearer(),
    ).json()

    assert (month["since"], month["until"], len(month["days"])) == (str(today - timedelta(days=29)), str(today), 30)
    assert (month["conversations"], month["handoff_rate"], month["resolution_rate"]) == (2, 0.5, 0.5)
    assert [lat["channel"] for lat in month["latency"]] == ["text", "voice"]
    assert (custom["agent_id"], custom["conversations"], len(custom["days"])) == (dash.agent.id, 2, 3)
    other = http.get(f"/api/v1/stats?agent_id={dash.globex_agent.id}", headers=dash.bearer())
    assert other.status_code == 404 and other.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("range=90d", "range"),
        ("since=yesterday", "since"),
        ("since=2030-02-30", "since"),
        ("since=2030-01-10&until=2030-01-01", "until is before since"),
        ("since=2030-01-01&until=2030-03-01", "at most 31 days"),
        ("range=7d&since=2030-01-01", "not both"),
        ("until=2030-01-01", "until needs since"),
        ("agent_id=AGENT!", "agent_id"),
        ("agent_id=agt_unknown", "agt_unknown"),
        ("range=7d&range=30d", "more than once"),
    ],
)
def test_bad_queries_are_refused_with_a_4xx_saying_why(
    http: httpx.Client, dash: Dash, query: str, fragment: str
) -> None:
    response = http.get(f"/api/v1/stats?{query}", headers=dash.bearer())
    assert 400 <= response.status_code < 500, response.text
    assert fragment in response.json()["message"]
