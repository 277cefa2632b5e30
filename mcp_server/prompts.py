"""MCP prompts: guided workflows an admin starts from their assistant, grounded in current data.

* `design_agent_from_sop`: turn a standard operating procedure into a well-formed `create_agent`
  call (goals, steps, rules, handoff conditions), avoiding names the organisation already uses.
* `review_todays_handoffs`: go through today's handoff requests: open each session, summarise what
  the customer needs, and acknowledge the ones a person is picking up.

Both read the caller's organisation through the services (tenant-scoped like every tool), so the
rendered text says how many agents or handoffs there are right now.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from pydantic import Field

from mcp_server._context import ToolContext
from oratio.errors import OratioError
from schemas import AgentType, Limits, Notification, NotificationStatus, NotificationType, Principal

T = TypeVar("T")

MAX_LISTED = 200
"""The prompts embed at most this many existing records (one page)."""


async def _read(tc: ToolContext, fn: Callable[[Principal], T]) -> T:
    """A blocking service read for the caller; refusals become protocol errors with a usable message."""
    try:
        principal = tc.principal()
        return await anyio.to_thread.run_sync(lambda: fn(principal))
    except OratioError as exc:
        raise MCPError(INVALID_PARAMS, f"{exc.code}: {exc.message}") from None
    except ToolError as exc:
        raise MCPError(INVALID_PARAMS, str(exc)) from None


def _agent_type(value: str) -> AgentType:
    try:
        return AgentType(value.strip().lower())
    except ValueError:
        choices = ", ".join(t.value for t in AgentType)
        raise MCPError(INVALID_PARAMS, f"agent_type must be one of: {choices}") from None


def _design_prompt(sop: str, agent_type: AgentType, taken: list[str]) -> str:
    names = ", ".join(sorted(taken)) if taken else "(none yet)"
    channel = {
        AgentType.TEXT: "Set `text` (greeting, max_reply_chars) and leave `voice` at its defaults.",
        AgentType.VOICE: "Set `voice` (language, speaking_rate, max_call_seconds) for phone calls.",
        AgentType.BOTH: "Set both `voice` and `text`: the agent serves calls and chat.",
    }[agent_type]
    return f"""\
Design an Oratio {agent_type.value} agent from the standard operating procedure (SOP) below, then create it.

1. Read the SOP and extract, as short bullet lists:
   - Goals: what the agent must achieve for the customer and for the organisation.
   - Steps: the procedure in order, with the information to collect at each step.
   - Rules: what the agent must always / never do (policies, limits, compliance, tone).
   - Handoff conditions: when a person must take over (e.g. the customer asks for a human, a
     refund above a limit, an angry or vulnerable customer, anything the SOP does not cover).
   - Knowledge: facts the agent answers from; suggest documents to upload for them.
   Show me this summary and point out gaps or contradictions in the SOP before going on.

2. Build the `spec` for the `create_agent` tool:
   - name: short and unique in the organisation (at most {Limits.NAME_MAX} characters). Names in use: {names}.
   - description: one sentence on who the agent serves.
   - sop: the SOP rewritten as clear instructions (goals, numbered steps, rules), at least 20 characters.
   - agent_type: "{agent_type.value}". {channel}
   - handoff: enabled=true with one condition per handoff situation (each 3 to {Limits.CONDITION_MAX}
     characters, at most {Limits.CONDITIONS_MAX}); add notify_emails if the SOP names who is told.
     Set enabled=false and no conditions only if the SOP really has no handoff.

3. Call `create_agent` with that spec (and `documents` for knowledge you were given in full).
   If it reports an error, fix the field it names and call it again. Then report the agent id and
   status; the agent can be watched at oratio://agents/{{agent_id}}.

SOP:
<sop>
{sop}
</sop>"""


def _handoffs_prompt(today: list[Notification], unread: int, now: datetime) -> str:
    if today:
        listed = "\n".join(
            f"- {n.id} [{n.status.value}, {n.priority.value}] {n.title}"
            + (f" (session {n.session_id})" if n.session_id else "")
            for n in today
        )
    else:
        listed = "- (none so far today)"
    return f"""\
Review today's handoff requests ({now.date().isoformat()}, UTC): conversations where an Oratio agent asked
for a person to take over.

Today there are {len(today)} handoff notifications, {unread} of them unread:
{listed}

1. Call `list_notifications` (status=unread first, then all) to get the current list; it may have
   changed since this prompt was written. Keep the `handoff` notifications created today.
2. For each one with a session_id, call `get_session` (or read oratio://sessions/{{session_id}}) and
   read the transcript.
3. Summarise each handoff in two or three lines: who the customer is (from the session's customer
   data), what they need, why the agent handed off, how urgent it is, and the suggested next step.
   Put urgent and high priority ones first.
4. Ask me which ones a person is picking up now; for those, call `acknowledge_handoff` with the
   notification id. If it says the handoff was already acknowledged, report who took it and move on.
   Call `mark_notification_read` for the ones I have seen but nobody is taking yet.
5. Finish with what is still open."""


class PromptRequestChecks:
    """Server middleware: `prompts/get` for an unknown prompt, or without a required argument, is
    invalid params (-32602), with a message naming what is wrong.

    The SDK raises a bare ValueError for both, which reaches the client as an internal error and
    logs a traceback, as if the server were broken rather than the request.
    """

    def __init__(self, server: MCPServer) -> None:
        self._server = server

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "prompts/get" or ctx.request_id is None:
            return await call_next(ctx)
        params = ctx.params or {}
        name, arguments = params.get("name"), params.get("arguments") or {}
        if isinstance(name, str) and isinstance(arguments, dict):
            prompts = {prompt.name: prompt for prompt in await self._server.list_prompts()}
            prompt = prompts.get(name)
            if prompt is None:
                known = ", ".join(sorted(prompts))
                raise MCPError(INVALID_PARAMS, f"unknown prompt {name[:80]!r}; this server has: {known}")
            missing = [a.name for a in prompt.arguments or [] if a.required and a.name not in arguments]
            if missing:
                raise MCPError(INVALID_PARAMS, f"{name} needs the argument(s): {', '.join(missing)}")
        return await call_next(ctx)


def register(server: MCPServer, tc: ToolContext) -> None:
    platform = tc.platform
    server.middleware.append(PromptRequestChecks(server))

    @server.prompt(title="Design an agent from an SOP")
    async def design_agent_from_sop(
        sop: Annotated[str, Field(description="The standard operating procedure, as text")],
        agent_type: Annotated[str, Field(description="text, voice or both")] = "text",
    ) -> str:
        """Turn a standard operating procedure into a well-formed agent: goals, steps, rules, handoffs."""
        kind = _agent_type(agent_type)
        if not sop.strip():
            raise MCPError(INVALID_PARAMS, "sop is empty: paste the procedure text")
        page = await _read(tc, lambda p: platform.agents.list(p, limit=MAX_LISTED))
        return _design_prompt(sop.strip(), kind, [a.name for a in page.items])

    @server.prompt(title="Review today's handoffs")
    async def review_todays_handoffs() -> str:
        """Go through today's handoff requests: read each conversation, summarise, acknowledge."""
        now = platform.now()
        page = await _read(tc, lambda p: platform.notifications.list(p, limit=MAX_LISTED))
        today = [n for n in page.items if n.type is NotificationType.HANDOFF and n.created_at.date() == now.date()]
        unread = sum(1 for n in today if n.status is NotificationStatus.UNREAD)
        return _handoffs_prompt(today, unread, now)
