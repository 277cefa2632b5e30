"""MCP over HTTP tells a client the truth about auth: rate limited is 429, and OAuth discovery ends.

* An admin over the rate limit used to get 401 `invalid_token`, so a client threw away a good
  token; now it gets 429 with Retry-After (and the JSON body every Oratio refusal has).
* The protected-resource metadata names Oratio as the authorization server; its RFC 8414 metadata
  used to be a 404, leaving OAuth-capable clients in a discovery that could not succeed. Now the
  whole chain answers over HTTP, ending in the authorization server's metadata (issue 22 item 6).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mcp.client.auth.utils import build_oauth_authorization_server_metadata_discovery_urls
from mcp.shared.auth import ProtectedResourceMetadata

from oratio.platform import Platform
from oratio_app.web import create_app
from tests.net import uvicorn_in_thread

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
BURST = 3


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"embeddings": True, "admin_burst": BURST, "admin_rate_per_minute": 0.001}


@pytest.fixture
def base_url(platform: Platform) -> Iterator[str]:
    with uvicorn_in_thread(lambda port: create_app(platform, host="127.0.0.1", port=port)) as port:
        yield f"http://127.0.0.1:{port}"


def post_initialize(http: httpx.Client, token: str) -> tuple[int, dict[str, str], bytes]:
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {token}"}
    with http.stream("POST", "/mcp", json=INITIALIZE, headers=headers) as response:
        body = response.read() if response.status_code != 200 else b""  # a 200 is an SSE stream
        return response.status_code, dict(response.headers), body


def test_an_admin_over_the_rate_limit_gets_429_with_retry_after_not_401(platform: Platform, base_url: str) -> None:
    tenant = platform.tenants.create_tenant("Acme")
    admin = platform.tenants.create_admin(tenant.tenant_id, "ops@acme.example", "Ops")
    token = platform.access.token_for(admin)

    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        answers = [post_initialize(http, token) for _ in range(BURST + 1)]

    assert [status for status, _, _ in answers[:BURST]] == [200] * BURST
    status, headers, body = answers[BURST]
    assert status == 429, body
    assert int(headers["retry-after"]) >= 1
    assert "www-authenticate" not in headers  # the token is fine; nothing to re-authenticate
    assert httpx.Response(429, content=body).json()["error"] == "rate_limited"


def test_the_oauth_discovery_chain_ends_in_metadata_that_offers_the_code_grant(base_url: str) -> None:
    with httpx.Client(timeout=10.0) as http:
        challenge = http.post(f"{base_url}/mcp", json=INITIALIZE, headers=MCP_HEADERS)
        assert challenge.status_code == 401
        match = re.search(r'resource_metadata="([^"]+)"', challenge.headers["www-authenticate"])
        assert match is not None

        resource = http.get(match.group(1))
        assert resource.status_code == 200
        metadata = ProtectedResourceMetadata.model_validate(resource.json())  # as the SDK's client reads it
        issuer = str(metadata.authorization_servers[0])

        urls = build_oauth_authorization_server_metadata_discovery_urls(issuer, f"{base_url}/mcp")
        server = http.get(urls[0])  # the first URL a client tries is answered: no chase through 404s
        assert server.status_code == 200, server.text
        document = server.json()

    assert document["issuer"] == issuer  # RFC 8414 §3.3: the issuer matches the URL it was found by
    # Issue 22 item 6: Oratio is an authorization server (docs/mcp-oauth.md), PKCE S256 only.
    assert "authorization_code" in document["grant_types_supported"] and document["response_types_supported"] == [
        "code"
    ]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["authorization_endpoint"] == f"{base_url}/authorize"
