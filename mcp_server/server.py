"""Builds Oratio's MCP server: tools, resources and prompts over the service layer.

The server is transport-agnostic; `mcp_server.http` and `mcp_server.stdio` are thin adapters.
Registration is explicit (each module's `register`), never an import side effect.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from mcp_server import prompts, resources
from mcp_server._context import ToolContext
from mcp_server._principal import PrincipalSource
from mcp_server.tools import agents, documents, keys, notifications, sessions
from oratio.platform import Platform

INSTRUCTIONS = """\
Oratio runs voice and text AI agents for an organisation. Create an agent from an SOP with
create_agent, add knowledge documents, mint an API key for the customer app, then watch sessions
and handoff notifications. Ids carry a prefix: agt_ agents, doc_ documents, key_ API keys,
ses_ sessions, ntf_ notifications."""


def build_server(platform: Platform, principals: PrincipalSource, **server_options: object) -> MCPServer:
    server = MCPServer(name="oratio", instructions=INSTRUCTIONS, version="0.1.0", **server_options)  # type: ignore[arg-type]
    tc = ToolContext(platform=platform, principals=principals)
    for module in (agents, documents, keys, sessions, notifications, resources, prompts):
        module.register(server, tc)
    return server
