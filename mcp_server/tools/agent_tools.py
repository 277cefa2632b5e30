"""An agent's own tools (HTTP endpoints, MCP servers) for an admin driving from their MCP client.

Every change is stored on the agent's spec and then rebuilds the agent through the AgentCreator,
like `update_agent`: the current version keeps serving until the rebuilt one passes review and
simulations. The service (`oratio.services.agent_tools.ToolService`) does the checking.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import InputRequiredResult
from pydantic import Field

from mcp_server._context import ToolContext, tool_errors
from mcp_server.tools._build import start_build
from mcp_server.tools._register import reads, tool, writes
from oratio.actions.openapi import OperationInfo
from schemas import Agent, Identifier, Model, ToolTestResult
from schemas.tools import TOOLS_PER_AGENT_MAX, ToolDefinition

OPERATIONS_SHOWN = 300

AgentId = Annotated[Identifier, Field(description="Agent id, e.g. agt_01...")]
ToolName = Annotated[str, Field(min_length=1, max_length=64, description="The tool's name, e.g. get_order")]
SpecText = Annotated[
    str, Field(min_length=1, max_length=2_100_000, description="The OpenAPI 3.0 or 3.1 document, JSON or YAML")
]
Wait = Annotated[bool, Field(description="Wait for the rebuild; false returns at once")]


class AgentTools(Model):
    agent_id: str
    tools: list[ToolDefinition]


class OperationList(Model):
    operations: list[OperationInfo]
    total: int = Field(description=f"Operations in the document (at most {OPERATIONS_SHOWN} are listed)")


def register(server: MCPServer, tc: ToolContext) -> None:
    platform = tc.platform

    @tool(server, reads("List agent tools"))
    async def list_agent_tools(agent_id: AgentId) -> AgentTools:
        """List the tools an agent can act with: HTTP endpoints (kind "http") and MCP servers (kind "mcp").

        Header values show secret references ({{secret:NAME}}), never secret values.
        """
        principal = tc.principal()
        tools = await tc.call(lambda: platform.agent_tools.list_tools(principal, agent_id))
        return AgentTools(agent_id=agent_id, tools=tools)

    @tool(server, writes("Add agent tool", destructive=False, idempotent=False, open_world=True))
    async def add_agent_tool(
        agent_id: AgentId, tool: ToolDefinition, ctx: Context, wait: Wait = True
    ) -> Agent | InputRequiredResult:
        """Give an agent a tool, then rebuild it (like update_agent).

        An HTTP tool: name (lowercase, e.g. get_order), a description the agent's model reads to decide
        when to call it, a JSON Schema (draft 2020-12) of the arguments, method, url with {argument}
        placeholders, headers (put credentials as {{secret:NAME}} after storing them with set_secret),
        timeout_seconds, and write=true for anything that changes something (cancel, refund, book): a
        write tool runs only after the customer explicitly confirms. An MCP server (kind "mcp"): url and
        bearer_secret, or an operator-registered stdio server, and allowed_tools. The URL must pass the
        same address policy as webhooks (no private or loopback hosts unless the operator allows them).
        Try it with test_agent_tool.
        """
        principal = tc.principal()

        async def store() -> Agent:
            return await tc.call(lambda: platform.agent_tools.add_tool(principal, agent_id, tool))

        return await start_build(tc, principal, ctx, wait, store)

    @tool(server, writes("Update agent tool", destructive=True, idempotent=False, open_world=True))
    async def update_agent_tool(
        agent_id: AgentId,
        name: ToolName,
        changes: Annotated[
            dict[str, Any],
            Field(description='The fields to change, e.g. {"timeout_seconds": 5} or {"name": "find_order"}'),
        ],
        ctx: Context,
        wait: Wait = True,
    ) -> Agent | InputRequiredResult:
        """Change some fields of one of an agent's tools (checked like a new tool), then rebuild the agent.

        The agent keeps serving its current version until the rebuilt one passes review and simulations.
        """
        principal = tc.principal()

        async def store() -> Agent:
            return await tc.call(lambda: platform.agent_tools.update_tool(principal, agent_id, name, changes))

        return await start_build(tc, principal, ctx, wait, store)

    @tool(server, writes("Remove agent tool", destructive=True, idempotent=False, open_world=True))
    async def remove_agent_tool(
        agent_id: AgentId, name: ToolName, ctx: Context, wait: Wait = True
    ) -> Agent | InputRequiredResult:
        """Take a tool away from an agent, then rebuild it; SOP steps that needed it are handed off."""
        principal = tc.principal()

        async def store() -> Agent:
            return await tc.call(lambda: platform.agent_tools.remove_tool(principal, agent_id, name))

        return await start_build(tc, principal, ctx, wait, store)

    @tool(server, writes("Test agent tool", destructive=True, idempotent=False, open_world=True))
    async def test_agent_tool(
        agent_id: AgentId,
        name: ToolName,
        arguments: Annotated[dict[str, Any], Field(description="Sample arguments, as the agent's model would send")],
        send: Annotated[bool, Field(description="Really call the endpoint; false is a dry run")] = False,
        confirm_write: Annotated[
            bool, Field(description="Needed with send=true for a write tool: the call really changes something")
        ] = False,
    ) -> ToolTestResult:
        """Try one of an agent's tools: an HTTP tool with sample arguments, or an MCP server (no arguments).

        A dry run (the default) checks the arguments against the tool's schema and shows the request it
        would send, with secrets masked. send=true makes the call and shows what came back; for a write
        tool it also needs confirm_write=true, since the call is real (a test order gets cancelled).
        For an MCP server, send=true lists its tools as a build would (address policy, bearer secret,
        timeout) and shows each allowed tool with its input schema (`discovered`), or why it cannot be used.
        """
        principal = tc.principal()
        with tool_errors():
            return await platform.agent_tools.test_tool(
                principal, agent_id, name, arguments, send=send, confirm_write=confirm_write
            )

    @tool(server, reads("List OpenAPI operations"))
    async def list_openapi_operations(spec: SpecText) -> OperationList:
        """List the operations of an OpenAPI 3.0/3.1 document (JSON or YAML, up to 2 MB) to pick from.

        Each shows its key ("METHOD /path"), operationId, summary, whether it is a write (POST, PUT,
        PATCH, DELETE: confirmed by the customer before it runs) and the tool name it would get.
        Import the ones the agent needs with import_openapi_tools. Errors name the place in the document.
        """
        principal = tc.principal()
        operations = await tc.call(lambda: platform.agent_tools.list_openapi_operations(principal, spec))
        return OperationList(operations=operations[:OPERATIONS_SHOWN], total=len(operations))

    @tool(server, writes("Import OpenAPI tools", destructive=True, idempotent=False, open_world=True))
    async def import_openapi_tools(
        agent_id: AgentId,
        spec: SpecText,
        operations: Annotated[
            list[str],
            Field(
                min_length=1,
                max_length=TOOLS_PER_AGENT_MAX,
                description='operationIds or "METHOD /path" keys from list_openapi_operations',
            ),
        ],
        ctx: Context,
        base_url: Annotated[
            str | None, Field(description="Overrides the document's servers, e.g. https://api.example.com/v2")
        ] = None,
        replace: Annotated[bool, Field(description="Replace the agent's tools of the same names")] = False,
        wait: Wait = True,
    ) -> Agent | InputRequiredResult:
        """Add operations of an OpenAPI 3.x document as the agent's HTTP tools, then rebuild the agent.

        Path and query parameters and a JSON body become the arguments. Credentials the document's
        security schemes need become headers with {{secret:NAME}} references: store each NAME with
        set_secret first (the error lists the missing ones). Review the result with list_agent_tools
        and adjust with update_agent_tool.
        """
        principal = tc.principal()

        async def store() -> Agent:
            agent, _ = await tc.call(
                lambda: platform.agent_tools.import_openapi(
                    principal, agent_id, spec, operations, base_url=base_url, replace=replace
                )
            )
            return agent

        return await start_build(tc, principal, ctx, wait, store)
