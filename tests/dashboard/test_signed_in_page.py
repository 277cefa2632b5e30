"""The /dashboard HTML carries the signed-in answer for a valid session cookie (issue 22: the first paint with no
sign-in round trip; dashboard/signed_in.py): only for a valid cookie (not for none, a garbage, an expired or a
signed-out one), only the cookie's own tenant, never kept by a cache, escaped so no byte of it ends its element;
and in Chromium the page then reads its lists at once, with no sign-in request and no list read twice."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from playwright.sync_api import Dialog, Page, Request, expect

from dashboard.credentials import COOKIE
from dashboard.signed_in import data_block
from oratio.auth.api_keys import hash_secret
from oratio.store.tables import BROWSER_SESSIONS
from tests.dashboard.dash import Dash, say
from tests.dashboard.test_browser import browser, page
from tests.support.oauth import person
from tests.support.serving import Served
from tests.support.signin import PASSWORD, json_post

__all__ = ["browser", "page"]

EMAIL = "robin@acme.example"
HOSTILE = "a</script><script>alert(1)</script><!--x@acme.example"
"""A valid address (no space, one @) that would end a naive script element and run a script after it."""
BLOCK = re.compile(r'<script type="application/json" id="oratio-signed-in">(.*?)</script>', re.S)
READS = (
    "/api/v1/agents?limit=200",
    "/api/v1/sessions/live?limit=20&turns=20",
    "/api/v1/notifications?limit=50",
    "/api/v1/keys?limit=200",
)
"""early.js's READS: the lists every signed-in page reads at once."""
WAIT_MS = 60_000


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"password_memory_kib": 8 * 1024}


def embedded(page: httpx.Response) -> dict[str, Any] | None:
    """The signed-in answer the HTML carries, or None; asserts there is at most one."""
    found = BLOCK.findall(page.text)
    assert len(found) <= 1, found
    return json.loads(found[0]) if found else None


def sign_in(served: Served, email: str) -> tuple[str, dict[str, Any]]:
    """A new session of `email`: (the cookie's value, the sign-in's answer)."""
    with httpx.Client(base_url=served.base_url, timeout=60.0) as client:
        answer = json_post(client, "/api/v1/auth/sign-in", {"email": email, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return str(client.cookies[COOKIE]), answer.json()


def dashboard(http: httpx.Client, cookie: str | None, **headers: str) -> httpx.Response:
    sent = {**headers, **({"Cookie": f"{COOKIE}={cookie}"} if cookie is not None else {})}
    response = http.get("/dashboard", headers=sent)
    assert response.status_code == 200, response.text
    return response


def test_the_page_carries_the_answer_for_a_valid_cookie_only(served: Served, http: httpx.Client, dash: Dash) -> None:
    person(dash.platform, dash.acme, EMAIL)
    person(dash.platform, dash.globex, "kim@globex.example")
    anonymous = dashboard(http, None)
    assert embedded(anonymous) is None
    assert anonymous.headers["cache-control"] == "no-cache" and "etag" in anonymous.headers
    assert anonymous.headers["vary"] == "Cookie"

    cookie, signed = sign_in(served, EMAIL)
    page = dashboard(http, cookie, **{"If-None-Match": anonymous.headers["etag"]})  # never the anonymous 304
    answer = embedded(page)
    assert answer is not None
    assert answer["signed_in"] is True and answer["email"] == EMAIL
    assert answer["tenant"] == {"id": dash.acme.tenant_id, "name": "Acme"}
    assert answer["csrf_token"] == signed["csrf_token"] and answer["scopes"] == signed["scopes"]
    assert answer["cursor"] == dash.platform.backends.events.head(dash.acme.tenant_id).token()
    assert page.headers["cache-control"] == "private, no-store" and "etag" not in page.headers
    assert page.headers["vary"] == "Cookie"
    assert page.headers["content-security-policy"] == anonymous.headers["content-security-policy"]
    assert dash.globex.tenant_id not in page.text and "Globex" not in page.text

    theirs = embedded(dashboard(http, sign_in(served, "kim@globex.example")[0]))
    assert theirs is not None and theirs["tenant"] == {"id": dash.globex.tenant_id, "name": "Globex"}

    for refused in ("nope", "", "x" * 5000):
        assert embedded(dashboard(http, refused)) is None
    store = dash.platform.backends.store
    expiring, _ = sign_in(served, EMAIL)
    session = store.get(BROWSER_SESSIONS, "browser_sessions", hash_secret(expiring))
    assert session is not None
    store.replace(BROWSER_SESSIONS, session.model_copy(update={"expires_at": datetime.now(UTC) - timedelta(1)}))
    expired = dashboard(http, expiring)
    assert embedded(expired) is None and expired.headers["cache-control"] == "no-cache"

    with httpx.Client(base_url=served.base_url, timeout=60.0, cookies={COOKIE: cookie}) as client:
        assert json_post(client, "/api/v1/auth/sign-out", {}, answer["csrf_token"]).status_code == 204
    assert embedded(dashboard(http, cookie)) is None  # signed out: the same cookie opens nothing


def test_no_byte_of_the_answer_can_end_its_element() -> None:
    hostile = {"tenant": {"name": "</script><script>alert(1)</script><!-- & \u2028\u2029 '\""}, "email": HOSTILE}
    block = data_block(hostile).decode()
    inner = block.removeprefix('<script type="application/json" id="oratio-signed-in">').removesuffix("</script>")
    assert not set("<>&\u2028\u2029") & set(inner), inner
    assert json.loads(inner) == hostile


def test_a_signed_in_page_reads_its_lists_with_no_sign_in_request(
    page: Page, served: Served, http: httpx.Client, dash: Dash
) -> None:
    """Its person's email would end a naive script element: the page shows it as text and runs nothing of it."""
    person(dash.platform, dash.acme, HOSTILE)
    ids = [str(say(http, dash, f"Where is my order {n}?")["session_id"]) for n in range(2)]
    cookie, _ = sign_in(served, HOSTILE)
    page.context.add_cookies([{"name": COOKIE, "value": cookie, "url": served.base_url}])
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    def dialog(opened: Dialog) -> None:
        problems.append(f"a dialog opened: {opened.message}")
        opened.dismiss()

    paths: list[str] = []

    def note(request: Request) -> None:
        url = urlparse(request.url)
        if url.path.startswith("/api/"):
            paths.append(f"{url.path}?{url.query}" if url.query else url.path)

    page.on("dialog", dialog)
    page.on("request", note)
    page.goto(served.url("/dashboard"))  # a returning admin: the HTML says who is signed in
    for session_id in ids:
        expect(page.locator(f'.session-card[data-session="{session_id}"] .turn')).to_have_count(2, timeout=WAIT_MS)
    expect(page.locator("#conn")).to_have_text("live", timeout=WAIT_MS)
    expect(page.locator("#who-email")).to_have_text(HOSTILE)
    expect(page.locator("#tenant-name")).to_have_text("Acme")
    expect(page.locator("#agent-rows tr")).to_have_count(1, timeout=WAIT_MS)
    expect(page.locator("#key-rows tr")).to_have_count(1, timeout=WAIT_MS)
    page.wait_for_function(  # every list's read answered (Resource Timing lists a request once it has)
        "(reads) => reads.every((read) => performance.getEntriesByType('resource').some((r) => r.name.endsWith(read)))",
        arg=list(READS),
        timeout=WAIT_MS,
    )
    assert page.locator("#oratio-signed-in").count() == 0  # read, then removed from the document

    assert not [p for p in paths if p.startswith(("/api/v1/auth/", "/api/v1/me"))], paths  # no sign-in request
    for read in READS:
        assert paths.count(read) == 1, (read, paths)  # early.js's read is the one the list took
    assert not problems, problems
