"""Starting the AgentCreator from a tool: with progress while the caller waits, or in the background.

With no server-side model the caller's own model thinks for the build (MCP sampling, see
`mcp_server.sampling`): over input-required rounds for current clients, mid-call for legacy ones.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from mcp.server.mcpserver import Context
from mcp.types import InputRequiredResult

from mcp_server._context import ToolContext, tool_errors
from mcp_server.sampling import (
    AnswerTape,
    RoundState,
    client_can_sample,
    live_asker,
    thinking_models,
    uses_input_rounds,
)
from oratio.errors import InvalidInput, OratioError
from oratio.services.creation import AnswerPending, start_in_background
from oratio.services.creation import build_thread_name as build_thread_name  # re-exported: tools and tests use it
from oratio.services.creation_owner import NO_MODEL_CONFIGURED, WAITING_FOR_MODEL
from schemas import Agent, AgentStatus, Principal

NO_MODEL = (
    f"{NO_MODEL_CONFIGURED} on the server (set ORATIO_MODEL) and this MCP client offers no sampling, "
    "so nobody can draft the plan; the agent is stored as it is. Set ORATIO_MODEL (ORATIO_MODEL=scripted to try "
    "offline) and call update_agent."
)


WAITING_FOR_CLIENT = (
    "the MCP client's model is answering the AgentCreator's question {number} (sampling); "
    "if that client went away, call update_agent to build again"
)


def continuing_round(ctx: Context) -> RoundState | None:
    """The state of an input round in progress, if this call is a client's retry with answers."""
    state = RoundState.decode(ctx.request_state)
    if ctx.request_state is not None and state is None:
        with tool_errors():
            raise InvalidInput("request_state is not one this server issued for an agent build; start the call anew")
    return state


async def start_build(
    tc: ToolContext,
    principal: Principal,
    ctx: Context,
    wait: bool,
    store: Callable[[], Awaitable[Agent]],
) -> Agent | InputRequiredResult:
    """Store the change (`store`) on a call's first round, then build the agent.

    A retry round of an input-required build (the client answering a question) finds its agent in
    the sealed request state and must not store the change again.
    """
    state = continuing_round(ctx)
    if state is not None:
        agent = await tc.call(lambda: tc.platform.agents.get(principal, state.agent_id))
        return await _build_with_client_model(tc, agent, principal, ctx, state.with_answer(ctx))
    return await build_agent(tc, await store(), principal, ctx, wait)


async def build_agent(
    tc: ToolContext, agent: Agent, principal: Principal, ctx: Context, wait: bool
) -> Agent | InputRequiredResult:
    """Run the AgentCreator on the agent's current spec: reporting progress, or in the background."""
    builder = tc.platform.builder
    if builder is None or (not builder.has_model and not client_can_sample(ctx)):
        await ctx.report_progress(6, 6, NO_MODEL)
        if agent.status is AgentStatus.CREATING:
            reason = WAITING_FOR_MODEL + NO_MODEL
            return await tc.call(lambda: tc.platform.agents.note(agent.tenant_id, agent.id, reason))
        return agent
    if not builder.has_model:
        return await _build_with_client_model(tc, agent, principal, ctx, RoundState(agent.id, []))
    if not wait:
        start_in_background(builder, agent.tenant_id, agent.id)
        return agent
    await builder.create(agent.tenant_id, agent.id, ctx.report_progress)
    return await tc.call(lambda: tc.platform.agents.get(principal, agent.id))


async def _build_with_client_model(
    tc: ToolContext, agent: Agent, principal: Principal, ctx: Context, state: RoundState
) -> Agent | InputRequiredResult:
    """Think with the caller's model (sampling), then build for real; `wait` cannot apply, the caller answers."""
    builder = tc.platform.builder
    assert builder is not None
    if uses_input_rounds(ctx):
        tape = AnswerTape(list(state.answers))
        try:
            await builder.think(agent.tenant_id, agent.id, thinking_models(tape))
        except AnswerPending as pending:
            done = len(state.answers)
            await ctx.report_progress(done, done + 1, f"asking your model question {done + 1} (plan drafting/review)")
            # Between rounds no process owns the build; the note tells crash recovery on any replica that the
            # build waits on the client (a person may take minutes to approve a sampling request), not a dead one.
            # (A rebuild of an active agent keeps serving its current version meanwhile: nothing to note.)
            if agent.status is AgentStatus.CREATING:
                reason = WAITING_FOR_MODEL + WAITING_FOR_CLIENT.format(number=done + 1)
                await tc.call(lambda: tc.platform.agents.note(agent.tenant_id, agent.id, reason))
            return state.ask(pending.question)
        except OratioError:
            pass  # the build below meets the same failure and records it on the agent
        tape = tape.rewound()
    else:
        tape = AnswerTape(ask=live_asker(ctx))
    await builder.create(agent.tenant_id, agent.id, ctx.report_progress, thinking=thinking_models(tape))
    return await tc.call(lambda: tc.platform.agents.get(principal, agent.id))


async def rebuild_after_knowledge_change(tc: ToolContext, principal: Principal, agent_id: str) -> bool:
    """An active agent's tests ran against its old documents: rebuild it (in the background) on a change.

    The current version keeps serving, now with the new documents, until the rebuilt one passes.
    Returns whether a rebuild was started (never without a server-side model: nobody would answer).
    """
    builder = tc.platform.builder
    if builder is None or not builder.has_model:
        return False
    agent = await tc.call(lambda: tc.platform.agents.get(principal, agent_id))
    if agent.status is not AgentStatus.ACTIVE:
        return False
    start_in_background(builder, agent.tenant_id, agent.id)
    return True
