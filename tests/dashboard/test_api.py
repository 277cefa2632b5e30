"""The dashboard's JSON API through a real uvicorn: auth, tenancy, filters and search, writes, limits."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from oratio.ids import new_id
from oratio.services.outbox import webhook_delivery
from oratio.store.tables import DOCUMENTS, OUTBOX, SESSIONS
from schemas import Channel, DeliveryStatus, DocumentStatus, NotificationStatus, NotificationType, Role, SessionStatus
from schemas.sessions import TurnLock
from tests.dashboard.dash import HANDOFF_REASON, Dash, say, token_for
from tests.support.tenants import doc

ROUTES = [
    "/api/v1/agents",
    "/api/v1/agents/{agent}/documents",
    "/api/v1/sessions",
    "/api/v1/sessions/live",
    "/api/v1/notifications",
    "/api/v1/deliveries",
    "/api/v1/keys",
    "/api/v1/stats",
    "/api/v1/sessions/export",
]


def assert_error(response: httpx.Response, status: int, code: str, fragment: str = "") -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code
    assert fragment in body["message"]


@pytest.mark.parametrize("path", ROUTES)
def test_every_route_needs_a_valid_unexpired_admin_token(http: httpx.Client, dash: Dash, path: str) -> None:
    path = path.format(agent=dash.agent.id)
    assert_error(http.get(path), 401, "unauthenticated", "Bearer")
    assert_error(http.get(path, headers=dash.bearer("not-a-jwt")), 401, "unauthenticated")
    expired = token_for(dash.platform, dash.acme.principal, expired=True)
    response = http.get(path, headers=dash.bearer(expired))
    assert_error(response, 401, "unauthenticated", "expired")
    assert "invalid_token" in response.headers["www-authenticate"]
    assert http.get(path, headers=dash.bearer()).status_code == 200


def test_agents_are_the_tenants_own_with_status_and_no_sop(http: httpx.Client, dash: Dash) -> None:
    body = http.get("/api/v1/agents", headers=dash.bearer()).json()
    assert [(a["id"], a["name"], a["status"]) for a in body["agents"]] == [(dash.agent.id, "Support", "active")]
    assert "sop" not in body["agents"][0] and "spec" not in body["agents"][0]
    globex = http.get("/api/v1/agents", headers=dash.bearer(dash.globex_token)).json()
    assert [a["id"] for a in globex["agents"]] == [dash.globex_agent.id]
    creating = http.get("/api/v1/agents?status=creating", headers=dash.bearer()).json()
    assert creating["agents"] == []


def test_an_agents_documents_by_page_with_their_indexing_progress(http: httpx.Client, dash: Dash) -> None:
    principal = dash.acme.principal
    for n in range(3):
        dash.platform.documents.upload(principal, dash.agent.id, doc(f"policy-{n}.md", b"# Policy\nText."))
    [held] = [d for d in dash.platform.documents.list(principal, dash.agent.id).items if d.name == "policy-1.md"]
    # What a document mid-ingestion looks like on its record (the background worker writes it so).
    dash.platform.backends.store.replace(
        DOCUMENTS, held.model_copy(update={"status": DocumentStatus.INGESTING, "chunks_done": 40, "chunks_total": 300})
    )
    path = f"/api/v1/agents/{dash.agent.id}/documents"

    first = http.get(f"{path}?limit=2", headers=dash.bearer()).json()
    rest = http.get(f"{path}?limit=2&cursor={first['next_cursor']}", headers=dash.bearer()).json()

    listed = first["documents"] + rest["documents"]
    assert rest["next_cursor"] is None and len(first["documents"]) == 2
    assert [(d["name"], d["status"], d["progress"]) for d in listed] == [
        ("policy-0.md", "ready", None),
        ("policy-1.md", "ingesting", {"done": 40, "total": 300}),
        ("policy-2.md", "ready", None),
    ]
    other = http.get(f"/api/v1/agents/{dash.globex_agent.id}/documents", headers=dash.bearer())
    assert_error(other, 404, "not_found")


def test_sessions_filters_search_and_transcripts(http: httpx.Client, dash: Dash) -> None:
    first = say(http, dash, "Where is my parcel?")
    say(http, dash, "It has a blue label", str(first["session_id"]))
    second = say(http, dash, "I want a person now")
    headers = dash.bearer()

    listed = http.get("/api/v1/sessions", headers=headers).json()
    assert [s["id"] for s in listed["sessions"]] == [second["session_id"], first["session_id"]]
    handed = http.get("/api/v1/sessions?status=handoff_requested", headers=headers).json()
    assert [s["id"] for s in handed["sessions"]] == [second["session_id"]]
    found = http.get("/api/v1/sessions", params={"q": "BLUE label"}, headers=headers).json()
    assert [s["id"] for s in found["sessions"]] == [first["session_id"]]
    by_agent = http.get("/api/v1/sessions", params={"agent_id": dash.agent.id, "channel": "voice"}, headers=headers)
    assert by_agent.json()["sessions"] == []
    future = http.get("/api/v1/sessions", params={"started_after": "2999-01-01T00:00:00Z"}, headers=headers)
    assert future.json()["sessions"] == []
    live = http.get("/api/v1/sessions/live", headers=headers).json()
    assert {s["id"]: s["status"] for s in live["sessions"]} == {
        first["session_id"]: SessionStatus.ACTIVE.value,
        second["session_id"]: SessionStatus.HANDOFF_REQUESTED.value,
    }

    transcript = http.get(f"/api/v1/sessions/{first['session_id']}", headers=headers).json()
    assert transcript["session"]["channel"] == Channel.TEXT.value
    assert [(t["role"], t["text"]) for t in transcript["turns"]] == [
        (Role.CUSTOMER.value, "Where is my parcel?"),
        (Role.AGENT.value, "You said: Where is my parcel?. Anything else?"),
        (Role.CUSTOMER.value, "It has a blue label"),
        (Role.AGENT.value, "You said: It has a blue label. Anything else?"),
    ]


def test_another_tenants_ids_read_as_unknown(http: httpx.Client, dash: Dash) -> None:
    theirs = dash.platform.engine.turn(
        dash.globex.tenant_id, dash.globex_agent.id, None, "I need a human", Channel.TEXT
    )
    [their_note] = dash.platform.notifications.list(dash.globex.principal).items
    [their_key] = dash.platform.keys.list(dash.globex.principal).items
    headers = dash.bearer()

    assert_error(http.get(f"/api/v1/sessions/{theirs.session_id}", headers=headers), 404, "not_found")
    assert_error(http.post(f"/api/v1/notifications/{their_note.id}/acknowledge", headers=headers), 404, "not_found")
    assert_error(http.post(f"/api/v1/notifications/{their_note.id}/read", headers=headers), 404, "not_found")
    assert_error(http.post(f"/api/v1/keys/{their_key.id}/revoke", headers=headers), 404, "not_found")
    assert_error(
        http.post("/api/v1/keys", json={"agent_id": dash.globex_agent.id, "name": "x"}, headers=headers),
        404,
        "not_found",
    )
    assert http.get("/api/v1/sessions", params={"q": "human"}, headers=headers).json()["sessions"] == []
    assert http.get("/api/v1/notifications", headers=headers).json()["notifications"] == []
    assert dash.platform.notifications.get(dash.globex.principal, their_note.id).status is NotificationStatus.UNREAD
    assert dash.platform.keys.list(dash.globex.principal).items[0].revoked_at is None


def test_notifications_mark_read_and_acknowledge(http: httpx.Client, dash: Dash) -> None:
    handed = say(http, dash, "A person please")
    headers = dash.bearer()
    [note] = http.get("/api/v1/notifications", headers=headers).json()["notifications"]
    assert (note["type"], note["session_id"], note["status"]) == (
        NotificationType.HANDOFF.value,
        handed["session_id"],
        "unread",
    )
    assert HANDOFF_REASON in note["body"]

    read = http.post(f"/api/v1/notifications/{note['id']}/read", headers=headers)
    assert read.status_code == 200 and read.json()["status"] == "read"
    acked = http.post(f"/api/v1/notifications/{note['id']}/acknowledge", headers=headers)
    assert acked.status_code == 200 and acked.json()["acknowledged_by"] == dash.acme.principal.subject
    assert_error(http.post(f"/api/v1/notifications/{note['id']}/acknowledge", headers=headers), 409, "invalid_state")
    unread = http.get("/api/v1/notifications?status=unread", headers=headers).json()
    assert unread["notifications"] == []
    stored = dash.platform.notifications.get(dash.acme.principal, note["id"])
    assert stored.status is NotificationStatus.ACKNOWLEDGED


def test_keys_mint_shows_the_secret_once_and_revoke_stops_it(http: httpx.Client, dash: Dash) -> None:
    headers = dash.bearer()
    minted = http.post(
        "/api/v1/keys", json={"agent_id": dash.agent.id, "name": "kiosk", "ttl_days": 30}, headers=headers
    )
    assert minted.status_code == 201, minted.text
    secret, key = minted.json()["secret"], minted.json()["key"]
    assert secret.startswith(key["prefix"]) and key["expires_at"] is not None

    listed = http.get("/api/v1/keys", headers=headers)
    assert key["id"] in {k["id"] for k in listed.json()["keys"]}
    assert secret not in listed.text
    works = http.post(
        f"/runtime/agents/{dash.agent.id}/invocations", json={"message": "hi"}, headers={"X-Api-Key": secret}
    )
    assert works.status_code == 200

    revoked = http.post(f"/api/v1/keys/{key['id']}/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    refused = http.post(
        f"/runtime/agents/{dash.agent.id}/invocations", json={"message": "hi"}, headers={"X-Api-Key": secret}
    )
    assert refused.status_code == 401
    assert_error(http.post(f"/api/v1/keys/{key['id']}/revoke", headers=headers), 409, "invalid_state", "already")


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("GET", "/api/v1/sessions?limit=0", None, "limit"),
        ("GET", "/api/v1/sessions?limit=201", None, "limit"),
        ("GET", "/api/v1/sessions?limit=abc", None, "limit"),
        ("GET", "/api/v1/sessions?status=lost", None, "status"),
        ("GET", "/api/v1/sessions?channel=fax", None, "channel"),
        ("GET", "/api/v1/sessions?started_after=yesterday", None, "started_after"),
        ("GET", "/api/v1/sessions?started_after=2030-01-01T00:00:00", None, "started_after"),
        ("GET", "/api/v1/sessions?agent_id=../etc", None, "agent_id"),
        ("GET", "/api/v1/sessions?q=" + "x" * 201, None, "q"),
        ("GET", "/api/v1/sessions?colour=red", None, "colour"),
        ("GET", "/api/v1/sessions?limit=1&limit=2", None, "limit"),
        (
            "GET",
            "/api/v1/sessions?started_after=2030-02-01T00:00:00Z&started_before=2030-01-01T00:00:00Z",
            None,
            "started_after",
        ),
        ("GET", "/api/v1/sessions?cursor=forged", None, None),
        ("GET", "/api/v1/sessions/not-an-id", None, "session_id"),
        ("GET", "/api/v1/notifications?status=seen", None, "status"),
        ("POST", "/api/v1/notifications/ntf_x!/acknowledge", None, "notification_id"),
        ("POST", "/api/v1/keys", b"{", None),
        ("POST", "/api/v1/keys", b"[]", None),
        ("POST", "/api/v1/keys", b'{"agent_id": "agt_1", "name": ""}', "name"),
        ("POST", "/api/v1/keys", b'{"agent_id": "agt_1", "name": "k", "ttl_days": 0}', "ttl_days"),
        ("POST", "/api/v1/keys", b'{"agent_id": "agt_1", "name": "k", "secret": "mine"}', "secret"),
        ("GET", "/api/v1/keys?agent_id=AGT", None, "agent_id"),
        ("GET", "/api/v1/agents?status=sleeping", None, "status"),
    ],
)
def test_bad_input_is_a_clear_422_never_a_500(
    http: httpx.Client, dash: Dash, method: str, path: str, body: bytes | None, field: str | None
) -> None:
    response = http.request(method, path, content=body, headers=dash.bearer())
    assert_error(response, 422, "invalid_input")
    if field is not None:
        assert response.json().get("field", "").startswith(field), response.json()


def test_an_oversized_body_is_413_like_every_door(http: httpx.Client, dash: Dash) -> None:
    response = http.post("/api/v1/keys", content=b'{"name": "' + b"k" * 20_000 + b'"}', headers=dash.bearer())
    assert_error(response, 413, "payload_too_large")


def test_unknown_ids_are_404(http: httpx.Client, dash: Dash) -> None:
    headers = dash.bearer()
    assert_error(http.get(f"/api/v1/sessions/{new_id('session')}", headers=headers), 404, "not_found")
    assert_error(http.post(f"/api/v1/notifications/{new_id('notification')}/read", headers=headers), 404, "not_found")
    assert_error(http.post(f"/api/v1/keys/{new_id('key')}/revoke", headers=headers), 404, "not_found")


def test_the_page_is_served_with_a_strict_policy(http: httpx.Client) -> None:
    home = http.get("/")
    assert home.status_code == 307 and home.headers["location"] == "/dashboard"
    page = http.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    # The page loads app.js and its imports as one bundle (dashboard/bundle.py) from a versioned URL.
    assert re.search(r'<script src="/dashboard/v/[0-9a-f]{16}/bundle\.js" type="module">', page.text)
    # Every module the entry imports (transitively) is served from this origin as JavaScript, without innerHTML.
    pending, seen = ["app.js"], set()
    while pending:
        name = pending.pop()
        seen.add(name)
        script = http.get(f"/dashboard/{name}")
        assert script.status_code == 200, name
        assert script.headers["content-type"].startswith("text/javascript") and "innerHTML" not in script.text
        assert script.headers["content-security-policy"] == policy
        pending += [m for m in re.findall(r'^import .* from "\./([a-z]+\.js)";$', script.text, re.M) if m not in seen]
    assert {"app.js", "api.js", "dom.js", "connection.js"} <= seen
    assert http.get("/dashboard/style.css").headers["content-type"].startswith("text/css")
    assert http.get("/dashboard/../pyproject.toml").status_code == 404


def test_dead_deliveries_are_listed_and_retried_by_their_own_tenant_only(http: httpx.Client, dash: Dash) -> None:
    platform = dash.platform
    row = webhook_delivery(
        platform.backends,
        dash.acme.tenant_id,
        "http://127.0.0.1:9/their-secret-path",
        "handoff.requested",
        {},
        max_attempts=3,
    )
    dead = row.model_copy(update={"status": DeliveryStatus.DEAD, "attempts": 3, "last_error": "HTTP 500"})
    platform.backends.store.insert(OUTBOX, dead)

    listed = http.get("/api/v1/deliveries?status=dead", headers=dash.bearer())
    assert listed.status_code == 200, listed.text
    [shown] = listed.json()["deliveries"]
    assert (shown["id"], shown["status"], shown["last_error"]) == (dead.id, "dead", "HTTP 500")
    assert shown["destination"] == "http://127.0.0.1:9" and "their-secret-path" not in listed.text
    assert http.get("/api/v1/deliveries", headers=dash.bearer(dash.globex_token)).json()["deliveries"] == []
    assert_error(
        http.post(f"/api/v1/deliveries/{dead.id}/retry", headers=dash.bearer(dash.globex_token)), 404, "not_found"
    )
    assert_error(http.get("/api/v1/deliveries?status=lost", headers=dash.bearer()), 422, "invalid_input", "status")
    assert_error(http.post("/api/v1/deliveries/dlv_x!/retry", headers=dash.bearer()), 422, "invalid_input")

    retried = http.post(f"/api/v1/deliveries/{dead.id}/retry", headers=dash.bearer())

    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
    assert platform.handoff.flush(30.0)  # refused again (a private address): dead once more, after one attempt
    again = http.get("/api/v1/deliveries", headers=dash.bearer()).json()["deliveries"]
    assert [(d["status"], d["attempts"]) for d in again] == [("dead", 1)]


def test_a_sessions_turn_lock_is_in_no_answer_of_the_api(http: httpx.Client, dash: Dash) -> None:
    """Mid-turn a session holds a lock naming the serving process and the turn's token: internal ids."""
    said = say(http, dash, "Where is my parcel?")
    assert "turn_lock" not in json.dumps(said)  # the runtime's own answer
    session_id = str(said["session_id"])
    session = dash.platform.sessions.record(dash.acme.tenant_id, session_id)
    lock = TurnLock(owner="own_replica_internal", token="trn_internal", until=session.last_activity_at)
    dash.platform.backends.store.replace(SESSIONS, session.model_copy(update={"turn_lock": lock}))

    for path in [f"/api/v1/sessions/{session_id}", "/api/v1/sessions", "/api/v1/sessions/live?turns=2"]:
        response = http.get(path, headers=dash.bearer())
        assert response.status_code == 200, response.text
        assert session_id in response.text, path
        for internal in ("turn_lock", "trn_internal", "own_replica_internal"):
            assert internal not in response.text, (path, internal)
