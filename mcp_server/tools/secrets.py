"""Secret tools: set, list and delete the tenant secrets that tools' headers and MCP servers reference.

Write-only by design: `set_secret` takes the value and answers with the name and dates, and nothing
reads a value back through MCP. The value parameter is a plain string (its size is checked by the
service, whose errors never quote it). The SDK's own argument validation quotes what it refuses (a
missing `name` quotes the whole arguments object, value included), so `SecretArgumentGuard` checks
the shape of `set_secret`'s arguments first and refuses a bad one by field name only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent
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


SECRET_TOOLS = {"set_secret": ("name", "value")}
"""Tools whose arguments carry a secret value: name -> their (string) parameters, all required."""


class SecretArgumentGuard:
    """Server middleware: a secret-carrying tool call with arguments of the wrong shape is refused here,
    naming the parameters, before the SDK's validation could quote the arguments back."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params: Mapping[str, Any] = ctx.params or {}
        if ctx.method != "tools/call" or params.get("name") not in SECRET_TOOLS:
            return await call_next(ctx)
        expected = SECRET_TOOLS[params["name"]]
        arguments = params.get("arguments")
        if isinstance(arguments, Mapping) and all(isinstance(arguments.get(k), str) for k in expected):
            return await call_next(ctx)
        names = " and ".join(f"`{k}`" for k in expected)
        tool_name = params["name"]
        text = f"Error executing tool {tool_name}: invalid_input: {tool_name} takes {names}, each a string"
        return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


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
