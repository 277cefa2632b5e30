"""People sign in to the dashboard through an OIDC issuer, end to end: `oratio serve`'s app under uvicorn, a real
OpenID provider process (`tests.support.oidc`), httpx following every redirect like a browser. The session
that results is the password sign-in's own (CSRF, MCP token, sign out everywhere all work); refusals are pages
that say why, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from oratio.platform import Platform
from oratio.services.oidc_signin import CALLBACKS_BURST, FLOW_REFUSED
from oratio.services.signin import NOT_AN_ADMIN
from tests.dashboard.dash import Dash
from tests.support.oidc import (
    ACME_PERSON,
    GLOBEX_PERSON,
    STRANGER,
    UNVERIFIED,
    issuer_settings,
    mock_issuer,
    sign_in_at_issuer,
)
from tests.support.serving import Served
from tests.support.signin import json_post

START = "/api/v1/auth/oidc/start"


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with mock_issuer() as base:
        yield base


@pytest.fixture
def platform_settings(issuer: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """The issuer's settings, with a test's own changes (`indirect` parametrization) on top."""
    return issuer_settings(issuer, **getattr(request, "param", {}))


def admit(platform: Platform, dash: Dash) -> None:
    """Each tenant's admin email gets a login (what `oratio admin invite` does); no password is ever set."""
    for tenancy, email in ((dash.acme, ACME_PERSON), (dash.globex, GLOBEX_PERSON)):
        platform.signin.invite(tenancy.principal, email, "Ops", "http://127.0.0.1")


def at_issuer(browser: httpx.Client) -> httpx.Response:
    """Start the sign-in in the dashboard and follow the redirect to the issuer's page."""
    page = browser.get(START, follow_redirects=True)
    assert page.status_code == 200 and "Authorize" in page.text, page.text[:300]
    return page


def browser_for(served: Served) -> httpx.Client:
    return httpx.Client(base_url=served.base_url, timeout=60.0)


def test_each_person_signs_in_through_the_issuer_into_their_own_tenant(
    served: Served, platform: Platform, dash: Dash, issuer: str
) -> None:
    admit(platform, dash)
    with browser_for(served) as acme, browser_for(served) as globex:
        methods = acme.get("/api/v1/auth/methods").json()
        assert methods["password"] is True and methods["oidc"]["name"] == "Test IdP"
        assert methods["oidc"]["end_session_url"].startswith(f"{issuer}/oauth2/end_session?client_id=oratio-dashboard")

        landed = sign_in_at_issuer(acme, str(at_issuer(acme).url), ACME_PERSON)
        assert landed.status_code == 200 and urlsplit(str(landed.url)).path == "/dashboard", landed.text[:300]
        session = acme.get("/api/v1/auth/session").json()
        assert session["signed_in"] is True and session["email"] == ACME_PERSON
        assert session["tenant_id"] == dash.acme.tenant_id
        agents = acme.get("/api/v1/agents").json()["agents"]
        assert [a["name"] for a in agents] == [dash.agent.name]  # Acme's agents only
        assert acme.get(f"/api/v1/agents/{dash.globex_agent.id}/keys").status_code == 404  # Globex's agent

        landed = sign_in_at_issuer(globex, str(at_issuer(globex).url), GLOBEX_PERSON)
        assert landed.status_code == 200
        assert globex.get("/api/v1/auth/session").json()["tenant_id"] == dash.globex.tenant_id
        assert [a["name"] for a in globex.get("/api/v1/agents").json()["agents"]] == [dash.globex_agent.name]

        # The same session as a password sign-in: CSRF-checked POSTs, an MCP token, sign out everywhere.
        csrf = session["csrf_token"]
        assert json_post(acme, "/api/v1/auth/token", {}).status_code == 403  # no CSRF token
        minted = json_post(acme, "/api/v1/auth/token", {"ttl_seconds": 3600}, csrf)
        assert minted.status_code == 201, minted.text
        me = httpx.get(f"{served.base_url}/api/v1/me", headers={"Authorization": f"Bearer {minted.json()['token']}"})
        assert me.json()["tenant"]["id"] == dash.acme.tenant_id
        assert json_post(acme, "/api/v1/auth/sign-out-everywhere", {}, csrf).status_code == 204
        assert acme.get("/api/v1/auth/session").json() == {"signed_in": False}
        assert globex.get("/api/v1/auth/session").json()["signed_in"] is True  # another person's session stays


def test_a_used_or_foreign_callback_is_refused_with_a_page(served: Served, platform: Platform, dash: Dash) -> None:
    admit(platform, dash)
    with browser_for(served) as browser, browser_for(served) as other:
        issuer_page = at_issuer(browser)
        back = browser.post(str(issuer_page.url), data={"sub": ACME_PERSON})  # the issuer's redirect, not followed
        callback = back.headers["location"]
        assert urlsplit(callback).path == "/api/v1/auth/oidc/callback"

        # Another browser (a login-CSRF attempt: no flow cookie, or its own) gets nothing from this callback.
        at_issuer(other)  # `other` has a flow cookie of its own sign-in
        foreign = other.get(callback)
        assert foreign.status_code == 400 and FLOW_REFUSED in foreign.text
        assert "text/html" in foreign.headers["content-type"]
        assert "script-src" not in foreign.headers["content-security-policy"]  # no script on the page at all
        assert other.get("/api/v1/auth/session").json() == {"signed_in": False}

        # The right browser signs in once; the same callback again is refused (its flow cookie is gone).
        first = browser.get(callback)
        assert first.status_code == 303 and first.headers["location"] == "/dashboard"
        replayed = browser.get(callback)
        assert replayed.status_code == 400 and FLOW_REFUSED in replayed.text

        # A made-up or missing state is refused the same way, before the issuer is asked anything.
        at_issuer(browser)
        parts = urlsplit(callback)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()} | {"state": "forged"}
        forged = browser.get(urlunsplit(parts._replace(query=urlencode(query))))
        assert forged.status_code == 400 and FLOW_REFUSED in forged.text
        assert browser.get("/api/v1/auth/oidc/callback").status_code == 400


def test_an_unknown_or_unverified_person_gets_a_clear_refusal(served: Served, platform: Platform, dash: Dash) -> None:
    admit(platform, dash)
    with browser_for(served) as browser:
        refused = sign_in_at_issuer(browser, str(at_issuer(browser).url), STRANGER)
        assert refused.status_code == 403 and "this email is not an admin of any organisation here" in refused.text
        assert "this email is not an admin" in NOT_AN_ADMIN
        assert "Back to the sign-in page" in refused.text
        assert browser.get("/api/v1/auth/session").json() == {"signed_in": False}

        unverified = sign_in_at_issuer(browser, str(at_issuer(browser).url), UNVERIFIED)
        assert unverified.status_code == 401 and "not verified your email" in unverified.text

        denied = browser.get("/api/v1/auth/oidc/callback?error=access_denied&state=x")
        assert denied.status_code == 401 and "did not sign you in (access_denied)" in denied.text


def test_an_id_token_for_another_nonce_is_refused(served: Served, platform: Platform, dash: Dash) -> None:
    """The issuer is asked with a nonce other than the one in this browser's flow cookie (what a token made for
    another sign-in would carry): the code is exchanged, but its ID token is refused."""
    admit(platform, dash)
    with browser_for(served) as browser:
        started = browser.get(START)
        assert started.status_code == 303
        parts = urlsplit(started.headers["location"])
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
        query["nonce"] = "someone-elses-nonce"
        refused = sign_in_at_issuer(browser, urlunsplit(parts._replace(query=urlencode(query))), ACME_PERSON)
        assert refused.status_code == 401 and "could not be verified" in refused.text
        assert browser.get("/api/v1/auth/session").json() == {"signed_in": False}


@pytest.mark.parametrize("platform_settings", [{"signin_passwords": False}], indirect=True)
def test_password_sign_in_can_be_turned_off(served: Served, platform: Platform, dash: Dash) -> None:
    admit(platform, dash)
    with browser_for(served) as browser:
        assert browser.get("/api/v1/auth/methods").json()["password"] is False
        body = {"email": ACME_PERSON, "password": "whatever it is, it is not asked"}
        refused = json_post(browser, "/api/v1/auth/sign-in", body)
        assert refused.status_code == 403 and "sign in with Test IdP" in refused.json()["message"]
        assert json_post(browser, "/api/v1/auth/forgot", {"email": ACME_PERSON}).status_code == 403
        landed = sign_in_at_issuer(browser, str(at_issuer(browser).url), ACME_PERSON)
        assert landed.status_code == 200 and browser.get("/api/v1/auth/session").json()["signed_in"] is True


def test_callbacks_from_one_address_are_bounded(served: Served) -> None:
    """Each callback may cost a call to the issuer: past its budget an address gets 429 with Retry-After."""
    with browser_for(served) as browser:
        answers = [browser.get("/api/v1/auth/oidc/callback?code=c&state=s") for _ in range(CALLBACKS_BURST + 1)]
    assert [a.status_code for a in answers[:CALLBACKS_BURST]] == [400] * CALLBACKS_BURST
    assert answers[-1].status_code == 429 and int(answers[-1].headers["retry-after"]) >= 1
    assert "text/html" in answers[-1].headers["content-type"]


def test_an_email_stays_with_the_issuer_account_that_first_signed_in_with_it(
    served: Served, platform: Platform, dash: Dash, issuer: str
) -> None:
    """An issuer may give an email to another account later (a re-created user, a renamed one): that account
    does not inherit the login, which stays bound to the first `iss` + `sub` that used it."""
    admit(platform, dash)
    with browser_for(served) as first:
        assert sign_in_at_issuer(first, str(at_issuer(first).url), ACME_PERSON).status_code == 200
    impostor = {"email": ACME_PERSON, "email_verified": True}
    assert httpx.put(f"{issuer}/users/someone-else", json=impostor, timeout=30.0).status_code == 204
    with browser_for(served) as other:
        refused = sign_in_at_issuer(other, str(at_issuer(other).url), "someone-else")
        assert refused.status_code == 403 and "signs in here with another account" in refused.text
        assert other.get("/api/v1/auth/session").json() == {"signed_in": False}
    with browser_for(served) as again:  # the first account still gets in
        assert sign_in_at_issuer(again, str(at_issuer(again).url), ACME_PERSON).status_code == 200
        assert again.get("/api/v1/auth/session").json()["tenant_id"] == dash.acme.tenant_id
