"""Admin access tools: list a tenant's admins, disable or enable one, revoke its tokens.

These act on admins of the caller's own tenant only (another tenant's admin id reads as unknown),
need the `admin` scope, and take effect at every door on the next request: MCP over HTTP, the
dashboard API, and an open `/ws/dashboard` stream, which is closed with 4401 and the reason.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from mcp_server._context import ToolContext
from mcp_server.tools._register import reads, tool, writes
from schemas import Admin, Identifier, Model

AdminId = Annotated[Identifier, Field(description="Id of an admin of your tenant, e.g. adm_01... (see list_admins)")]


class AdminList(Model):
    admins: list[Admin]


def register(server: MCPServer, tc: ToolContext) -> None:
    tenants = tc.platform.tenants

    @tool(server, reads("List admins"))
    async def list_admins() -> AdminList:
        """List the admins of your tenant: id, email, name, scopes, whether disabled, and since when
        their tokens are valid (`tokens_valid_after`, set by revoke_admin_tokens)."""
        principal = tc.principal()
        return AdminList(admins=await tc.call(lambda: tenants.list_admins(principal)))

    @tool(server, writes("Disable an admin", destructive=True, idempotent=True))
    async def disable_admin(admin_id: AdminId) -> Admin:
        """Disable an admin of your tenant: every token of theirs is refused at once, everywhere
        (MCP, dashboard, live streams), until enable_admin. The tenant's last enabled admin cannot
        be disabled."""
        principal = tc.principal()
        return await tc.call(lambda: tenants.set_admin_disabled(principal, admin_id, True))

    @tool(server, writes("Enable an admin", destructive=False, idempotent=True))
    async def enable_admin(admin_id: AdminId) -> Admin:
        """Enable a disabled admin of your tenant again. Tokens revoked with revoke_admin_tokens stay
        revoked; the admin needs a new token (`oratio admin token`)."""
        principal = tc.principal()
        return await tc.call(lambda: tenants.set_admin_disabled(principal, admin_id, False))

    @tool(server, writes("Revoke an admin's tokens", destructive=True, idempotent=False))
    async def revoke_admin_tokens(admin_id: AdminId) -> Admin:
        """Revoke every token issued to an admin of your tenant so far (e.g. a leaked token). The
        admin stays enabled; tokens minted afterwards (`oratio admin token`) work. Revoking your own
        tokens ends this connection's access too."""
        principal = tc.principal()
        return await tc.call(lambda: tenants.revoke_admin_tokens(principal, admin_id))
