"""Calling MCP tools in tests: a call that must succeed (its structured output) or fail (its error text)."""

from __future__ import annotations

from typing import Any, TypeVar

from mcp import Client
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from tests.support.tenants import SOP

M = TypeVar("M", bound=BaseModel)


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
    """The `spec` argument of `create_agent`."""
    return {"name": name, "sop": SOP, **fields}
