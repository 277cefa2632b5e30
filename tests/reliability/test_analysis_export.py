"""Exports carry customers' words into admins' spreadsheets: nothing a customer wrote may run there."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from oratio.analysis import analyse
from oratio.analysis.export import render
from schemas import Channel, Role, Session, SessionStatus, Turn

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def session(**changes: object) -> Session:
    base = Session(
        tenant_id="ten_1",
        id="ses_1",
        agent_id="agt_1",
        channel=Channel.TEXT,
        status=SessionStatus.COMPLETED,
        started_at=START,
        ended_at=START + timedelta(seconds=90),
        end_reason="ended by the agent",
    )
    return base.model_copy(update=changes)


CHAT = [
    Turn(tenant_id="ten_1", session_id="ses_1", seq=1, role=Role.CUSTOMER, text="=1+1"),
    Turn(tenant_id="ten_1", session_id="ses_1", seq=2, role=Role.AGENT, text="@SUM(A1)"),
]


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_neutralised() -> None:
    hostile = session(end_reason="=cmd|' /C calc'!A0", collected={"note": "+1"})
    analysis = analyse(hostile, CHAT, None, START)
    [header, line] = list(csv.reader(io.StringIO(render([hostile], {hostile.id: analysis}, "csv"))))
    cells = dict(zip(header, line, strict=True))
    assert cells["end_reason"] == "'=cmd|' /C calc'!A0"
    assert cells["outcome"] == "resolved" and cells["sentiment_score"] == str(analysis.sentiment_score)
    assert json.loads(render([hostile], {}, "json"))[0]["end_reason"] == "=cmd|' /C calc'!A0"  # JSON is data


def test_every_text_cell_of_a_hostile_session_is_inert() -> None:
    hostile = session(end_reason="-2+3", handoff_reason="+cmd", collected={"=x": "=y"})
    analysis = analyse(hostile, CHAT, None, START)
    [_, line] = list(csv.reader(io.StringIO(render([hostile], {hostile.id: analysis}, "csv"))))
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in line)
