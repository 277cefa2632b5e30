"""What can go wrong with an admin's MCP server, as the core's errors (doors and outcomes map them)."""

from __future__ import annotations

import httpx2

from oratio.errors import BackendUnavailable, InvalidInput


class McpRefused(InvalidInput):
    """The server may not be used: a private address, an unregistered stdio name, a missing secret."""

    code = "mcp_server_refused"


class McpUnavailable(BackendUnavailable):
    """The server did not answer as an MCP server should (down, slow, broken, too much data)."""

    code = "mcp_server_unavailable"


class ResponseTooLarge(httpx2.TransportError):
    """The server sent more bytes than one call may bring back."""
