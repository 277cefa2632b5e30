"""Every state-changing route of `oratio serve`'s app refuses a cookie-authenticated request without our CSRF
token or from another site's page, read off the app's own routing table so a route added later is held to it
too (an exemption must be listed here, with why).

A guard: it passed before this review (every route found then used `request_principal`), and it fails the day
a new POST/PATCH/PUT/DELETE route reads the cookie some other way."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from oratio.platform import Platform
from oratio_app.web import create_app
from schemas.signin import LinkPurpose
from tests.support.signin import PASSWORD
from tests.support.tenants import Tenancy

BASE = "http://127.0.0.1:8000"
EVIL = "https://evil.example"
SAFE = {"GET", "HEAD", "OPTIONS"}
EXEMPT = {
    # Strangers' routes: nobody is signed in yet; JSON from our own origin only (test_signin_security).
    "/api/v1/auth/sign-in": "stranger",
    "/api/v1/auth/accept": "stranger",
    "/api/v1/auth/reset": "stranger",
    "/api/v1/auth/forgot": "stranger",
    # The consent form carries the session's CSRF token in a field, not a header: checked below on its own.
    "/oauth/consent": "form token",
    # Bearer or key only, never the cookie: MCP and its OAuth endpoints, the runtime, the voice bridge.
    "/register": "oauth",
    "/token": "oauth",
    "/revoke": "oauth",
    "/authorize": "oauth",
}
NOT_COOKIE = re.compile(r"^/(mcp|runtime|voice)(/|$)")


def state_changing(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    for route in routes:
        if isinstance(route, Mount):
            yield from state_changing(list(route.routes or []), prefix + route.path)
        elif isinstance(route, Route):
            for method in sorted((route.methods or set()) - SAFE):
                yield method, prefix + route.path


def concrete(path: str) -> str:
    """A path template with made-up ids: the CSRF check comes before any id is looked up."""
    return re.sub(r"\{[^}:]+(:int)?\}", lambda m: "0" if m.group(1) else "x1", path)


@pytest.fixture
def browser(platform: Platform, acme: Tenancy) -> Iterator[TestClient]:
    """A browser signed in with the cookie alone (a real session of a real login)."""
    invitation = platform.signin.invite(acme.principal, "pat@acme.example", "Pat", BASE)
    signed = platform.signin.accept(invitation.link.split("=", 1)[1], PASSWORD, LinkPurpose.INVITE)
    with TestClient(create_app(platform, host="127.0.0.1", port=8000), base_url=BASE) as client:
        client.cookies.set("oratio_session", signed.secret)
        yield client


@pytest.fixture
def platform_settings() -> dict[str, object]:
    return {"password_memory_kib": 8 * 1024}


def test_every_state_changing_route_needs_the_csrf_token_and_our_origin(browser: TestClient) -> None:
    app = browser.app
    assert hasattr(app, "routes")
    checked = []
    for method, path in state_changing(list(app.routes)):
        if path in EXEMPT or NOT_COOKIE.match(path):
            continue
        url = concrete(path)
        no_token = browser.request(method, url, json={}, headers={"Origin": BASE})
        assert no_token.status_code == 403, (method, path, no_token.text[:200])
        assert "X-CSRF-Token" in no_token.json()["message"], (method, path)
        csrf = browser.get("/api/v1/auth/session").json()["csrf_token"]
        other_site = browser.request(method, url, json={}, headers={"Origin": EVIL, "X-CSRF-Token": csrf})
        assert other_site.status_code == 403, (method, path, other_site.text[:200])
        checked.append((method, path))
    assert len(checked) >= 30, checked  # the routing table was really read (34 routes when this was written)
    assert browser.get("/api/v1/auth/session").json()["signed_in"] is True  # nothing above signed the person out


def test_the_consent_form_needs_the_session_s_token(browser: TestClient) -> None:
    answer = browser.post("/oauth/consent", data={"request": "x", "decision": "approve"}, headers={"Origin": BASE})
    assert answer.status_code == 401 and "CSRF" in answer.json()["message"]
