"""Chart figures for a range of days: read from the daily totals, never from the sessions themselves.

Why daily totals: the dashboard used to read up to 500 sessions and every transcript of the last day
per request, which is slow with 10k sessions and capped (so wrong) on a busy day. Instead each session
is folded, once, into the `StatDay` of the UTC day it started, by the post-call analysis in the same
commit that stores the analysis (`day_writes`, called by `oratio.services.analysis`): one record for the
tenant and one for the agent. A report over N days is then one query of at most N records (N <=
ORATIO_STATS_MAX_DAYS) plus two one-item reads for the empty state: its cost does not grow with traffic.

What that means for the figures: a session counts once it has ended and been analysed (a live one is
on the Live tab); it counts on the day it started. Days are UTC.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta

from oratio.analysis.daily import add_histograms, fold, latency_figures
from oratio.errors import Conflict, InvalidInput
from oratio.services._common import Backends, authorize, require
from oratio.store.ports import Insert, Replace, Write
from oratio.store.tables import AGENTS, SESSIONS, STAT_DAYS, TURNS
from schemas import Principal, Role, Scope, Session, Turn
from schemas.analysis import Outcome, SessionAnalysis
from schemas.stats import (
    ALL_AGENTS,
    OTHER,
    Count,
    DayFigures,
    StatDay,
    StatsQuery,
    StatsRange,
    StatsReport,
)

TOP = 5
LATEST_TURNS = 4
"""Turns read back to find the latest agent turn (a person's message may follow it)."""
PAGE = 100
RANGE_DAYS = {StatsRange.TODAY: 1, StatsRange.WEEK: 7, StatsRange.MONTH: 30}


def day_writes(backends: Backends, session: Session, turns: Sequence[Turn], analysis: SessionAnalysis) -> list[Write]:
    """The writes that fold an analysed session into its day's totals: the tenant's and its agent's.

    Read-modify-write under the records' versions: a concurrent fold of another session of the same day
    makes the transaction that carries these writes conflict, and the caller tries again."""
    day = session.started_at.date()
    writes: list[Write] = []
    for scope in (ALL_AGENTS, session.agent_id):
        stored = backends.store.get(STAT_DAYS, f"{session.tenant_id}#{scope}", day.isoformat())
        if stored is None:
            writes.append(
                Insert(
                    STAT_DAYS,
                    fold(StatDay(tenant_id=session.tenant_id, scope=scope, day=day), session, turns, analysis),
                )
            )
        else:
            writes.append(Replace(STAT_DAYS, fold(stored, session, turns, analysis)))
    return writes


class StatsService:
    def __init__(self, backends: Backends, *, max_days: int) -> None:
        self._b = backends
        self._max_days = max_days

    def record_latency(self, tenant_id: str, session_id: str, latency_ms: float) -> bool:
        """Record on the session's latest agent turn how long the customer waited for its first audio.

        Called by the voice bridge once a reply has started playing: the turn was stored when its text was
        complete, usually before or around the first audio, so the latency is written to it afterwards (one
        write per voice turn). False when there is no such turn, it already has one, or it moved meanwhile;
        the figure is then missing from the charts, never wrong."""
        if latency_ms < 0:
            raise InvalidInput("a latency is not negative", field="latency_ms")
        recent = self._b.store.query(TURNS, f"{tenant_id}#{session_id}", descending=True, limit=LATEST_TURNS)
        turn = next((t for t in recent.items if t.role is Role.AGENT), None)
        if turn is None or turn.latency_ms is not None:
            return False
        try:
            self._b.store.replace(TURNS, turn.model_copy(update={"latency_ms": round(latency_ms, 1)}))
        except Conflict:
            return False
        return True

    def span(self, query: StatsQuery) -> tuple[date, date]:
        """The query's first and last day (UTC, both included), or InvalidInput saying what is wrong."""
        today = self._b.clock().date()
        if query.range is not None:
            if query.since is not None or query.until is not None:
                raise InvalidInput("give either range or since/until, not both", field="range")
            return today - timedelta(days=RANGE_DAYS[query.range] - 1), today
        if query.since is None:
            if query.until is not None:
                raise InvalidInput("until needs since", field="since")
            return today - timedelta(days=RANGE_DAYS[StatsRange.WEEK] - 1), today
        until = query.until or today
        if until < query.since:
            raise InvalidInput("until is before since", field="until")
        if (until - query.since).days + 1 > self._max_days:
            raise InvalidInput(f"a range covers at most {self._max_days} days", field="since")
        return query.since, until

    def report(self, principal: Principal, query: StatsQuery) -> StatsReport:
        """The figures of `query`'s range for the principal's tenant (one agent's when `agent_id` is given)."""
        tenant_id = authorize(principal, Scope.SESSIONS_READ)
        since, until = self.span(query)
        reads = 0
        if query.agent_id is not None:
            require(self._b.store.get(AGENTS, tenant_id, query.agent_id), "agent", query.agent_id)
            reads += 1
        scope = query.agent_id or ALL_AGENTS
        days: list[StatDay] = []
        cursor: str | None = None
        while True:
            page = self._b.store.query(
                STAT_DAYS,
                f"{tenant_id}#{scope}",
                sort_from=since.isoformat(),
                sort_to=until.isoformat(),
                limit=PAGE,
                cursor=cursor,
            )
            reads += 1
            days.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        has_agents = query.agent_id is not None or bool(self._b.store.query(AGENTS, tenant_id, limit=1).items)
        has_sessions = bool(days) or self._any_session(tenant_id, query.agent_id)
        reads += 2 - (query.agent_id is not None)
        return _report(
            since, until, query.agent_id, days, has_agents=has_agents, has_sessions=has_sessions, reads=reads
        )

    def _any_session(self, tenant_id: str, agent_id: str | None) -> bool:
        if agent_id is None:
            return bool(self._b.store.query(SESSIONS, tenant_id, limit=1).items)
        return bool(self._b.store.query(SESSIONS, f"{tenant_id}#{agent_id}", index="by_agent", limit=1).items)


def _report(
    since: date,
    until: date,
    agent_id: str | None,
    days: Sequence[StatDay],
    *,
    has_agents: bool,
    has_sessions: bool,
    reads: int,
) -> StatsReport:
    outcomes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    failing: Counter[str] = Counter()
    latency: dict[str, dict[str, int]] = {}
    by_day = {d.day: d for d in days}
    series: list[DayFigures] = []
    for offset in range((until - since).days + 1):
        day = since + timedelta(days=offset)
        found = by_day.get(day) or _NO_DAY
        outcomes.update(found.outcomes)
        reasons.update(found.handoff_reasons)
        failing.update(found.failing_tools)
        for channel, hist in found.latency.items():
            add_histograms(latency.setdefault(channel, {}), hist)
        series.append(
            DayFigures(
                day=day,
                conversations=found.conversations,
                handoffs=found.handoffs,
                resolved=found.outcomes.get(Outcome.RESOLVED.value, 0),
                tool_calls=found.tool_calls,
                tool_failures=found.tool_failures,
                latency=latency_figures(found.latency),
            )
        )
    conversations = sum(d.conversations for d in days)
    handoffs = sum(d.handoffs for d in days)
    return StatsReport(
        since=since,
        until=until,
        agent_id=agent_id,
        conversations=conversations,
        outcomes=dict(outcomes),
        resolution_rate=_rate(outcomes[Outcome.RESOLVED.value], conversations),
        handoff_rate=_rate(handoffs, conversations),
        top_handoff_reasons=_top(reasons),
        latency=latency_figures(latency),
        tool_calls=sum(d.tool_calls for d in days),
        tool_failures=sum(d.tool_failures for d in days),
        top_failing_tools=_top(failing),
        avg_handling_s=round(sum(d.handling_seconds for d in days) / conversations, 1) if conversations else None,
        days=series,
        has_agents=has_agents,
        has_sessions=has_sessions,
        reads=reads,
    )


_NO_DAY = StatDay(tenant_id="ten_none", scope=ALL_AGENTS, day=date(2000, 1, 1))
"""A day nobody's session started on: every figure zero (only its figures are read, never its key)."""


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _top(counts: Counter[str]) -> list[Count]:
    """The most frequent first; OTHER (the overflow of a full day) last whatever its count."""
    named = [(name, n) for name, n in counts.most_common() if name != OTHER][:TOP]
    top = [Count(name=name, count=n) for name, n in named]
    if counts.get(OTHER):
        top.append(Count(name=OTHER, count=counts[OTHER]))
    return top
