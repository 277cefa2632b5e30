"""Chart figures for the dashboard: sessions per hour, handoff rate, average turn latency, tool calls.

Computed on request from the tenant's own sessions, transcripts and notifications, read through the
services with the admin's principal, so the charts can never show another tenant's numbers. The
work is bounded: the window is the last WINDOW_HOURS hours and at most MAX_SESSIONS of its newest
sessions (and MAX_NOTIFICATIONS notifications) are read; `truncated` says when the cap was hit.

Turn latency is derived from what the transcript already records: a customer turn is stored before
the agent runs and the agent's reply is stored once it is complete, so the gap between a customer
turn and the agent turn right after it is how long the customer waited for the whole reply.

Post-call figures come from the sessions' analyses (read with their transcripts): the resolution rate
is resolved / analysed sessions; top handoff reasons count the sessions' recorded handoff reasons;
average handling time is the mean duration of the window's ended sessions.

Tool calls are counted from the agent turns' `tool_calls` (the transcript's record of each call), in
the hour each call started. A tool call is one that ran or was asked for and failed; a failure is one
that did not work (error, timeout, invalid arguments, refused by the platform). The confirmation
gate's records (a write held for confirmation, then declined or not confirmed) are steps of the gate,
not calls: nothing ran. So a confirmed write, recorded once as `awaiting_confirmation` and once more
when it ran, counts as one call, and a declined one as none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from pydantic import Field

from dashboard.context import DashboardServices
from schemas import Model, NotificationType, Principal, Role, Session, SessionFilter, SessionStatus, Turn
from schemas.analysis import Outcome, SessionAnalysis
from schemas.tools import ToolCallStatus

WINDOW_HOURS = 24
MAX_SESSIONS = 500
MAX_NOTIFICATIONS = 1000
PAGE = 200
TOP_REASONS = 5
GATE_STEPS = frozenset(
    {
        ToolCallStatus.AWAITING_CONFIRMATION,
        ToolCallStatus.DECLINED,
        ToolCallStatus.NOT_CONFIRMED,
    }
)
"""Records of the confirmation gate, not calls: nothing ran (the confirmed run has its own record)."""


class HourStats(Model):
    start: datetime
    sessions: int = Field(ge=0)
    handoffs: int = Field(ge=0)
    avg_latency_ms: float | None = Field(description="Mean customer-to-reply time of agent turns in this hour")
    tool_calls: int = Field(default=0, ge=0, description="Tool calls started in this hour (see GATE_STEPS)")
    tool_failures: int = Field(default=0, ge=0, description="Of those, the ones that did not end OK")


class DashboardStats(Model):
    since: datetime
    until: datetime
    hours: list[HourStats]
    sessions: int
    handoffs: int
    handoff_rate: float | None = Field(description="Sessions handed off / sessions started in the window")
    avg_latency_ms: float | None
    tool_calls: int = 0
    tool_failures: int = 0
    truncated: bool = Field(description="True when more sessions started than MAX_SESSIONS: the newest were used")
    analysed: int = Field(default=0, description="Sessions of the window with a post-call analysis")
    outcomes: dict[str, int] = Field(default_factory=dict, description="Analysed sessions per outcome")
    resolution_rate: float | None = Field(default=None, description="Resolved / analysed sessions")
    top_handoff_reasons: list[tuple[str, int]] = Field(default_factory=list, description="Most frequent first")
    avg_handling_s: float | None = Field(default=None, description="Mean duration of the window's ended sessions")


def collect(platform: DashboardServices, principal: Principal, now: datetime) -> DashboardStats:
    """Read the window's sessions, transcripts and handoffs (blocking I/O: run in a worker thread)."""
    since = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=WINDOW_HOURS - 1)
    sessions, truncated = _recent_sessions(platform, principal, since)
    reads = {s.id: platform.sessions.get(principal, s.id) for s in sessions}
    transcripts = {ident: read.turns for ident, read in reads.items()}
    analyses = {ident: read.analysis for ident, read in reads.items() if read.analysis is not None}
    handed_off = _handed_off(platform, principal, since)
    return aggregate(since, now, sessions, transcripts, handed_off, truncated=truncated, analyses=analyses)


def aggregate(
    since: datetime,
    until: datetime,
    sessions: Sequence[Session],
    transcripts: Mapping[str, Sequence[Turn]],
    handed_off: Iterable[str],
    *,
    truncated: bool = False,
    analyses: Mapping[str, SessionAnalysis] | None = None,
) -> DashboardStats:
    """The figures, from records already read. Hours run from `since`; later-than-window data is ignored."""
    handoff_ids = set(handed_off)
    started = [0] * WINDOW_HOURS
    handoffs = [0] * WINDOW_HOURS
    latencies: list[list[float]] = [[] for _ in range(WINDOW_HOURS)]
    calls = [0] * WINDOW_HOURS
    failures = [0] * WINDOW_HOURS
    for session in sessions:
        hour = _hour(since, session.started_at)
        if hour is None:
            continue
        started[hour] += 1
        if session.id in handoff_ids or session.status is SessionStatus.HANDOFF_REQUESTED:
            handoffs[hour] += 1
        transcript = transcripts.get(session.id, ())
        for waited_ms, at in _latencies(transcript):
            if (turn_hour := _hour(since, at)) is not None:
                latencies[turn_hour].append(waited_ms)
        for turn in transcript:
            for call in turn.tool_calls:
                if call.status in GATE_STEPS:
                    continue
                if (call_hour := _hour(since, call.started_at)) is not None:
                    calls[call_hour] += 1
                    failures[call_hour] += call.status is not ToolCallStatus.OK
    hours = [
        HourStats(
            start=since + timedelta(hours=i),
            sessions=started[i],
            handoffs=handoffs[i],
            avg_latency_ms=_mean(latencies[i]),
            tool_calls=calls[i],
            tool_failures=failures[i],
        )
        for i in range(WINDOW_HOURS)
    ]
    total, handed = sum(started), sum(handoffs)
    return DashboardStats(
        since=since,
        until=until,
        hours=hours,
        sessions=total,
        handoffs=handed,
        handoff_rate=handed / total if total else None,
        avg_latency_ms=_mean([ms for hour in latencies for ms in hour]),
        tool_calls=sum(calls),
        tool_failures=sum(failures),
        truncated=truncated,
        **_post_call([s for s in sessions if _hour(since, s.started_at) is not None], analyses or {}),
    )


def _post_call(sessions: Sequence[Session], analyses: Mapping[str, SessionAnalysis]) -> dict[str, object]:
    outcomes = Counter(analyses[s.id].outcome.value for s in sessions if s.id in analyses)
    analysed = sum(outcomes.values())
    reasons = Counter(s.handoff_reason for s in sessions if s.handoff_reason)
    durations = [d for s in sessions if (d := s.duration_seconds) is not None]
    return {
        "analysed": analysed,
        "outcomes": dict(outcomes),
        "resolution_rate": outcomes[Outcome.RESOLVED.value] / analysed if analysed else None,
        "top_handoff_reasons": reasons.most_common(TOP_REASONS),
        "avg_handling_s": _mean(durations),
    }


def _latencies(turns: Sequence[Turn]) -> Iterable[tuple[float, datetime]]:
    for before, turn in zip(turns, turns[1:], strict=False):
        if before.role is Role.CUSTOMER and turn.role is Role.AGENT:
            yield (turn.started_at - before.started_at).total_seconds() * 1000, turn.started_at


def _hour(since: datetime, at: datetime) -> int | None:
    index = int((at - since).total_seconds() // 3600)
    return index if 0 <= index < WINDOW_HOURS else None


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _recent_sessions(platform: DashboardServices, principal: Principal, since: datetime) -> tuple[list[Session], bool]:
    found: list[Session] = []
    cursor: str | None = None
    while len(found) < MAX_SESSIONS:
        want = min(PAGE, MAX_SESSIONS - len(found))
        page = platform.sessions.list(principal, SessionFilter(started_after=since, limit=want, cursor=cursor))
        found.extend(page.items)
        cursor = page.next_cursor
        # Ids are time-ordered: a short page means the scan went past the window's start.
        if cursor is None or len(page.items) < want:
            return found, False
    return found, cursor is not None


def _handed_off(platform: DashboardServices, principal: Principal, since: datetime) -> set[str]:
    """Sessions with a handoff alert in the window (a handed-off session may have ended since)."""
    ids: set[str] = set()
    cursor: str | None = None
    for _ in range(MAX_NOTIFICATIONS // PAGE):
        page = platform.notifications.list(principal, limit=PAGE, cursor=cursor)
        for note in page.items:
            if note.type is NotificationType.HANDOFF and note.session_id and note.created_at >= since:
                ids.add(note.session_id)
        cursor = page.next_cursor
        if cursor is None or (page.items and page.items[-1].created_at < since):
            break
    return ids
