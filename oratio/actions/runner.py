"""The ActionRunner: what the engine calls for every tool call, and the one place calls are checked.

In order: the turn's deadline, the arguments against the tool's schema (`schema_check`; invalid
arguments never reach a runner, and the model is told what to fix), the per-tool and per-tenant
limits (`limits`), then the runner for the tool's kind (HTTP here, MCP when configured). It never
raises: whatever goes wrong becomes a `ToolOutcome` the model can act on, and one log line per call
names the tool, the tenant, the status and the duration, never the arguments or the result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

import anyio.to_thread

from oratio.actions import ToolOutcome, ToolRequest, ToolRunner
from oratio.actions.limits import ToolLimits
from oratio.actions.schema_check import ArgumentValidator
from schemas import HttpTool, McpToolSnapshot, ToolCallStatus

logger = logging.getLogger("oratio.actions")


class PlatformActionRunner:
    """Validation, limits, dispatch by kind (the `ActionRunner` the platform wires)."""

    def __init__(
        self,
        *,
        http: ToolRunner,
        mcp: ToolRunner | None,
        limits: ToolLimits,
        validator: ArgumentValidator | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._mcp = mcp
        self._limits = limits
        self._validator = validator or ArgumentValidator()
        self._clock = clock

    async def run(self, request: ToolRequest) -> ToolOutcome:
        started = self._clock()
        try:
            outcome = await self._run(request, started)
        except Exception:
            # The outermost handler of a tool call: a bug in a runner costs this call, never the turn.
            logger.exception(
                "tenant_id=%s agent_id=%s tool=%s | tool call failed inside the platform",
                request.tenant_id,
                request.agent_id,
                request.tool.name,
            )
            outcome = ToolOutcome(
                status=ToolCallStatus.ERROR,
                content={"error": "the tool failed inside the platform; apologise and offer another way"},
                summary="error: the platform failed to run the tool",
                duration_ms=0.0,
            )
        outcome = replace(outcome, duration_ms=max(0.0, (self._clock() - started) * 1000))
        logger.info(
            "tenant_id=%s agent_id=%s session_id=%s tool=%s status=%s duration_ms=%.1f | tool call",
            request.tenant_id,
            request.agent_id,
            request.session_id,
            request.tool.name,
            outcome.status.value,
            outcome.duration_ms,
        )
        return outcome

    async def _run(self, request: ToolRequest, started: float) -> ToolOutcome:
        tool = request.tool
        if request.deadline_s is not None and request.deadline_s <= 0:
            return _refusal(
                ToolCallStatus.TIMEOUT,
                "no time is left in this turn to call the tool; apologise and offer to try again",
                "timeout: no time left in the turn",
            )
        # Bounded (a budget of keyword checks) but CPU all the same: off the event loop that serves calls.
        problems = await anyio.to_thread.run_sync(self._validator.errors, tool.parameters, dict(request.arguments))
        if problems:
            return invalid_arguments(problems)
        if isinstance(tool, McpToolSnapshot) and self._mcp is None:
            return _refusal(
                ToolCallStatus.REFUSED,
                "this tool is not available on this platform; tell the customer the action is unavailable",
                "refused: MCP tools are not enabled on this platform",
            )
        admitted = await self._limits.admit_on_loop(request.tenant_id, request.agent_id, tool.name)
        if isinstance(admitted, str):
            return _refusal(ToolCallStatus.REFUSED, admitted, f"refused: {admitted}")
        with admitted:
            elapsed = self._clock() - started
            if request.deadline_s is not None:
                request = replace(request, deadline_s=request.deadline_s - elapsed)
            if isinstance(tool, HttpTool):
                return await self._http.run(request)
            assert self._mcp is not None
            return await self._mcp.run(request)


def invalid_arguments(problems: list[str]) -> ToolOutcome:
    """The outcome for arguments the tool's schema refuses (`ArgumentValidator.errors`), here and at the
    confirmation gate (which checks before holding a write): the model reads the problems, the
    transcript only where they were (the problems quote argument values)."""
    return ToolOutcome(
        status=ToolCallStatus.INVALID_ARGUMENTS,
        content={
            "error": "the arguments do not match the tool's schema; fix them and call the tool again "
            "(ask the customer for anything missing)",
            "problems": problems,
        },
        summary="invalid arguments: " + "; ".join(p.split(":", 1)[0] for p in problems)[:450],
        duration_ms=0.0,
    )


def _refusal(status: ToolCallStatus, for_model: str, summary: str) -> ToolOutcome:
    return ToolOutcome(status=status, content={"error": for_model}, summary=summary[:500], duration_ms=0.0)


__all__ = ["PlatformActionRunner", "invalid_arguments"]
