"""Notifications tools."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from mcp_server._context import ToolContext


def register(server: MCPServer, tc: ToolContext) -> None:
    """Register the notifications tools on the server."""
