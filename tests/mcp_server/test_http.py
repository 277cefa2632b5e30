"""MCP over streamable HTTP as `oratio serve` serves it: a real uvicorn on 127.0.0.1, real MCP clients.

The app under test is `oratio_app.web.create_app`, so /mcp is checked beside /healthz and /api/v1/me,
with the lifespan wiring, the bearer auth, the RFC 9728 metadata and the Host checks all real.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import SecretStr

from mcp_server.http import transport_security
from oratio.auth.tokens import JwtSettings, issue_token
from oratio.config import Settings
from oratio.platform import Platform, open_platform
from oratio_app.web import create_app
from schemas import Admin, Principal
from tests.net import uvicorn_in_thread
from tests.support.platforms import JWT_SECRET

pytestmark = pytest.mark.anyio

SOP = "Greet the customer, answer from the knowledge base, and hand off when asked."
STARTUP_TIMEOUT = 10.0
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw-http-test", "version": "0"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}


@dataclass(frozen=True)
class Served:
    base_url: str
    port: int

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"embeddings": True}


@contextmanager
def serving(platform: Platform) -> Iterator[Served]:
    """`create_app(platform)` under a real uvicorn on a free 127.0.0.1 port, stopped on exit."""
    with uvicorn_in_thread(lambda port: create_app(platform, host="127.0.0.1", port=port)) as port:
        yield Served(base_url=f"http://127.0.0.1:{port}", port=port)


@pytest.fixture
def served(platform: Platform) -> Iterator[Served]:
    with serving(platform) as running:
        yield running


def new_admin(platform: Platform, name: str) -> Admin:
    tenant = platform.tenants.create_tenant(name)
    return platform.tenants.create_admin(tenant.tenant_id, f"ops@{name.lower()}.example", "Ops")


@pytest.fixture
def acme(platform: Platform) -> Admin:
    return new_admin(platform, "Acme")


@pytest.fixture
def globex(platform: Platform) -> Admin:
    return new_admin(platform, "Globex")


@asynccontextmanager
async def mcp_client(url: str, token: str, **options: Any) -> AsyncIterator[Client]:
    """An MCP client over streamable HTTP whose every request carries `Authorization: Bearer <token>`."""
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30.0) as http:
        async with Client(streamable_http_client(url, http_client=http), **options) as client:
            yield client


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    content: dict[str, Any] = result.structured_content
    assert content is not None
    return content


def error_text(result: CallToolResult) -> str:
    assert result.is_error, f"expected a tool error, got {result.structured_content}"
    [content] = result.content
    assert isinstance(content, TextContent)
    return content.text


def post_initialize(served: Served, headers: dict[str, str]) -> httpx.Response:
    """A raw `initialize` POST to /mcp (the response body, an SSE stream, is not read)."""
    with (
        httpx.Client(timeout=10.0) as http,
        http.stream("POST", served.mcp_url, json=INITIALIZE, headers={**MCP_HEADERS, **headers}) as response,
    ):
        return response


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_valid_admin_token_lists_tools_and_creates_and_lists_agents(
    served: Served, platform: Platform, acme: Admin
) -> None:
    token = platform.access.token_for(acme)

    async with mcp_client(served.mcp_url, token) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert {"create_agent", "get_agent", "list_agents"} <= tools
        created = structured(await client.call_tool("create_agent", {"spec": {"name": "Support", "sop": SOP}}))
        listed = structured(await client.call_tool("list_agents", {}))

    assert [agent["id"] for agent in listed["agents"]] == [created["id"]]
    principal = Principal(tenant_id=acme.tenant_id, subject=acme.id, scopes=frozenset(acme.scopes))
    assert platform.agents.get(principal, created["id"]).name == "Support"  # stored in the token's tenant


async def test_a_legacy_handshake_client_works_too(served: Served, platform: Platform, acme: Admin) -> None:
    token = platform.access.token_for(acme)

    async with mcp_client(served.mcp_url, token, mode="legacy") as client:
        assert client.protocol_version in HANDSHAKE_PROTOCOL_VERSIONS
        created = structured(await client.call_tool("create_agent", {"spec": {"name": "Legacy", "sop": SOP}}))
        listed = structured(await client.call_tool("list_agents", {}))

    assert [agent["spec"]["name"] for agent in listed["agents"]] == ["Legacy"]
    assert created["tenant_id"] == acme.tenant_id


async def test_another_tenants_token_sees_none_of_its_agents(
    served: Served, platform: Platform, acme: Admin, globex: Admin
) -> None:
    async with mcp_client(served.mcp_url, platform.access.token_for(acme)) as client:
        agent = structured(await client.call_tool("create_agent", {"spec": {"name": "Support", "sop": SOP}}))

    async with mcp_client(served.mcp_url, platform.access.token_for(globex)) as rival:
        assert structured(await rival.call_tool("list_agents", {}))["agents"] == []
        assert "not_found: agent" in error_text(await rival.call_tool("get_agent", {"agent_id": agent["id"]}))


def test_no_token_gets_401_pointing_at_the_resource_metadata(served: Served) -> None:
    response = post_initialize(served, {})

    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{served.base_url}/.well-known/oauth-protected-resource/mcp"' in challenge


def test_the_protected_resource_metadata_names_this_server(served: Served) -> None:
    response = httpx.get(f"{served.base_url}/.well-known/oauth-protected-resource/mcp", timeout=10.0)

    assert response.status_code == 200
    metadata = response.json()
    assert metadata["resource"] == served.mcp_url
    assert [url.rstrip("/") for url in metadata["authorization_servers"]] == [served.base_url]
    assert metadata["bearer_methods_supported"] == ["header"]


def test_a_tampered_or_expired_token_gets_401(served: Served, platform: Platform, acme: Admin) -> None:
    token = platform.access.token_for(acme)
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    settings = platform.settings
    expired = issue_token(
        JwtSettings(secret=JWT_SECRET, issuer=settings.jwt_issuer, audience=settings.jwt_audience),
        Principal(tenant_id=acme.tenant_id, subject=acme.id, scopes=frozenset(acme.scopes)),
        ttl_seconds=60,
        now=datetime.now(UTC) - timedelta(hours=1),
    )

    for bad in (tampered, expired, "not-a-jwt"):
        response = post_initialize(served, bearer(bad))
        assert response.status_code == 401, bad
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert post_initialize(served, bearer(token)).status_code == 200  # the untampered token is fine


def test_a_foreign_host_header_gets_421(served: Served, platform: Platform, acme: Admin) -> None:
    token = platform.access.token_for(acme)

    assert post_initialize(served, {**bearer(token), "Host": f"evil.example:{served.port}"}).status_code == 421
    assert post_initialize(served, {**bearer(token), "Host": "127.0.0.1:1"}).status_code == 421  # other port
    assert post_initialize(served, {**bearer(token), "Origin": "http://evil.example"}).status_code == 403
    assert post_initialize(served, {**bearer(token), "Host": f"localhost:{served.port}"}).status_code == 200


def test_the_platform_routes_still_answer_beside_mcp(served: Served, platform: Platform, acme: Admin) -> None:
    token = platform.access.token_for(acme)

    assert httpx.get(f"{served.base_url}/healthz", timeout=10.0).json() == {"status": "ok"}
    me = httpx.get(f"{served.base_url}/api/v1/me", headers=bearer(token), timeout=10.0)
    assert me.json()["tenant"]["id"] == acme.tenant_id
    assert httpx.get(f"{served.base_url}/nothing-here", timeout=10.0).status_code == 404


def test_the_public_url_names_the_server_and_is_an_accepted_host(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, jwt_secret=SecretStr(JWT_SECRET), public_url="https://oratio.example.com/")
    with open_platform(settings) as platform, serving(platform) as served:
        token = platform.access.token_for(new_admin(platform, "Acme"))
        metadata = httpx.get(f"{served.base_url}/.well-known/oauth-protected-resource/mcp", timeout=10.0).json()
        unauthenticated = post_initialize(served, {})
        public_host = post_initialize(served, {**bearer(token), "Host": "oratio.example.com"})

    assert metadata["resource"] == "https://oratio.example.com/mcp"
    assert (
        'resource_metadata="https://oratio.example.com/.well-known/oauth-protected-resource/mcp"'
        in (unauthenticated.headers["www-authenticate"])
    )
    assert public_host.status_code == 200


@pytest.mark.parametrize(
    ("host", "expected_hosts"),
    [
        ("127.0.0.1", {"127.0.0.1:8000", "localhost:8000", "[::1]:8000"}),
        ("0.0.0.0", {"127.0.0.1:8000", "localhost:8000", "[::1]:8000"}),
        ("10.0.0.5", {"10.0.0.5:8000"}),
    ],
)
def test_allowed_hosts_are_the_bound_port_and_the_public_host_only(host: str, expected_hosts: set[str]) -> None:
    security = transport_security("https://oratio.example.com", host, 8000)

    assert security.enable_dns_rebinding_protection
    assert set(security.allowed_hosts) == expected_hosts | {"oratio.example.com"}
    assert set(security.allowed_origins) == {f"http://{h}" for h in expected_hosts} | {"https://oratio.example.com"}
    assert not any("*" in value for value in security.allowed_hosts + security.allowed_origins)
