"""The live card's handoff: Acknowledge moves the session (and the card, by its event); Take over,
Return and Close call the same service as MCP's tools. Refusals are JSON 4xx, never a 500."""

from __future__ import annotations

import httpx

from schemas import EventType, HandoffState, Role
from tests.dashboard.dash import Dash, say
from tests.support.tenants import events


def _handoff_events(dash: Dash) -> list[tuple[str, str | None]]:
    logged = events(dash.platform, dash.acme.tenant_id)
    return [(e.data["state"], e.data["by"]) for e in logged if e.type is EventType.SESSION_HANDOFF]


def test_acknowledge_changes_the_session_the_live_card_shows(http: httpx.Client, dash: Dash) -> None:
    session_id = str(say(http, dash, "A person please")["session_id"])
    headers = dash.bearer()
    [note] = http.get("/api/v1/notifications", headers=headers).json()["notifications"]

    acked = http.post(f"/api/v1/notifications/{note['id']}/acknowledge", headers=headers)

    assert acked.status_code == 200, acked.text
    card = http.get(f"/api/v1/sessions/{session_id}", headers=headers).json()
    assert card["session"]["handoff"]["state"] == HandoffState.ACKNOWLEDGED.value
    assert card["session"]["handoff"]["acknowledged_by"] == dash.acme.principal.subject
    assert _handoff_events(dash) == [("requested", None), ("acknowledged", dash.acme.principal.subject)]


def test_take_over_return_and_close_buttons(http: httpx.Client, dash: Dash) -> None:
    session_id = str(say(http, dash, "A person please")["session_id"])
    headers = dash.bearer()
    base = f"/api/v1/sessions/{session_id}/handoff"

    taken = http.post(f"{base}/take-over", headers=headers)
    paused = say(http, dash, "Hello? Is anyone there?", session_id)
    returned = http.post(f"{base}/return", headers=headers)
    again = http.post(f"{base}/return", headers=headers)
    closed = http.post(f"{base}/take-over", headers=headers), http.post(f"{base}/close", headers=headers)
    unknown = http.post(f"{base}/explode", headers=headers)

    assert taken.status_code == 200 and taken.json()["handoff"]["state"] == "taken_over"
    assert paused["paused"] is True
    assert returned.status_code == 200 and returned.json()["status"] == "active"
    assert again.status_code == 409 and again.json()["error"] == "invalid_state"
    assert [r.status_code for r in closed] == [200, 200] and closed[1].json()["status"] == "completed"
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    turns = dash.platform.sessions.get(dash.acme.principal, session_id).turns
    assert [t.role for t in turns].count(Role.SYSTEM) == 4


def test_another_tenants_session_is_not_found(http: httpx.Client, dash: Dash) -> None:
    session_id = str(say(http, dash, "A person please")["session_id"])

    refused = http.post(f"/api/v1/sessions/{session_id}/handoff/take-over", headers=dash.bearer(dash.globex_token))

    assert refused.status_code == 404 and refused.json()["error"] == "not_found"
