"""Agent tools: create, inspect, change, pause, resume and delete agents."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import InputRequiredResult
from pydantic import Field

from mcp_server._context import ToolContext, tool_errors
from mcp_server.models import Deleted, DocumentInput
from mcp_server.tools._build import start_build
from mcp_server.tools._register import reads, tool, writes
from oratio.errors import InvalidState
from oratio.store.ports import Page
from schemas import (
    Agent,
    AgentSpec,
    AgentStatus,
    AgentUpdate,
    CreateAgent,
    CreationRecord,
    Identifier,
    Limits,
    Model,
)


class CreationRecords(Model):
    records: list[CreationRecord]


class AgentList(Model):
    agents: list[Agent]
    next_cursor: str | None = Field(description="Pass back as `cursor` for the next page; null at the end")


def _agent_list(page: Page[Agent]) -> AgentList:
    return AgentList(agents=page.items, next_cursor=page.next_cursor)


AgentId = Annotated[Identifier, Field(description="Agent id, e.g. agt_01...")]


def register(server: MCPServer, tc: ToolContext) -> None:
    platform = tc.platform

    @tool(server, writes("Create agent", destructive=False, idempotent=False, open_world=True))
    async def create_agent(
        spec: AgentSpec,
        ctx: Context,
        documents: Annotated[
            list[DocumentInput],
            Field(
                description="Knowledge-base documents the agent answers from",
                max_length=Limits.DOCUMENTS_PER_REQUEST_MAX,
            ),
        ] = [],  # noqa: B006 - pydantic copies defaults; a tuple would change the JSON schema
        wait: Annotated[bool, Field(description="Wait for the AgentCreator to finish; false returns at once")] = True,
    ) -> Agent | InputRequiredResult:
        """Create an agent from an SOP (standard operating procedure), configuration and documents.

        The agent is stored as `creating`, its documents are stored, then the AgentCreator builds,
        reviews, tests and deploys it; progress is reported per stage. Use `get_agent` to follow an
        agent created with wait=false. Names are unique per organisation. With no model on the server,
        your own model drafts and reviews the plan (MCP sampling) and the call waits for it. Over HTTP
        one request carries about one maximum-size document; add large documents with upload_document.
        """
        principal = tc.principal()

        async def store() -> Agent:
            with tool_errors():
                request = CreateAgent(spec=spec, documents=[d.to_content() for d in documents])
            await tc.call(lambda: platform.agent_tools.check_tools(principal, spec.tools))
            agent = await tc.call(lambda: platform.agents.create(principal, request))
            await ctx.report_progress(0, 6, f"stored agent {agent.id} with {len(documents)} document(s)")
            return agent

        return await start_build(tc, principal, ctx, wait, store)

    @tool(server, reads("Get agent"))
    async def get_agent(agent_id: AgentId) -> Agent:
        """Get one agent: its spec (SOP, configuration), status and the reason for a failed status."""
        principal = tc.principal()
        return await tc.call(lambda: platform.agents.get(principal, agent_id))

    @tool(server, reads("List agents"))
    async def list_agents(
        status: AgentStatus | None = None,
        limit: Annotated[int, Field(ge=1, le=200)] = 50,
        cursor: str | None = None,
    ) -> AgentList:
        """List the organisation's agents, optionally only those with one status, oldest first."""
        principal = tc.principal()
        page = await tc.call(lambda: platform.agents.list(principal, status=status, limit=limit, cursor=cursor))
        return _agent_list(page)

    @tool(server, writes("Update and rebuild agent", destructive=True, idempotent=False, open_world=True))
    async def update_agent(
        agent_id: AgentId,
        change: AgentUpdate,
        ctx: Context,
        wait: Annotated[bool, Field(description="Wait for the rebuild; false returns at once")] = True,
    ) -> Agent | InputRequiredResult:
        """Change an agent's SOP or configuration (only the fields given; the name is fixed) and rebuild it.

        The AgentCreator builds, reviews and tests a new version; an active agent keeps serving its
        current version until the new one passes and is deployed. If the rebuild fails, the old
        version stays live and `get_creation_records` says why.
        """
        principal = tc.principal()

        async def store() -> Agent:
            await tc.call(lambda: platform.agent_tools.check_tools(principal, change.tools or []))
            return await tc.call(lambda: platform.agents.update(principal, agent_id, change))

        return await start_build(tc, principal, ctx, wait, store)

    @tool(server, writes("Retry agent creation", destructive=False, idempotent=False, open_world=True))
    async def retry_creation(
        agent_id: AgentId,
        ctx: Context,
        wait: Annotated[bool, Field(description="Wait for the build; false returns at once")] = True,
    ) -> Agent | InputRequiredResult:
        """Build a `failed` agent again from its current spec, e.g. after a creation a server restart
        interrupted. To change the spec at the same time, use update_agent instead."""
        principal = tc.principal()

        async def failed_agent() -> Agent:
            agent = await tc.call(lambda: platform.agents.get(principal, agent_id))
            if agent.status is not AgentStatus.FAILED:
                with tool_errors():
                    raise InvalidState(f"agent '{agent_id}' is {agent.status.value}; only a failed agent is retried")
            return agent

        return await start_build(tc, principal, ctx, wait, failed_agent)

    @tool(server, reads("Get agent creation records"))
    async def get_creation_records(agent_id: AgentId) -> CreationRecords:
        """How the AgentCreator built each version of an agent: stages with durations and model calls,
        the parsed SOP, every plan review verdict and the test conversations' outcomes."""
        principal = tc.principal()
        agent = await tc.call(lambda: platform.agents.get(principal, agent_id))
        builder = platform.builder
        if builder is None:
            return CreationRecords(records=[])
        return CreationRecords(records=await tc.call(lambda: builder.records(agent.tenant_id, agent.id)))

    @tool(server, writes("Pause agent", destructive=False, idempotent=True))
    async def pause_agent(agent_id: AgentId) -> Agent:
        """Stop an active agent from taking new conversations (resume_agent undoes it)."""
        principal = tc.principal()
        return await tc.call(lambda: platform.agents.pause(principal, agent_id))

    @tool(server, writes("Resume agent", destructive=False, idempotent=True))
    async def resume_agent(agent_id: AgentId) -> Agent:
        """Let a paused agent take conversations again."""
        principal = tc.principal()
        return await tc.call(lambda: platform.agents.resume(principal, agent_id))

    @tool(server, writes("Delete agent", destructive=True, idempotent=True))
    async def delete_agent(agent_id: AgentId) -> Deleted:
        """Delete an agent with its API keys and documents. Past sessions are kept. Cannot be undone."""
        principal = tc.principal()
        await tc.call(lambda: platform.agents.delete(principal, agent_id))
        return Deleted(id=agent_id)
