"""Oratio's MCP server over stdio, for a local MCP client (Claude Desktop, Claude Code, an IDE).

The client starts `oratio mcp --tenant ten_...` as a subprocess and speaks MCP on its stdin and
stdout. There is no token: whoever can start the process can read the data directory, so the
process acts as the local operator of the chosen tenant (optionally as one of its admins).
stdout carries protocol only; logs go to stderr.
"""

from __future__ import annotations

import anyio
from pydantic import ValidationError

from mcp_server._context import McpServices
from mcp_server._principal import OperatorPrincipal
from mcp_server.server import build_server
from oratio.auth.principals import OPERATOR_SUBJECT, admin_as_principal, local_operator
from oratio.errors import InvalidInput, NotFound, Unauthenticated
from schemas import Principal

__all__ = ["OPERATOR_SUBJECT", "operator_of", "operator_principal", "serve_stdio"]


def operator_of(tenant_id: str) -> Principal:
    """The tenant's operator principal; InvalidInput for a malformed id (checked before any data is opened)."""
    if not tenant_id.startswith("ten_"):
        raise InvalidInput(f"--tenant needs a tenant id such as ten_01...; got {tenant_id!r}", field="tenant")
    try:
        return local_operator(tenant_id)
    except ValidationError:
        raise InvalidInput(f"{tenant_id!r} is not a valid tenant id", field="tenant") from None


def operator_principal(platform: McpServices, tenant_id: str, admin_id: str | None = None) -> Principal:
    """The principal a stdio session acts as: the tenant's operator, or one of its admins.

    Raises NotFound for an unknown tenant or admin and InvalidInput for a malformed id, so the
    CLI can refuse to start with one clear line instead of serving a tenant that does not exist.
    """
    operator = operator_of(tenant_id)
    if not platform.tenants.tenant_exists(tenant_id):
        raise NotFound(f"tenant '{tenant_id}' was not found (create one with: oratio init)")
    if admin_id is None:
        return operator
    admin = platform.tenants.get_admin(tenant_id, admin_id)
    if admin.disabled:
        raise Unauthenticated(f"admin {admin_id} is disabled")
    return admin_as_principal(admin)


def serve_stdio(platform: McpServices, principal: Principal) -> None:
    """Serve MCP on this process's stdin/stdout until the client closes stdin."""
    server = build_server(platform, OperatorPrincipal(principal))
    anyio.run(server.run_stdio_async)
