"""Running a plan's Strands agent over one customer message: the part of a turn that talks to the model.

Shared by the conversation engine (which stores what happens) and the AgentCreator's simulations
(which runs SOP-derived test conversations against a plan before it is deployed, storing nothing),
so a plan is tested exactly the way it will serve customers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, cast

from strands import Agent, ModelRetryStrategy
from strands.models import Model
from strands.types.content import Messages

from oratio.runtime.action_tools import action_tools
from oratio.runtime.action_turn import ActionTurn
from oratio.runtime.reply import ReplyBuilder
from oratio.runtime.tools import TurnOutcome, WebhookCaller, build_tools
from oratio.services.knowledge import KnowledgeService
from schemas import AgentPlan, WebhookTool

logger = logging.getLogger("oratio.runtime")

AGENT_CYCLES = 8
"""Model calls per turn (each may run tools): a model looping on its tools stops here."""
RETRY_ATTEMPTS = 2
"""One quick retry on throttling; Strands' default backs off for minutes, far past any turn timeout."""


@dataclass
class AgentRun:
    """One message's run: the plan, where its tools act, and what they and the model decided."""

    plan: AgentPlan
    model: Model
    knowledge: KnowledgeService
    tenant_id: str
    agent_id: str
    agent_name: str
    outcome: TurnOutcome
    webhook: tuple[WebhookTool, WebhookCaller] | None = None
    actions: ActionTurn | None = None
    """The agent's own tools (`AgentPlan.actions`) for this turn, with the confirmation gate; None: not offered."""
    failure: str | None = None


async def stream_reply(
    run: AgentRun,
    history: Messages,
    prompt: Any,
    reply: ReplyBuilder,
    *,
    time_limit_s: float,
    system_prompt: str,
    deadline: float | None = None,
) -> AsyncGenerator[str, None]:
    """Run the agent over `history` + `prompt`, streaming text deltas, bounded by `time_limit_s`.

    The limit is applied per event inside (a cancel scope must not span a yield to the caller), which
    is why this takes a number rather than running under the caller's `fail_after`.

    A timeout or model failure is recorded on `run.failure` (never raised): the caller decides what
    the customer hears. `deadline` (the event loop's time), when given, is when the turn that began
    `time_limit_s` earlier must end (a confirmed action may have run before the model).
    """
    agent = Agent(
        model=run.model,
        messages=history,
        tools=[
            *build_tools(run.plan, run.knowledge, run.tenant_id, run.agent_id, run.outcome, run.webhook),
            *(action_tools(run.actions) if run.actions is not None else ()),
        ],
        system_prompt=system_prompt,
        callback_handler=None,  # no printing to stdout; we read the event stream ourselves
        # A strategy keeps per-invocation state, so each agent gets its own.
        retry_strategy=ModelRetryStrategy(max_attempts=RETRY_ATTEMPTS, initial_delay=1, max_delay=2),
        agent_id=run.agent_id,
        name=run.agent_name,
        record_direct_tool_call=False,
    )
    timer = Deadline(deadline if deadline is not None else asyncio.get_running_loop().time() + time_limit_s)
    # stream_async is an async generator (typed as an iterator); we close it on every way out.
    events = cast(AsyncGenerator[dict[str, Any], None], agent.stream_async(prompt, limits={"turns": AGENT_CYCLES}))
    try:
        while True:
            try:
                event = await timer.next(events)  # the deadline covers the whole turn
            except StopAsyncIteration:
                return
            if "data" in event:
                if delta := reply.add(str(event["data"])):
                    yield delta
            elif "message" in event and event["message"].get("role") == "assistant":
                reply.end_paragraph()
    except TimeoutError:
        run.failure = f"model_timeout: no complete answer within {time_limit_s:g}s"
    except Exception as exc:
        # The one outermost handler for model failures: a provider SDK, the network or the model's
        # own output may fail in any way, and the customer must still get an answer.
        logger.warning("agent_id=%s error=%s | model failed", run.agent_id, type(exc).__name__, exc_info=True)
        run.failure = f"model_error: {type(exc).__name__}"
    finally:
        timer.close()
        await events.aclose()


class Deadline:
    """One timer for a whole streamed run: `next(events)` raises TimeoutError once `when` (loop time) passes.

    Why not `asyncio.timeout_at` around each `anext`: a scripted turn streams ~45 events, and arming
    and cancelling a timer per event cost ~0.4 ms of the engine's ~5 ms (bench/runtime_overhead.py).
    Why not one scope around the loop: a cancel scope must not span a yield to our caller (the
    cancellation would land in the caller's code). So one timer is armed once; when it fires while
    we wait on `events` it cancels this task there, and the cancellation becomes TimeoutError (as
    `asyncio.timeout` does, leaving any outer cancellation alone); when it fires while our caller
    holds the stream, the next `next` raises TimeoutError before waiting again.
    """

    def __init__(self, when: float) -> None:
        task = asyncio.current_task()
        assert task is not None  # Strands runs on asyncio; a deadline belongs to the task that streams
        self._task = task
        self._cancelling = task.cancelling()
        self._waiting = False
        self._fired = False
        self._cancelled_by_us = False
        self._timer = asyncio.get_running_loop().call_at(when, self._fire)

    def _fire(self) -> None:
        self._fired = True
        if self._waiting:
            self._cancelled_by_us = True
            self._task.cancel()

    async def next(self, events: AsyncGenerator[dict[str, Any], None]) -> dict[str, Any]:
        """The next event (StopAsyncIteration at the end), or TimeoutError past the deadline."""
        if self._fired:
            raise TimeoutError
        self._waiting = True
        try:
            return await anext(events)
        except asyncio.CancelledError:
            if self._cancelled_by_us:
                self._cancelled_by_us = False
                if self._task.uncancel() <= self._cancelling:
                    raise TimeoutError from None
            raise  # someone else cancelled this task too: theirs wins
        finally:
            self._waiting = False
            if self._cancelled_by_us:  # the stream swallowed our cancellation: take it back (the deadline holds)
                self._cancelled_by_us = False
                self._task.uncancel()

    @property
    def expired(self) -> bool:
        return self._fired

    def close(self) -> None:
        self._timer.cancel()
