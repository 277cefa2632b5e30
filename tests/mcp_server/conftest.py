"""Fixtures for MCP server tests: a real SQLite platform and in-memory MCP clients per tenant.

Every client talks to its own `build_server(...)` over the same platform, exactly as two operators
of two organisations would, so tenant isolation is tested through the real tool layer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from mcp import Client
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, SecretStr

from mcp_server._principal import OperatorPrincipal
from mcp_server.server import build_server
from oratio.config import Settings
from oratio.platform import Platform, open_platform
from schemas import Principal, Scope

M = TypeVar("M", bound=BaseModel)

JWT_SECRET = "x" * 40
SOP = "Greet the customer, answer from the knowledge base, and hand off when asked."


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    with open_platform(Settings(data_dir=tmp_path, jwt_secret=SecretStr(JWT_SECRET))) as opened:
        yield opened


def new_principal(platform: Platform, name: str, email: str = "owner@example.com") -> Principal:
    tenant = platform.tenants.create_tenant(name)
    admin = platform.tenants.create_admin(tenant.tenant_id, email, "Owner")
    return Principal(tenant_id=tenant.tenant_id, subject=admin.id, scopes=frozenset({Scope.ADMIN}))


@pytest.fixture
def acme(platform: Platform) -> Principal:
    return new_principal(platform, "Acme")


@pytest.fixture
def globex(platform: Platform) -> Principal:
    """A second tenant, to prove the first one's records are out of its reach."""
    return new_principal(platform, "Globex")


@pytest.fixture
async def client(platform: Platform, acme: Principal) -> AsyncIterator[Client]:
    async with Client(build_server(platform, OperatorPrincipal(acme))) as connected:
        yield connected


@pytest.fixture
async def rival(platform: Platform, globex: Principal) -> AsyncIterator[Client]:
    """Globex's operator: its own server instance over the same platform."""
    async with Client(build_server(platform, OperatorPrincipal(globex))) as connected:
        yield connected


def error_text(result: CallToolResult) -> str:
    assert result.is_error, f"expected a tool error, got {result.structured_content}"
    assert result.structured_content is None
    [content] = result.content
    assert isinstance(content, TextContent)
    return content.text


async def call(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call a tool that must succeed; its structured output."""
    result = await client.call_tool(tool, arguments or {})
    assert not result.is_error, result.content
    structured: dict[str, Any] | None = result.structured_content
    assert structured is not None
    return structured


async def call_as(client: Client, tool: str, arguments: dict[str, Any], model: type[M]) -> M:
    """Call a tool that must succeed and parse its structured output back into `model`."""
    return model.model_validate(await call(client, tool, arguments))


async def call_error(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> str:
    """Call a tool that must fail; the error text the model sees."""
    return error_text(await client.call_tool(tool, arguments or {}))


def spec(name: str = "Support", **fields: Any) -> dict[str, Any]:
    return {"name": name, "sop": SOP, **fields}
