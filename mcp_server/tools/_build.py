"""Starting the AgentCreator from a tool: with progress while the caller waits, or in the background."""

from __future__ import annotations

import threading

import anyio
from mcp.server.mcpserver import Context

from mcp_server._context import ToolContext
from oratio.services.creation import AgentBuilder
from schemas import Agent, AgentStatus, Principal


def build_thread_name(agent_id: str) -> str:
    return f"build-{agent_id}"


def start_in_background(builder: AgentBuilder, tenant_id: str, agent_id: str) -> None:
    """Run a build on its own thread and event loop, so it outlives the request that asked for it."""
    thread = threading.Thread(
        target=anyio.run, args=(builder.create, tenant_id, agent_id), name=build_thread_name(agent_id), daemon=True
    )
    thread.start()


async def build_agent(tc: ToolContext, agent: Agent, principal: Principal, ctx: Context, wait: bool) -> Agent:
    """Run the AgentCreator on the agent's current spec: reporting progress, or in the background."""
    builder = tc.platform.builder
    if builder is None:
        await ctx.report_progress(6, 6, "no AgentCreator is configured (set ORATIO_MODEL); agent left as is")
        return agent
    if not wait:
        start_in_background(builder, agent.tenant_id, agent.id)
        return agent
    await builder.create(agent.tenant_id, agent.id, ctx.report_progress)
    return await tc.call(lambda: tc.platform.agents.get(principal, agent.id))


async def rebuild_after_knowledge_change(tc: ToolContext, principal: Principal, agent_id: str) -> bool:
    """An active agent's tests ran against its old documents: rebuild it (in the background) on a change.

    The current version keeps serving, now with the new documents, until the rebuilt one passes.
    Returns whether a rebuild was started.
    """
    builder = tc.platform.builder
    if builder is None:
        return False
    agent = await tc.call(lambda: tc.platform.agents.get(principal, agent_id))
    if agent.status is not AgentStatus.ACTIVE:
        return False
    start_in_background(builder, agent.tenant_id, agent.id)
    return True
