"""History's export: `GET /api/v1/sessions/export` downloads what History's filters find, as CSV or JSON.

Through `oratio serve`'s app on a real socket: real customer turns through the runtime, real
post-call analyses, the admin's token. The rows are the service's export (`AnalysisService.export`,
as MCP `export_sessions`); this checks the door: auth, filters, the attachment, limits, refusals.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import httpx
import pytest

from dashboard.export import COUNT_HEADER, TRUNCATED_HEADER
from oratio.services.analysis import EXPORT_DAYS_MAX
from schemas import utcnow
from tests.dashboard.dash import Dash, say

EXPORT = "/api/v1/sessions/export"


def finished(http: httpx.Client, dash: Dash) -> tuple[str, str]:
    """Two analysed sessions of Acme's agent: one resolved, one handed off to a person."""
    resolved = str(say(http, dash, "hello")["session_id"])
    dash.platform.sessions.end(dash.acme.tenant_id, resolved, "ended by the agent")
    handed = str(say(http, dash, "get me a person")["session_id"])
    dash.platform.sessions.end(dash.acme.tenant_id, handed, "closed by a human")
    assert dash.platform.analyses.run_pending() == 2
    return resolved, handed


def test_csv_download_of_the_last_days_with_its_analysis(http: httpx.Client, dash: Dash) -> None:
    resolved, handed = finished(http, dash)

    response = http.get(EXPORT, headers=dash.bearer())

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    today = utcnow()
    window = f"{today - timedelta(days=EXPORT_DAYS_MAX):%Y%m%d}-{today:%Y%m%d}"
    assert response.headers["content-disposition"] == f'attachment; filename="oratio-sessions-{window}.csv"'
    assert (response.headers[COUNT_HEADER], response.headers[TRUNCATED_HEADER]) == ("2", "false")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    outcomes = {row["session_id"]: row["outcome"] for row in rows}
    assert outcomes == {resolved: "resolved", handed: "handed_off"}


def test_json_download_with_history_filters(http: httpx.Client, dash: Dash) -> None:
    _, handed = finished(http, dash)
    start = utcnow() - timedelta(hours=1)
    params = {
        "format": "json",
        "outcome": "handed_off",
        "agent_id": dash.agent.id,
        "channel": "text",
        "started_after": start.isoformat(),
        "started_before": (start + timedelta(hours=2)).isoformat(),
    }

    response = http.get(EXPORT, params=params, headers=dash.bearer())

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"].endswith('.json"')
    rows = json.loads(response.text)
    assert [row["session_id"] for row in rows] == [handed]
    assert response.headers[COUNT_HEADER] == "1"


def test_another_tenants_sessions_are_never_exported(http: httpx.Client, dash: Dash) -> None:
    finished(http, dash)
    response = http.get(EXPORT, params={"format": "json"}, headers=dash.bearer(dash.globex_token))
    assert response.status_code == 200
    assert response.headers[COUNT_HEADER] == "0"
    assert dash.acme.tenant_id not in response.text and dash.agent.id not in response.text


def test_the_export_needs_a_valid_admin_token(http: httpx.Client) -> None:
    assert http.get(EXPORT).status_code == 401
    assert http.get(EXPORT, headers={"Authorization": "Bearer nope"}).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"format": "xlsx"}, "format"),
        ({"q": "router"}, "q"),
        ({"started_after": "2030-01-01T00:00:00Z", "started_before": "2030-03-01T00:00:00Z"}, "started_before"),
        ({"started_after": "2030-02-01T00:00:00Z", "started_before": "2030-01-01T00:00:00Z"}, "started_after"),
        ({"started_after": "yesterday"}, "started_after"),
        ({"outcome": "great"}, "outcome"),
    ],
)
def test_bad_filters_are_a_clear_4xx(http: httpx.Client, dash: Dash, params: dict[str, str], field: str) -> None:
    response = http.get(EXPORT, params=params, headers=dash.bearer())
    assert 400 <= response.status_code < 500
    body = response.json()
    assert body["field"].split(".")[0] == field, body
    assert body["message"]
