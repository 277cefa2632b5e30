"""The MCP server's fixtures: in-memory MCP clients per tenant over the root `platform`.

Every client talks to its own `build_server(...)` over the same platform, exactly as two operators
of two organisations would, so tenant isolation is tested through the real tool layer. Here `acme`
and `globex` are the tenants' admin principals (what an operator's server acts as). Calling tools:
`tests.support.mcp`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import Client

from mcp_server._principal import OperatorPrincipal
from mcp_server.server import build_server
from oratio.platform import Platform
from schemas import Principal
from tests.support.tenants import new_principal


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"embeddings": True}  # hybrid search, as an installation has it by default


@pytest.fixture
def acme(platform: Platform) -> Principal:
    return new_principal(platform, "Acme", "owner@example.com")


@pytest.fixture
def globex(platform: Platform) -> Principal:
    """A second tenant, to prove the first one's records are out of its reach."""
    return new_principal(platform, "Globex", "owner@example.com")


@pytest.fixture
async def client(platform: Platform, acme: Principal) -> AsyncIterator[Client]:
    async with Client(build_server(platform, OperatorPrincipal(acme))) as connected:
        yield connected


@pytest.fixture
async def rival(platform: Platform, globex: Principal) -> AsyncIterator[Client]:
    """Globex's operator: its own server instance over the same platform."""
    async with Client(build_server(platform, OperatorPrincipal(globex))) as connected:
        yield connected
