"""Sessions with their analyses as CSV or JSON, for an admin's spreadsheet or warehouse.

One row per session: the session's facts and, once analysed, the analysis' outcome, sentiment,
summary, handoff reason, tool counts and collected fields (JSON in one CSV cell). CSV cells that a
spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return) are prefixed
with an apostrophe: a customer's words must never execute in the admin's spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from schemas import Session
from schemas.analysis import SessionAnalysis

ExportFormat = Literal["csv", "json"]
COLUMNS = (
    "session_id",
    "agent_id",
    "channel",
    "status",
    "started_at",
    "ended_at",
    "end_reason",
    "messages",
    "outcome",
    "method",
    "written_by",
    "sentiment",
    "sentiment_score",
    "handoff_reason",
    "handling_seconds",
    "tool_calls",
    "tool_failures",
    "writes_confirmed",
    "summary",
    "collected",
    "extracted",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def row(session: Session, analysis: SessionAnalysis | None) -> dict[str, Any]:
    """One export row; the analysis' columns are empty (None) until the session is analysed."""
    a = analysis
    return {
        "session_id": session.id,
        "agent_id": session.agent_id,
        "channel": session.channel.value,
        "status": session.status.value,
        "started_at": session.started_at.isoformat(),
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
        "end_reason": session.end_reason,
        "messages": session.message_count,
        "outcome": a.outcome.value if a else None,
        "method": a.method if a else None,
        "written_by": a.written_by if a else None,
        "sentiment": a.sentiment.value if a else None,
        "sentiment_score": a.sentiment_score if a else None,
        "handoff_reason": a.handoff_reason if a else session.handoff_reason,
        "handling_seconds": a.handling_seconds if a else session.duration_seconds,
        "tool_calls": a.tools.calls if a else None,
        "tool_failures": a.tools.failures if a else None,
        "writes_confirmed": a.tools.writes_confirmed if a else None,
        "summary": a.summary if a else None,
        "collected": dict(session.collected),
        "extracted": dict(a.extracted) if a else {},
    }


def render(sessions: Sequence[Session], analyses: Mapping[str, SessionAnalysis], fmt: ExportFormat) -> str:
    rows = [row(s, analyses.get(s.id)) for s in sessions]
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(_cell(r[c]) for c in COLUMNS)
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA):
        return "'" + text
    return text
