"""MCP clients sign in like people (issue 22 item 6): the MCP SDK's own OAuth client against a real
`oratio serve`, through the dashboard sign-in and the consent page, then a tool call; and the ways a
stolen or misused code or token is refused."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientMetadata
from pydantic import AnyUrl

from oratio.platform import Platform
from oratio_app.web import create_app
from tests.net import uvicorn_in_thread
from tests.support.oauth import HIDDEN, REDIRECT_URI, Browser, MemoryStorage, person
from tests.support.platforms import FakeClock
from tests.support.signin import PASSWORD, signed_in
from tests.support.tenants import Tenancy

EMAIL = "person@acme.example"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}
AUTHORIZE_BURST = 8
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {
        "password_memory_kib": 8 * 1024,
        "oauth_register_burst": 3,
        "oauth_register_per_minute": 0.001,
        "oauth_authorize_burst": AUTHORIZE_BURST,
        "oauth_authorize_per_minute": 0.001,
    }


@pytest.fixture
def platform_clock(clock: FakeClock) -> FakeClock:
    return clock


@pytest.fixture
def base_url(platform: Platform) -> Iterator[str]:
    with uvicorn_in_thread(lambda port: create_app(platform, host="127.0.0.1", port=port)) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def email(platform: Platform, acme: Tenancy) -> str:
    return person(platform, acme, EMAIL)


def metadata(name: str = "Claude Desktop") -> OAuthClientMetadata:
    return OAuthClientMetadata(
        client_name=name,
        redirect_uris=[AnyUrl(REDIRECT_URI)],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="client_secret_post",
    )


@pytest.mark.anyio
async def test_the_sdk_client_signs_in_through_consent_and_calls_a_tool(
    base_url: str, email: str, acme: Tenancy
) -> None:
    browser = Browser(base_url, email)
    storage = MemoryStorage()
    auth = OAuthClientProvider(
        f"{base_url}/mcp", metadata(), storage, redirect_handler=browser.redirect, callback_handler=browser.callback
    )
    async with httpx2.AsyncClient(auth=auth, timeout=30.0) as http:
        async with Client(streamable_http_client(f"{base_url}/mcp", http_client=http)) as client:
            result = await client.call_tool("list_agents", {})

    assert not result.is_error, result.content
    assert result.structured_content == {"agents": [], "next_cursor": None} or "agents" in (
        result.structured_content or {}
    )
    [page] = browser.consent_pages
    assert "Claude Desktop" in page and "Acme" in page and "Scopes: admin" in page
    assert storage.tokens is not None and storage.tokens.access_token.startswith("oat_")
    assert storage.tokens.refresh_token is not None and storage.tokens.expires_in == 900


# -- the raw protocol, for the refusals --------------------------------------------------------------


@dataclass
class Registered:
    client_id: str
    client_secret: str


def register(http: httpx.Client, redirect_uri: str = REDIRECT_URI) -> httpx.Response:
    return http.post("/register", json={"client_name": "Tool", "redirect_uris": [redirect_uri]})


def registered(http: httpx.Client) -> Registered:
    answer = register(http)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return Registered(body["client_id"], body["client_secret"])


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def authorization_code(base_url: str, email: str, client: Registered, challenge: str, **extra: str) -> str:
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT_URI,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s1",
        **extra,
    }
    back = Browser(base_url, email).consent(f"{base_url}/authorize?{urlencode(query)}")
    answer = parse_qs(urlsplit(back).query)
    assert answer["state"] == ["s1"]
    return answer["code"][0]


def exchange(http: httpx.Client, client: Registered, code: str, verifier: str, **extra: str) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": REDIRECT_URI,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        **extra,
    }
    return http.post("/token", data=form)


def mcp_status(http: httpx.Client, token: str) -> int:
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {token}"}
    with http.stream("POST", "/mcp", json=INITIALIZE, headers=headers) as response:
        return response.status_code


def signed_in_tokens(base_url: str, email: str, http: httpx.Client) -> tuple[Registered, dict[str, Any]]:
    client = registered(http)
    verifier, challenge = pkce()
    answer = exchange(http, client, authorization_code(base_url, email, client, challenge), verifier)
    assert answer.status_code == 200, answer.text
    return client, answer.json()


def test_the_metadata_offers_the_code_grant_with_s256_pkce(base_url: str) -> None:
    document = httpx.get(f"{base_url}/.well-known/oauth-authorization-server", timeout=10.0).json()

    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["registration_endpoint"] == f"{base_url}/register"
    # client_credentials is for service accounts (tests/reliability/test_mcp_service_accounts.py).
    assert set(document["grant_types_supported"]) == {"authorization_code", "refresh_token", "client_credentials"}
    assert document["revocation_endpoint"] == f"{base_url}/revoke"


def test_a_wrong_pkce_verifier_is_refused(base_url: str, email: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        client = registered(http)
        _, challenge = pkce()
        code = authorization_code(base_url, email, client, challenge)
        answer = exchange(http, client, code, pkce()[0])

    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_a_code_works_once(base_url: str, email: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        client = registered(http)
        verifier, challenge = pkce()
        code = authorization_code(base_url, email, client, challenge)
        first = exchange(http, client, code, verifier)
        second = exchange(http, client, code, verifier)

    assert first.status_code == 200, first.text
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"


def test_a_redirect_uri_that_differs_from_the_authorization_is_refused(base_url: str, email: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        client = registered(http)
        verifier, challenge = pkce()
        code = authorization_code(base_url, email, client, challenge)
        answer = exchange(http, client, code, verifier, redirect_uri="http://127.0.0.1:3999/other")

    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


def test_an_unregistered_redirect_uri_gets_no_redirect(base_url: str, email: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        client = registered(http)
        _, challenge = pkce()
        query = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": "https://evil.example/callback",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        answer = http.get(f"/authorize?{urlencode(query)}")

    assert answer.status_code == 400 and "location" not in answer.headers


@pytest.mark.parametrize("uri", ["http://evil.example/cb", "javascript:alert(1)", "https://ok.example/cb#frag"])
def test_registration_refuses_redirect_uris_that_are_not_https_or_loopback(base_url: str, uri: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        answer = register(http, uri)

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] in ("invalid_redirect_uri", "invalid_client_metadata")


def test_registration_and_authorization_are_rate_limited_per_address(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        answers = [register(http).status_code for _ in range(4)]
        client = Registered("x", "y")
        query = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": REDIRECT_URI,
            "code_challenge": pkce()[1],
            "code_challenge_method": "S256",
        }
        authorizations = [http.get(f"/authorize?{urlencode(query)}") for _ in range(AUTHORIZE_BURST + 1)]

    assert answers == [201, 201, 201, 429]
    assert [a.status_code for a in authorizations] == [400] * AUTHORIZE_BURST + [429]
    assert authorizations[-1].json()["error"] == "rate_limited" and "retry-after" in authorizations[-1].headers


def test_a_token_is_accepted_by_mcp_and_only_for_its_own_resource(
    base_url: str, email: str, platform: Platform
) -> None:
    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        client, tokens = signed_in_tokens(base_url, email, http)
        assert mcp_status(http, tokens["access_token"]) == 200
        # A token issued for another resource (the service's own path, as a second server would get one).
        request_id = platform.oauth.start(
            client.client_id,
            scopes=[],
            code_challenge=pkce()[1],
            redirect_uri=REDIRECT_URI,
            redirect_uri_explicit=True,
            state=None,
            resource="https://other.example/mcp",
        )
        principal = platform.signin.sign_in(EMAIL, PASSWORD, "test").principal
        _, code = platform.oauth.answer(request_id, principal, approve=True)
        assert code is not None
        found = platform.oauth.code(client.client_id, code)
        assert found is not None
        other = platform.oauth.exchange_code(found)
        assert mcp_status(http, other.access_token) == 401


def test_the_authorize_endpoint_refuses_another_resource(base_url: str, email: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        client = registered(http)
        query = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": REDIRECT_URI,
            "code_challenge": pkce()[1],
            "code_challenge_method": "S256",
            "resource": "https://other.example/mcp",
        }
        answer = http.get(f"/authorize?{urlencode(query)}")

    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["location"]).query)["error"] == ["invalid_target"]


def test_refresh_rotates_and_a_reused_or_revoked_refresh_token_is_refused(base_url: str, email: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        client, tokens = signed_in_tokens(base_url, email, http)
        secret = {"client_id": client.client_id, "client_secret": client.client_secret}

        def refresh(token: str) -> httpx.Response:
            form = {"grant_type": "refresh_token", "refresh_token": token, **secret}
            return http.post("/token", data=form)

        rotated = refresh(tokens["refresh_token"])
        assert rotated.status_code == 200, rotated.text
        assert rotated.json()["refresh_token"] != tokens["refresh_token"]
        replayed = refresh(tokens["refresh_token"])
        assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"
        # The replay revoked the whole family: the rotated tokens stop working too.
        assert refresh(rotated.json()["refresh_token"]).status_code == 400
        assert mcp_status(http, rotated.json()["access_token"]) == 401

        other, fresh = signed_in_tokens(base_url, email, http)
        secret = {"client_id": other.client_id, "client_secret": other.client_secret}
        revoked = http.post("/revoke", data={"token": fresh["refresh_token"], **secret})
        assert revoked.status_code == 200
        assert refresh(fresh["refresh_token"]).status_code == 400
        assert mcp_status(http, fresh["access_token"]) == 401


def test_an_expired_code_is_refused(base_url: str, email: str, clock: FakeClock) -> None:
    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        client = registered(http)
        verifier, challenge = pkce()
        code = authorization_code(base_url, email, client, challenge)
        clock.advance(timedelta(seconds=121))
        answer = exchange(http, client, code, verifier)

    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_consent_needs_the_csrf_token_and_deny_sends_access_denied(base_url: str, email: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        client = registered(http)
        query = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": REDIRECT_URI,
            "code_challenge": pkce()[1],
            "code_challenge_method": "S256",
            "state": "s2",
        }
        browser, _ = signed_in(base_url, email)
        try:
            consent_url = browser.get(f"/authorize?{urlencode(query)}").headers["location"]
            request_id = parse_qs(urlsplit(consent_url).query)["request"][0]
            forged = browser.post("/oauth/consent", data={"request": request_id, "decision": "approve"})
            assert forged.status_code == 401, forged.text
        finally:
            browser.close()
        denied = Browser(base_url, email, approve=False).consent(f"{base_url}/authorize?{urlencode(query)}")

    assert parse_qs(urlsplit(denied).query) == {"error": ["access_denied"], "state": ["s2"]}


def test_the_consent_page_asks_a_stranger_to_sign_in_and_refuses_another_sites_post(base_url: str, email: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        client = registered(http)
        query = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": REDIRECT_URI,
            "code_challenge": pkce()[1],
            "code_challenge_method": "S256",
        }
        consent_url = http.get(f"/authorize?{urlencode(query)}").headers["location"]
        stranger = http.get(consent_url)
        assert stranger.status_code == 401 and "Sign in" in stranger.text

    browser, _ = signed_in(base_url, email)
    try:
        page = browser.get(consent_url)
        fields = dict(HIDDEN.findall(page.text))
        cross_site = browser.post(
            "/oauth/consent", data={**fields, "decision": "approve"}, headers={"Origin": "https://evil.example"}
        )
        assert cross_site.status_code == 403, cross_site.text
        assert page.headers["x-frame-options"] == "DENY"
    finally:
        browser.close()
