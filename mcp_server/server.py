"""Builds Oratio's MCP server: tools, resources and prompts over the service layer.

The server is transport-agnostic; `mcp_server.http` and `mcp_server.stdio` are thin adapters.
Registration is explicit (each module's `register`), never an import side effect.

Live updates (`mcp_server.live`) are wired here: the server's subscription bus is tenant-scoped,
a middleware makes each `subscriptions/listen` stream follow its caller's event log, and the event
log tailer runs inside the server's lifespan, so it starts and stops with the transport.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, cast

from mcp.server.mcpserver import MCPServer, RequestStateSecurity

from mcp_server import prompts, resources
from mcp_server._context import McpServices, ToolContext
from mcp_server._principal import PrincipalSource
from mcp_server.live import LiveUpdates
from mcp_server.tools import (
    admins,
    agent_tools,
    agents,
    chat,
    deliveries,
    documents,
    handoffs,
    keys,
    notifications,
    plans,
    secrets,
    service_accounts,
    sessions,
    simulations,
)

INSTRUCTIONS = """\
Oratio runs voice and text AI agents for an organisation. Create an agent from an SOP with
create_agent, add knowledge documents, mint an API key for the customer app, then watch sessions
and handoff notifications. Read an agent's plan with get_agent_plan, change it with edit_agent_plan
(reviewed, simulated and deployed as a new version) and compare versions with diff_agent_plan.
Simulations gate every deploy: list_scenarios, add_scenario, set_scenario_critical, run_simulations.
Let an agent act with tools: add_agent_tool (an HTTP endpoint or an MCP server), import_openapi_tools
(after list_openapi_operations), try one with test_agent_tool; write tools need the customer's confirmation.
Ids carry a prefix: agt_ agents, doc_ documents, key_ API keys,
ses_ sessions, ntf_ notifications, dlv_ deliveries. Resources (oratio://agents/{id}, oratio://sessions/{id},
oratio://sessions/live, oratio://notifications) can be watched with subscriptions/listen; to follow one
conversation live (new turns, handoff moves), listen on and re-read oratio://sessions/{id}/events.
Secrets for tool headers (set_secret, list_secrets, delete_secret) are write-only: values are never shown."""

Lifespan = Callable[[MCPServer], AbstractAsyncContextManager[Any]]


def build_server(
    platform: McpServices,
    principals: PrincipalSource,
    *,
    live_poll_seconds: float | None = None,
    **server_options: object,
) -> MCPServer:
    """The MCP server for one transport. `server_options` go to `MCPServer` (auth, token verifier...).

    A `lifespan` given in `server_options` runs inside the live-updates one; `middleware` runs
    after the listen middleware. The subscription bus is always Oratio's tenant-scoped one.
    Live updates come from the platform's shared event tailer, unless `live_poll_seconds` asks for
    a tailer of this server's own polling at that interval (tests).
    """
    if "subscriptions" in server_options:
        raise TypeError("build_server wires its own tenant-scoped subscription bus; do not pass `subscriptions`")
    tail = platform.tailer(live_poll_seconds)
    live = LiveUpdates(tail, principals)
    inner = cast(Lifespan | None, server_options.pop("lifespan", None))
    extra_middleware = cast(list[Any], server_options.pop("middleware", None) or [])

    @asynccontextmanager
    async def lifespan(server: MCPServer) -> AsyncIterator[Any]:
        async with live.lifespan():
            if inner is None:
                yield {}
            else:
                async with inner(server) as state:
                    yield state

    # Sealed request state (sampling rounds) must open on any replica and after a restart, so the
    # key ring is configuration, never the SDK's per-process default.
    server_options.setdefault(
        "request_state_security", RequestStateSecurity(keys=platform.settings.resolved_request_state_keys())
    )
    server = MCPServer(
        name="oratio",
        instructions=INSTRUCTIONS,
        version="0.1.0",
        lifespan=lifespan,
        subscriptions=live.bus,
        middleware=[live.middleware, secrets.SecretArgumentGuard(), *extra_middleware],
        **server_options,  # type: ignore[arg-type]
    )
    tc = ToolContext(platform=platform, principals=principals)
    for module in (
        agents,
        agent_tools,
        plans,
        documents,
        keys,
        secrets,
        sessions,
        notifications,
        handoffs,
        deliveries,
        chat,
        admins,
        service_accounts,
        simulations,
        resources,
        prompts,
    ):
        module.register(server, tc)
    return server
