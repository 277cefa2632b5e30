"""Over https the dashboard reads only the `__Host-` cookies it sets: a planted plain cookie signs nobody in.

A sibling subdomain, or a network attacker answering any plain-http request for the host, can set a cookie
without the `__Host-` prefix that the browser then sends to the https dashboard. The session cookie and the
OIDC flow cookie used to fall back to their plain names, so a planted `oratio_session` holding the planter's
own session signed the person's browser in to the planter's account (the person would then type their data,
secrets included, into it), and a planted `oratio_oidc_flow` with the state of the planter's own sign-in let
a callback with the planter's code do the same (login CSRF). Over plain http (a local `oratio serve`) both
plain names still work: that is the only place they are set."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from oratio.platform import Platform
from oratio_app.web import create_app
from schemas.signin import LinkPurpose
from tests.support.oidc import issuer_settings, mock_issuer
from tests.support.signin import PASSWORD
from tests.support.tenants import Tenancy

PUBLIC = "https://dash.example"
PLANTER = "planter@acme.example"
FLOW_STATE = "s" * 43
FLOW_REFUSED = "already used, has expired or was started in another browser"


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with mock_issuer() as base:
        yield base


@pytest.fixture
def platform_settings(issuer: str) -> dict[str, Any]:
    """Served at an https public URL (TLS ends at a proxy), with a real OIDC issuer (`tests.support.oidc`)."""
    return {**issuer_settings(issuer), "public_url": PUBLIC, "password_memory_kib": 8 * 1024}


@pytest.fixture
def planter_secret(platform: Platform, acme: Tenancy) -> str:
    """A session of the planter's own (a real account, signed in the ordinary way): the cookie value planted."""
    invitation = platform.signin.invite(acme.principal, PLANTER, "Planter", PUBLIC)
    signed = platform.signin.accept(invitation.link.split("=", 1)[1], PASSWORD, LinkPurpose.INVITE)
    return signed.secret


@pytest.fixture
def browser(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform), base_url=PUBLIC) as client:
        yield client


def test_a_planted_plain_session_cookie_signs_nobody_in_over_https(browser: TestClient, planter_secret: str) -> None:
    browser.cookies.set("oratio_session", planter_secret)

    assert browser.get("/api/v1/auth/session").json() == {"signed_in": False}
    assert browser.get("/api/v1/agents").status_code == 401
    page = browser.get("/dashboard")
    assert page.status_code == 200 and "oratio-signed-in" not in page.text  # no signed-in block in the HTML

    consent = browser.get("/oauth/consent?request=anything")
    assert consent.status_code == 401 and "Sign in" in consent.text  # the consent page asks to sign in
    with browser.websocket_connect("/ws/dashboard", headers={"Origin": PUBLIC}) as feed:
        feed.send_text(json.dumps({"type": "auth", "after": None}))
        with pytest.raises(WebSocketDisconnect) as closed:
            feed.receive_text()
    assert closed.value.code == 4422 and "no session cookie" in closed.value.reason  # the live feed too

    browser.cookies.clear()
    browser.cookies.set("__Host-oratio_session", planter_secret)  # the cookie we set over https still works
    assert browser.get("/api/v1/auth/session").json()["email"] == PLANTER
    assert browser.get("/api/v1/agents").status_code == 200


def test_a_planted_plain_oidc_flow_cookie_is_not_read_over_https(browser: TestClient) -> None:
    started = browser.get("/api/v1/auth/oidc/start", follow_redirects=False)
    assert started.status_code == 303, started.text
    set_cookie = started.headers["set-cookie"]
    assert set_cookie.startswith("__Host-oratio_oidc_flow=") and "Path=/;" in set_cookie and "Secure" in set_cookie
    assert "Domain" not in set_cookie

    browser.cookies.clear()
    planted = f"v1.{int(time.time())}.{FLOW_STATE}.n.v"
    browser.cookies.set("oratio_oidc_flow", planted)
    answer = browser.get(f"/api/v1/auth/oidc/callback?code=planters-code&state={FLOW_STATE}")
    assert answer.status_code == 400, answer.text[:300]
    assert FLOW_REFUSED in answer.text
