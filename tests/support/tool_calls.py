"""Agent turns carrying tool calls, as the engine records them (issue 18), for the views that show them.

Until the engine writes `Turn.tool_calls` itself, tests of the dashboard and of `get_session` store
such a turn here: the next turn of a session that exists, with its calls, and one `session.tool_call`
event per call carrying exactly the contract's data keys (no arguments, no results).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oratio.platform import Platform
from oratio.store.tables import SESSIONS, TURNS
from schemas import EventType, Role, Turn
from schemas.tools import ToolCallRecord, ToolCallStatus


def call(
    ident: str,
    name: str,
    status: ToolCallStatus = ToolCallStatus.OK,
    *,
    at: datetime | None = None,
    **fields: Any,
) -> ToolCallRecord:
    extra = {"started_at": at} if at is not None else {}
    return ToolCallRecord(id=ident, name=name, status=status, **extra, **fields)


def event_data(session_id: str, agent_id: str, record: ToolCallRecord) -> dict[str, Any]:
    """The contract's `session.tool_call` data for one record."""
    return {
        "session_id": session_id,
        "agent_id": agent_id,
        "call_id": record.id,
        "name": record.name,
        "status": record.status.value,
        "duration_ms": record.duration_ms,
        "write": record.write,
        "confirmed": record.confirmed,
    }


def store_agent_turn(
    platform: Platform,
    tenant_id: str,
    session_id: str,
    calls: list[ToolCallRecord],
    text: str = "Done.",
    *,
    at: datetime | None = None,
    emit: bool = True,
) -> Turn:
    """The session's next turn: the agent's, with `calls`; and (if `emit`) their `session.tool_call` events."""
    last = platform.backends.store.query(TURNS, f"{tenant_id}#{session_id}", descending=True, limit=1).items
    extra = {"started_at": at} if at is not None else {}
    turn = Turn(
        tenant_id=tenant_id,
        session_id=session_id,
        seq=last[0].seq + 1 if last else 1,
        role=Role.AGENT,
        text=text,
        tool_calls=calls,
        **extra,
    )
    stored = platform.backends.store.insert(TURNS, turn)
    if emit:
        agent_id = _agent_of(platform, tenant_id, session_id)
        for record in calls:
            platform.backends.emit(
                tenant_id, EventType.SESSION_TOOL_CALL, session_id, **event_data(session_id, agent_id, record)
            )
    return stored


def _agent_of(platform: Platform, tenant_id: str, session_id: str) -> str:
    session = platform.backends.store.get(SESSIONS, tenant_id, session_id)
    assert session is not None, session_id
    return session.agent_id
