"""Machine clients (issue 22 item 6): service accounts with client-credentials tokens for /mcp, against a real
`oratio serve` app on 127.0.0.1 and the mcp SDK client; and the ways a secret, a revoked account, another tenant's
account, wider scopes or another resource are refused."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from oratio.errors import Forbidden, NotFound
from oratio.platform import Platform
from oratio.store.tables import OAUTH_TOKENS, SERVICE_ACCOUNTS
from oratio_app.web import create_app
from schemas import Scope
from tests.net import uvicorn_in_thread
from tests.support.tenants import Tenancy, narrow

BURST = 4


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"oauth_client_credentials_burst": BURST, "oauth_client_credentials_per_minute": 0.001}


@pytest.fixture
def base_url(platform: Platform) -> Iterator[str]:
    with uvicorn_in_thread(lambda port: create_app(platform, host="127.0.0.1", port=port)) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        yield client


@asynccontextmanager
async def mcp_client(base_url: str, token: str) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30.0) as session:
        async with Client(streamable_http_client(f"{base_url}/mcp", http_client=session)) as client:
            yield client


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def token(http: httpx.Client, client_id: str, secret: str, **form: str) -> httpx.Response:
    return http.post("/token", data={"grant_type": "client_credentials", **form}, headers=basic(client_id, secret))


def created(platform: Platform, tenancy: Tenancy, *scopes: Scope) -> tuple[str, str, str]:
    """(account id, client_id, client_secret) of a new account of `tenancy`."""
    made = platform.service_accounts.create(
        tenancy.principal, "Billing bot", [s.value for s in scopes or (Scope.ADMIN,)]
    )
    return made.account.id, made.client_id, made.client_secret


@pytest.mark.anyio
async def test_an_admin_creates_an_account_whose_token_calls_a_tool_over_mcp(
    base_url: str, platform: Platform, acme: Tenancy
) -> None:
    admin_jwt = platform.access.token_for(acme.admin)
    async with mcp_client(base_url, admin_jwt) as client:
        made = await client.call_tool("create_service_account", {"name": "Billing bot", "scopes": ["agents:read"]})
        listed = await client.call_tool("list_service_accounts", {})
    assert not made.is_error, made.content
    content = made.structured_content or {}
    client_id, secret = content["account"]["client_id"], content["client_secret"]
    assert content["account"]["scopes"] == ["agents:read"]
    shown = json.dumps((listed.structured_content or {})["service_accounts"])
    assert client_id in shown and secret not in shown and "secret_hash" not in shown

    async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as machine:
        issued = await machine.post(
            "/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "resource": f"{base_url}/mcp",
            },
        )
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "agents:read" and "refresh_token" not in body
    assert body["access_token"].startswith("osa_") and issued.headers["cache-control"] == "no-store"

    async with mcp_client(base_url, body["access_token"]) as client:
        agents = await client.call_tool("list_agents", {})
        refused = await client.call_tool("create_service_account", {"name": "x", "scopes": ["agents:read"]})
    assert not agents.is_error, agents.content
    assert refused.is_error  # the account acts with its own scopes: agents:read cannot manage accounts


def test_metadata_lists_the_client_credentials_grant(http: httpx.Client) -> None:
    metadata = http.get("/.well-known/oauth-authorization-server").json()
    assert "client_credentials" in metadata["grant_types_supported"]
    assert "authorization_code" in metadata["grant_types_supported"]
    assert "client_secret_basic" in metadata["token_endpoint_auth_methods_supported"]


def test_a_wrong_or_missing_secret_is_invalid_client(http: httpx.Client, platform: Platform, acme: Tenancy) -> None:
    _, client_id, secret = created(platform, acme)
    wrong = token(http, client_id, secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")
    missing = http.post("/token", data={"grant_type": "client_credentials", "client_id": client_id})
    assert missing.status_code == 401 and missing.json()["error"] == "invalid_client"
    garbled = http.post("/token", data={"grant_type": "client_credentials"}, headers={"Authorization": "Basic !!"})
    assert garbled.status_code == 401 and garbled.json()["error"] == "invalid_client"


def test_a_revoked_account_gets_no_token_and_its_tokens_stop_working(
    http: httpx.Client, platform: Platform, acme: Tenancy
) -> None:
    account_id, client_id, secret = created(platform, acme)
    access = token(http, client_id, secret).json()["access_token"]
    assert http.post("/mcp", headers={"Authorization": f"Bearer {access}"}, json={}).status_code != 401

    platform.service_accounts.revoke(acme.principal, account_id)

    assert token(http, client_id, secret).status_code == 401
    after = http.post("/mcp", headers={"Authorization": f"Bearer {access}"}, json={})
    assert after.status_code == 401


def test_another_tenants_account_is_out_of_reach(
    http: httpx.Client, platform: Platform, acme: Tenancy, globex: Tenancy
) -> None:
    account_id, client_id, secret = created(platform, acme)
    assert platform.service_accounts.list(globex.principal) == []
    with pytest.raises(NotFound):
        platform.service_accounts.revoke(globex.principal, account_id)
    # The client_id names its tenant: the same account id under another tenant is no client at all.
    forged = f"{globex.tenant_id}.{account_id}"
    assert token(http, forged, secret).json()["error"] == "invalid_client"
    assert token(http, client_id, secret).status_code == 200


def test_scopes_wider_than_the_creators_are_refused(platform: Platform, acme: Tenancy) -> None:
    creator = narrow(acme, Scope.KEYS_WRITE, Scope.AGENTS_READ)
    with pytest.raises(Forbidden, match="admin"):
        platform.service_accounts.create(creator, "Too wide", [Scope.ADMIN.value])
    with pytest.raises(Forbidden, match="agents:write"):
        platform.service_accounts.create(creator, "Too wide", [Scope.AGENTS_READ.value, Scope.AGENTS_WRITE.value])
    with pytest.raises(Forbidden):
        platform.service_accounts.create(narrow(acme, Scope.AGENTS_READ), "No keys:write", [Scope.AGENTS_READ.value])
    made = platform.service_accounts.create(creator, "Fits", [Scope.AGENTS_READ.value])
    assert made.account.scopes == ["agents:read"]


def test_a_scope_the_account_lacks_is_invalid_scope(http: httpx.Client, platform: Platform, acme: Tenancy) -> None:
    _, client_id, secret = created(platform, acme, Scope.AGENTS_READ)
    asked = token(http, client_id, secret, scope="admin")
    assert asked.status_code == 400 and asked.json()["error"] == "invalid_scope"
    narrower = token(http, client_id, secret, scope="agents:read")
    assert narrower.status_code == 200 and narrower.json()["scope"] == "agents:read"


def test_a_token_for_another_resource_is_refused(http: httpx.Client, platform: Platform, acme: Tenancy) -> None:
    _, client_id, secret = created(platform, acme)
    other = token(http, client_id, secret, resource="https://elsewhere.example/mcp")
    assert other.status_code == 400 and other.json()["error"] == "invalid_target"
    # A token issued for another resource (as another Oratio would) is not accepted at this /mcp.
    account = platform.service_accounts.authenticate(client_id, secret)
    elsewhere = platform.service_accounts.issue(account, None, "https://elsewhere.example/mcp").access_token
    assert http.post("/mcp", headers={"Authorization": f"Bearer {elsewhere}"}, json={}).status_code == 401


def test_the_secret_and_tokens_are_never_stored_in_the_clear(
    http: httpx.Client, platform: Platform, acme: Tenancy
) -> None:
    _, client_id, secret = created(platform, acme)
    access = token(http, client_id, secret).json()["access_token"]
    stored = [
        a.model_dump_json() for a in platform.backends.store.query(SERVICE_ACCOUNTS, acme.tenant_id, limit=100).items
    ]
    stored += [
        t.model_dump_json() for t in platform.backends.store.query(OAUTH_TOKENS, "oauth_tokens", limit=100).items
    ]
    assert stored and not any(secret in s or secret[4:] in s or access[4:] in s for s in stored)


def test_token_requests_are_rate_limited_per_client(http: httpx.Client, platform: Platform, acme: Tenancy) -> None:
    _, client_id, secret = created(platform, acme)
    _, other_id, other_secret = created(platform, acme)
    answers = [token(http, client_id, "wrong").status_code for _ in range(BURST)]
    assert answers == [401] * BURST
    limited = token(http, client_id, secret)
    assert limited.status_code == 429 and "retry-after" in limited.headers
    assert token(http, other_id, other_secret).status_code == 200  # another client has its own budget


def test_other_grants_still_reach_the_sdk_handler(http: httpx.Client) -> None:
    answer = http.post("/token", data={"grant_type": "authorization_code", "code": "x", "client_id": "nobody"})
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    oversized = http.post("/token", data={"grant_type": "client_credentials", "pad": "x" * 10_000})
    assert oversized.status_code == 413


def test_the_dashboard_api_creates_lists_and_revokes_accounts(
    http: httpx.Client, platform: Platform, acme: Tenancy, globex: Tenancy
) -> None:
    mine = {"Authorization": f"Bearer {platform.access.token_for(acme.admin)}"}
    theirs = {"Authorization": f"Bearer {platform.access.token_for(globex.admin)}"}
    made = http.post("/api/v1/service-accounts", json={"name": "Bot", "scopes": ["agents:read"]}, headers=mine)
    assert made.status_code == 201, made.text
    account, secret = made.json()["service_account"], made.json()["client_secret"]
    assert token(http, account["client_id"], secret).status_code == 200

    listed = http.get("/api/v1/service-accounts", headers=mine)
    assert [a["id"] for a in listed.json()["service_accounts"]] == [account["id"]] and secret not in listed.text
    assert http.get("/api/v1/service-accounts", headers=theirs).json()["service_accounts"] == []
    assert http.post(f"/api/v1/service-accounts/{account['id']}/revoke", headers=theirs).status_code == 404

    for bad in ({"name": "Bot", "scopes": ["root"]}, {"name": "", "scopes": ["admin"]}, {"name": "Bot"}, [1]):
        refused = http.post("/api/v1/service-accounts", json=bad, headers=mine)
        assert 400 <= refused.status_code < 500 and "error" in refused.json(), refused.text
    assert http.post("/api/v1/service-accounts", json={"name": "Bot", "scopes": ["admin"]}).status_code == 401
    assert http.post("/api/v1/service-accounts/nope!/revoke", headers=mine).status_code == 422

    revoked = http.post(f"/api/v1/service-accounts/{account['id']}/revoke", headers=mine)
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert token(http, account["client_id"], secret).status_code == 401
