"""Every platform capability as MCP tools, resources and prompts, over stdio and streamable HTTP."""

from mcp_server._principal import OperatorPrincipal, OratioTokenVerifier, TokenPrincipal
from mcp_server.server import build_server

__all__ = ["OperatorPrincipal", "OratioTokenVerifier", "TokenPrincipal", "build_server"]
