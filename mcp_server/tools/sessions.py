"""Session tools: find customer conversations and read their transcripts."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from pydantic import AwareDatetime, Field

from mcp_server._context import ToolContext
from mcp_server.tools._register import reads, tool
from oratio.services.analysis import SessionExport
from oratio.store.ports import Page
from schemas import Channel, Identifier, Model, Session, SessionFilter, SessionStatus, SessionWithTranscript
from schemas.analysis import Outcome, SessionAnalysis


class SessionList(Model):
    sessions: list[Session]
    next_cursor: str | None = Field(description="Pass back as `cursor` for the next page; null at the end")


def _session_list(page: Page[Session]) -> SessionList:
    return SessionList(sessions=page.items, next_cursor=page.next_cursor)


SessionId = Annotated[Identifier, Field(description="Session id, e.g. ses_01...")]
Limit = Annotated[int, Field(ge=1, le=200)]
Cursor = Annotated[str | None, Field(max_length=512)]
Moment = Annotated[AwareDatetime | None, Field(description="ISO 8601 time with a timezone, e.g. 2030-01-01T09:00:00Z")]


def register(server: MCPServer, tc: ToolContext) -> None:
    platform = tc.platform

    @tool(server, reads("List sessions"))
    async def list_sessions(
        agent_id: Annotated[Identifier | None, Field(description="Only this agent's sessions")] = None,
        status: SessionStatus | None = None,
        channel: Channel | None = None,
        started_after: Moment = None,
        started_before: Moment = None,
        outcome: Annotated[
            Outcome | None, Field(description="Only ended sessions whose post-call analysis has this outcome")
        ] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> SessionList:
        """Find customer conversations, newest first, filtered by agent, status, channel, start time and
        outcome (resolved, handed_off, abandoned, failed: from the post-call analysis).

        A page may hold fewer than `limit` sessions while `next_cursor` is set: keep paging until
        it is null. Use `get_session` to read a session's transcript.
        """
        principal = tc.principal()
        query = SessionFilter(
            agent_id=agent_id,
            status=status,
            channel=channel,
            started_after=started_after,
            started_before=started_before,
            outcome=outcome,
            limit=limit,
            cursor=cursor,
        )
        page = await tc.call(lambda: platform.sessions.list(principal, query))
        return _session_list(page)

    @tool(server, reads("List live sessions"))
    async def list_live_sessions(limit: Limit = 50, cursor: Cursor = None) -> SessionList:
        """List the conversations in progress right now (status `active`), newest first."""
        principal = tc.principal()
        page = await tc.call(lambda: platform.sessions.list_live(principal, limit=limit, cursor=cursor))
        return _session_list(page)

    @tool(server, reads("Get session with transcript"))
    async def get_session(session_id: SessionId) -> SessionWithTranscript:
        """Get one conversation with its full transcript: every turn in order, with the sources cited and,
        on agent turns, the tools it called (name, arguments with sensitive ones redacted, status, duration,
        result summary; write actions say whether the customer confirmed them), and, once it has ended and been
        analysed, its post-call analysis (see get_session_analysis)."""
        principal = tc.principal()
        return await tc.call(lambda: platform.sessions.get(principal, session_id))

    @tool(server, reads("Get session analysis"))
    async def get_session_analysis(session_id: SessionId) -> SessionAnalysis:
        """Get the post-call analysis of an ended conversation: a summary, the outcome (resolved, handed_off,
        abandoned, failed), which plan rules and simulation scenarios it met with the evidence turn (seq;
        a scenario with applies=false was about something else), the fields collected (and `extracted`:
        plan fields the model read from the transcript), customer sentiment (positive/neutral/negative
        with a score from -1 to 1), tool calls (counts, failures, confirmed writes), `method` (`rules`:
        offline and extractive; `model`: model-written) and `written_by` (`rules` or the model's id).
        A live session, or one that ended moments ago, has none yet: try again after the next sweep."""
        principal = tc.principal()
        return await tc.call(lambda: platform.analyses.get(principal, session_id))

    @tool(server, reads("Export sessions"))
    async def export_sessions(
        started_after: Annotated[AwareDatetime, Field(description="Start of the window (ISO 8601 with a timezone)")],
        started_before: Annotated[AwareDatetime, Field(description="End of the window (ISO 8601 with a timezone)")],
        format: Literal["csv", "json"] = "csv",
        agent_id: Annotated[Identifier | None, Field(description="Only this agent's sessions")] = None,
        outcome: Annotated[Outcome | None, Field(description="Only sessions analysed with this outcome")] = None,
    ) -> SessionExport:
        """Export the sessions started in a window (at most 31 days; at most 1000 sessions, newest first;
        `truncated` says when there were more) with their post-call analysis: one row per session with its
        outcome, sentiment, summary, handoff reason, tool counts and collected fields, as CSV (spreadsheet
        formulas neutralised) or JSON, in `content`."""
        principal = tc.principal()
        query = SessionFilter(
            agent_id=agent_id, outcome=outcome, started_after=started_after, started_before=started_before
        )
        return await tc.call(lambda: platform.analyses.export(principal, query, format))
