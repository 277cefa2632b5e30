"""`serve-door mcp --agentcore` as AgentCore runs it: the MCP app behind `AgentCoreIngress`, bound to
0.0.0.0:8000, reached with AgentCore's Host, its own JWT in Authorization, a platform-made Mcp-Session-Id,
and Oratio's admin token in the forwarded custom header. Real uvicorn on 127.0.0.1, real MCP client."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from deploy.plan import CUSTOM_AUTHORIZATION
from mcp_server.http import create_mcp_http_app, default_public_url
from oratio.agentcore_ingress import AgentCoreIngress
from oratio.platform import Platform
from tests.net import uvicorn_in_thread

pytestmark = pytest.mark.anyio
AGENTCORE_HOST = "bedrock-agentcore.us-east-1.amazonaws.com"
SOP = "Greet the customer, answer from the knowledge base, and hand off when asked."


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"embeddings": True}


@pytest.fixture
def mcp_url(platform: Platform) -> Iterator[str]:
    def build(port: int) -> Any:
        app = create_mcp_http_app(platform, public_url=default_public_url("0.0.0.0", 8000), host="0.0.0.0", port=8000)
        return AgentCoreIngress(app, "0.0.0.0", 8000)

    with uvicorn_in_thread(build) as port:
        yield f"http://127.0.0.1:{port}/mcp"


@asynccontextmanager
async def through_agentcore(url: str, headers: dict[str, str]) -> AsyncIterator[Client]:
    base = {"Host": AGENTCORE_HOST, "Authorization": "Bearer issuer-jwt", "Mcp-Session-Id": str(uuid.uuid4())}
    async with httpx2.AsyncClient(headers={**base, **headers}, timeout=30.0) as http:
        async with Client(streamable_http_client(url, http_client=http)) as client:
            yield client


async def test_the_admin_token_in_the_custom_header_runs_tools_in_its_tenant(platform: Platform, mcp_url: str) -> None:
    tenant = platform.tenants.create_tenant("Acme")
    admin = platform.tenants.create_admin(tenant.tenant_id, "ops@acme.example", "Ops")
    token = platform.access.token_for(admin)
    async with through_agentcore(mcp_url, {CUSTOM_AUTHORIZATION: f"Bearer {token}"}) as client:
        assert "create_agent" in {tool.name for tool in (await client.list_tools()).tools}
        created = await client.call_tool("create_agent", {"spec": {"name": "Support", "sop": SOP}})
    assert not created.is_error and created.structured_content is not None
    assert created.structured_content["tenant_id"] == tenant.tenant_id


def test_agentcore_s_own_jwt_alone_is_not_an_oratio_token(mcp_url: str) -> None:
    response = httpx.post(
        mcp_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Host": AGENTCORE_HOST, "Authorization": "Bearer issuer-jwt", "Accept": "application/json"},
        timeout=10.0,
    )
    assert response.status_code == 401
