"""The dashboard's first paint in few round trips (issue 22: each page's first meaningful paint <= 300 ms with 10k
sessions; bench/dashboard_paint.py measures it): the live list brings each session's last turns (one request fills
every Live card), a signed-in answer says what /api/v1/me says and the event cursor (the page reads its lists at
once and follows the live feed from that cursor), and the page makes neither the per-card reads nor /api/v1/me."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from playwright.sync_api import Page, Request, expect

from schemas import Channel
from tests.dashboard.dash import Dash, say
from tests.dashboard.test_browser import browser, page
from tests.support.oauth import person
from tests.support.serving import Served
from tests.support.signin import PASSWORD, json_post

__all__ = ["browser", "page"]

EMAIL = "robin@acme.example"
WAIT_MS = 60_000


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"password_memory_kib": 8 * 1024}


@pytest.fixture
def signed_in_client(served: Served, dash: Dash) -> Iterator[tuple[httpx.Client, dict[str, Any]]]:
    """A browser-like client signed in with a password, and the sign-in's answer."""
    person(dash.platform, dash.acme, EMAIL)
    with httpx.Client(base_url=served.base_url, timeout=60.0) as client:
        answer = json_post(client, "/api/v1/auth/sign-in", {"email": EMAIL, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        yield client, answer.json()


def test_the_live_list_brings_each_sessions_last_turns_oldest_first(http: httpx.Client, dash: Dash) -> None:
    first = str(say(http, dash, "Where is my parcel?")["session_id"])
    say(http, dash, "It has a blue label", first)
    second = str(say(http, dash, "I want a person now")["session_id"])  # waits for a person: live too
    theirs = dash.platform.engine.turn(dash.globex.tenant_id, dash.globex_agent.id, None, "Hello", Channel.TEXT)

    live = http.get("/api/v1/sessions/live", params={"turns": 3}, headers=dash.bearer()).json()
    by_id = {s["id"]: s for s in live["sessions"]}
    assert set(by_id) == {first, second}  # never Globex's
    assert theirs.session_id not in by_id
    assert [(t["seq"], t["text"]) for t in by_id[first]["turns"]] == [
        (2, "You said: Where is my parcel?. Anything else?"),
        (3, "It has a blue label"),
        (4, "You said: It has a blue label. Anything else?"),
    ]
    assert [t["seq"] for t in by_id[second]["turns"]][0] == 1
    assert {t["session_id"] for t in by_id[second]["turns"]} == {second}

    plain = http.get("/api/v1/sessions/live", headers=dash.bearer()).json()  # as before: no turns unless asked
    assert {s["id"] for s in plain["sessions"]} == {first, second}
    assert all("turns" not in s for s in plain["sessions"])


@pytest.mark.parametrize("turns", ["51", "-1", "many", "2.5"])
def test_a_bad_turns_count_is_a_clear_4xx(http: httpx.Client, dash: Dash, turns: str) -> None:
    most = http.get("/api/v1/sessions/live", params={"turns": 50}, headers=dash.bearer())
    assert most.status_code == 200, most.text
    response = http.get("/api/v1/sessions/live", params={"turns": turns}, headers=dash.bearer())
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_input"
    assert "turns" in response.json()["message"]


def test_a_signed_in_answer_names_the_tenant_and_the_event_cursor(
    signed_in_client: tuple[httpx.Client, dict[str, Any]], http: httpx.Client, dash: Dash
) -> None:
    client, answer = signed_in_client
    events = dash.platform.backends.events
    acme = dash.acme.tenant_id
    assert answer["tenant"] == {"id": acme, "name": "Acme"}
    assert answer["scopes"] and answer["scopes"] == sorted(answer["scopes"])
    before = events.head(acme)
    assert answer["cursor"] == before.token()  # the opaque token the live feed takes as `after`

    say(http, dash, "Where is my parcel?")  # events after the sign-in: the next answer's cursor is past them
    resumed = client.get("/api/v1/auth/session").json()
    assert resumed["signed_in"] is True
    assert resumed["tenant"] == {"id": acme, "name": "Acme"}
    after = events.head(acme)
    assert resumed["cursor"] == after.token() and after.covers(before) and after != before
    me = http.get("/api/v1/me", headers=dash.bearer()).json()
    assert me["cursor"] == after.token()
    theirs = http.get("/api/v1/me", headers=dash.bearer(dash.globex_token)).json()
    assert theirs["cursor"] == events.head(dash.globex.tenant_id).token()  # their own log's head, not Acme's


def test_live_cards_fill_from_one_request_and_then_follow_the_feed(
    page: Page, served: Served, http: httpx.Client, dash: Dash
) -> None:
    person(dash.platform, dash.acme, EMAIL)
    ids = [str(say(http, dash, f"Where is my order {n}?")["session_id"]) for n in range(3)]
    paths: list[str] = []

    def note(request: Request) -> None:
        url = urlparse(request.url)
        if url.path.startswith("/api/"):
            paths.append(f"{url.path}?{url.query}")

    page.on("request", note)
    page.goto(served.url("/dashboard"))
    page.fill("#signin-email", EMAIL)
    page.fill("#signin-password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    cards = page.locator("#live-sessions .session-card")
    expect(cards).to_have_count(3, timeout=WAIT_MS)
    for session_id in ids:
        expect(page.locator(f'.session-card[data-session="{session_id}"] .turn')).to_have_count(2, timeout=WAIT_MS)

    # A turn after the page showed arrives through the live feed, which follows from the sign-in answer's cursor.
    say(http, dash, "It has a blue label", ids[0])
    expect(page.locator(f'.session-card[data-session="{ids[0]}"] .turn')).to_have_count(4, timeout=WAIT_MS)
    expect(page.locator("#conn")).to_have_text("live", timeout=WAIT_MS)

    page.reload()  # a returning admin: the HTML carries the cookie's signed-in answer (test_signed_in_page)
    for session_id in ids:
        expect(page.locator(f'.session-card[data-session="{session_id}"] .turn')).not_to_have_count(0, timeout=WAIT_MS)
    expect(page.locator(f'.session-card[data-session="{ids[0]}"] .turn')).to_have_count(4, timeout=WAIT_MS)

    assert not [p for p in paths if p.startswith("/api/v1/sessions/ses_")], paths  # no read per card
    assert not [p for p in paths if p.startswith("/api/v1/me?")], paths  # the sign-in answer said it
    live = [p for p in paths if p.startswith("/api/v1/sessions/live?")]
    assert live and all("turns=" in p for p in live), paths
