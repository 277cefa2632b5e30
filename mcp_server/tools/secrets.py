"""Secret tools: set, list and delete the tenant secrets that tools' headers and MCP servers reference.

Write-only by design: `set_secret` takes the value and answers with the name and dates, and nothing
reads a value back through MCP. The value parameter is a plain string (its size is checked by the
service), so a refused value is described, never quoted back in a validation error.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from mcp_server._context import ToolContext
from mcp_server.tools._register import reads, tool, writes
from schemas import Model
from schemas.tools import SECRET_VALUE_MAX, SecretInfo

SecretNameArg = Annotated[
    str,
    Field(
        max_length=64,
        description="Uppercase letters, digits and underscores, e.g. ORDERS_API_TOKEN; a tool header "
        "refers to it as {{secret:ORDERS_API_TOKEN}}",
    ),
]


class SecretList(Model):
    secrets: list[SecretInfo] = Field(description="Names and dates only: values are never shown")


def register(server: MCPServer, tc: ToolContext) -> None:
    platform = tc.platform

    @tool(server, writes("Set secret", destructive=True, idempotent=True))
    async def set_secret(
        name: SecretNameArg,
        value: Annotated[
            str, Field(description=f"The secret value (at most {SECRET_VALUE_MAX} bytes); stored encrypted")
        ],
    ) -> SecretInfo:
        """Store a secret (an API token, a password) for this tenant's agent tools, or replace its value.

        Reference it from an HTTP tool's header as `Bearer {{secret:NAME}}`, or name it as an MCP
        server's `bearer_secret`. The value is encrypted at rest and can never be read back (not by
        this tool, list_secrets or any other): to change it, set it again.
        """
        principal = tc.principal()
        return await tc.call(lambda: platform.secrets.put(principal, name, value))

    @tool(server, reads("List secrets"))
    async def list_secrets() -> SecretList:
        """List this tenant's secrets: names and when they were created and last set. Values are never shown."""
        principal = tc.principal()
        return SecretList(secrets=await tc.call(lambda: platform.secrets.list(principal)))

    @tool(server, writes("Delete secret", destructive=True, idempotent=False))
    async def delete_secret(name: SecretNameArg) -> SecretInfo:
        """Delete a secret. Tools whose headers or MCP servers reference it fail with a clear error until
        it is set again."""
        principal = tc.principal()
        return await tc.call(lambda: platform.secrets.delete(principal, name))
