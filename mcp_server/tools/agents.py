"""Agent tools: create, inspect, change, pause, resume and delete agents."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field

from mcp_server._context import ToolContext, tool_errors
from mcp_server.models import Deleted, DocumentInput
from oratio.store.ports import Page
from schemas import Agent, AgentSpec, AgentStatus, AgentUpdate, CreateAgent, Identifier, Limits, Model


class AgentList(Model):
    agents: list[Agent]
    next_cursor: str | None = Field(description="Pass back as `cursor` for the next page; null at the end")


def _agent_list(page: Page[Agent]) -> AgentList:
    return AgentList(agents=page.items, next_cursor=page.next_cursor)


READ_ONLY = ToolAnnotations(readOnlyHint=True)

AgentId = Annotated[Identifier, Field(description="Agent id, e.g. agt_01...")]


def register(server: MCPServer, tc: ToolContext) -> None:
    platform = tc.platform

    @server.tool()
    async def create_agent(
        spec: AgentSpec,
        ctx: Context,
        documents: Annotated[
            list[DocumentInput],
            Field(
                description="Knowledge-base documents the agent answers from",
                max_length=Limits.DOCUMENTS_PER_AGENT_MAX,
            ),
        ] = [],  # noqa: B006 - pydantic copies defaults; a tuple would change the JSON schema
        wait: Annotated[bool, Field(description="Wait for the AgentCreator to finish; false returns at once")] = True,
    ) -> Agent:
        """Create an agent from an SOP (standard operating procedure), configuration and documents.

        The agent is stored as `creating`, its documents are stored, then the AgentCreator builds,
        reviews, tests and deploys it; progress is reported per stage. Use `get_agent` to follow an
        agent created with wait=false. Names are unique per organisation.
        """
        principal = tc.principal()
        with tool_errors():
            request = CreateAgent(spec=spec, documents=[d.to_content() for d in documents])
        await ctx.report_progress(0, 2, "validated the spec and documents")
        agent = await tc.call(lambda: platform.agents.create(principal, request))
        await ctx.report_progress(1, 2, f"stored agent {agent.id} with {len(documents)} document(s)")
        # The AgentCreator pipeline (issue 6) takes over from here; until it exists the agent
        # stays `creating` whether or not the caller waits.
        await ctx.report_progress(2, 2, f"agent is {agent.status.value}")
        del wait
        return agent

    @server.tool(annotations=READ_ONLY)
    async def get_agent(agent_id: AgentId) -> Agent:
        """Get one agent: its spec (SOP, configuration), status and the reason for a failed status."""
        principal = tc.principal()
        return await tc.call(lambda: platform.agents.get(principal, agent_id))

    @server.tool(annotations=READ_ONLY)
    async def list_agents(
        status: AgentStatus | None = None,
        limit: Annotated[int, Field(ge=1, le=200)] = 50,
        cursor: str | None = None,
    ) -> AgentList:
        """List the organisation's agents, optionally only those with one status, oldest first."""
        principal = tc.principal()
        page = await tc.call(lambda: platform.agents.list(principal, status=status, limit=limit, cursor=cursor))
        return _agent_list(page)

    @server.tool()
    async def update_agent(agent_id: AgentId, change: AgentUpdate) -> Agent:
        """Change an agent's SOP or configuration. Only the fields given change; the name is fixed."""
        principal = tc.principal()
        return await tc.call(lambda: platform.agents.update(principal, agent_id, change))

    @server.tool()
    async def pause_agent(agent_id: AgentId) -> Agent:
        """Stop an active agent from taking new conversations (resume_agent undoes it)."""
        principal = tc.principal()
        return await tc.call(lambda: platform.agents.pause(principal, agent_id))

    @server.tool()
    async def resume_agent(agent_id: AgentId) -> Agent:
        """Let a paused agent take conversations again."""
        principal = tc.principal()
        return await tc.call(lambda: platform.agents.resume(principal, agent_id))

    @server.tool(annotations=ToolAnnotations(destructiveHint=True))
    async def delete_agent(agent_id: AgentId) -> Deleted:
        """Delete an agent with its API keys and documents. Past sessions are kept. Cannot be undone."""
        principal = tc.principal()
        await tc.call(lambda: platform.agents.delete(principal, agent_id))
        return Deleted(id=agent_id)
