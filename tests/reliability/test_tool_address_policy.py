"""An admin's tool can never point the platform at its own network: every way in is checked at add time.

The same address policy as webhooks (oratio.notify.address_policy), applied when a tool is added,
changed or imported, through the real MCP door over the default platform (no host allow-listed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import Client

from mcp_server import OperatorPrincipal, build_server
from oratio.platform import Platform
from schemas import Agent, AgentUpdate
from tests.support.mcp import call_as, call_error, spec
from tests.support.tenants import Tenancy

pytestmark = pytest.mark.anyio

INSIDE = [
    "http://127.0.0.1:8080/orders",
    "http://localhost/orders",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]/orders",
    "http://[::ffff:127.0.0.1]/orders",
    "http://10.0.0.5/orders",
    "http://192.168.1.10/orders",
    "http://100.64.0.1/orders",
    "http://0.0.0.0/orders",
]


def tool(url: str, **fields: Any) -> dict[str, Any]:
    return {"name": "get_order", "description": "Look up an order by its id", "url": url, **fields}


@pytest.fixture
async def admin(platform: Platform, acme: Tenancy) -> AsyncIterator[Client]:
    async with Client(build_server(platform, OperatorPrincipal(acme.principal))) as connected:
        yield connected


@pytest.mark.parametrize("url", INSIDE)
async def test_an_inside_address_is_refused_as_a_tool(admin: Client, url: str) -> None:
    agent = await call_as(admin, "create_agent", {"spec": spec()}, Agent)

    text = await call_error(admin, "add_agent_tool", {"agent_id": agent.id, "tool": tool(url)})

    assert ".url: refused by the address policy" in text or "does not resolve" in text, text
    mcp = {"kind": "mcp", "name": "crm", "url": url, "allowed_tools": ["find"]}
    assert "address policy" in await call_error(admin, "add_agent_tool", {"agent_id": agent.id, "tool": mcp})


async def test_a_change_or_an_import_cannot_move_a_tool_inside(
    admin: Client, platform: Platform, acme: Tenancy
) -> None:
    agent = await call_as(admin, "create_agent", {"spec": spec()}, Agent)
    platform.agents.update(
        acme.principal,
        agent.id,
        AgentUpdate(tools=[tool("https://93.184.215.14/orders/{order_id}")]),
    )

    changed = await call_error(
        admin,
        "update_agent_tool",
        {"agent_id": agent.id, "name": "get_order", "changes": {"url": "http://169.254.169.254/latest"}},
    )
    assert "address policy" in changed
    document = (
        '{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "servers": [{"url": "http://127.0.0.1:9"}],'
        ' "paths": {"/x": {"get": {"operationId": "getX", "summary": "Read the x resource"}}}}'
    )
    for base_url in (None, "http://169.254.169.254"):
        arguments: dict[str, Any] = {"agent_id": agent.id, "spec": document, "operations": ["getX"]}
        if base_url:
            arguments["base_url"] = base_url
        assert "address policy" in await call_error(admin, "import_openapi_tools", arguments)
    stored = platform.agents.get(acme.principal, agent.id).spec.tools
    assert [t.url for t in stored] == ["https://93.184.215.14/orders/{order_id}"]


async def test_create_agent_and_update_agent_check_their_tools_like_add(
    admin: Client, platform: Platform, acme: Tenancy
) -> None:
    """Tools given whole (AgentSpec.tools, AgentUpdate.tools) pass the same check as add_agent_tool."""
    created = await call_error(
        admin, "create_agent", {"spec": spec(name="Inside", tools=[tool("http://169.254.169.254/latest")])}
    )
    assert "tool 'get_order'.url: refused by the address policy" in created, created
    assert [a.spec.name for a in platform.agents.list(acme.principal).items] == []

    agent = await call_as(admin, "create_agent", {"spec": spec()}, Agent)
    for tools in (
        [tool("http://10.0.0.5/orders")],
        [{"kind": "mcp", "name": "crm", "url": "http://[::1]/mcp", "allowed_tools": ["find"]}],
    ):
        changed = await call_error(admin, "update_agent", {"agent_id": agent.id, "change": {"tools": tools}})
        assert "refused by the address policy" in changed, changed
    assert platform.agents.get(acme.principal, agent.id).spec.tools == []
