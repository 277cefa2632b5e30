"""Fold into the chart totals (`stat_days`) the sessions analysed before the totals existed: once each.

Why: the post-call analysis folds a session into its day's totals in the commit that stores the analysis
(`oratio.services.stats.day_writes`), but a deployment upgraded from before `stat_days` has sessions that
were analysed and never folded, so their history is missing from the charts.

How "folded" is told apart, durably: the analysis now writes `Session.folded = True` in the same
transaction as the day totals, and this backfill does the same. A session without the marker (`None`)
is either one analysed before the totals existed (never folded) or one analysed by the code that folded
without writing the marker (between the two changes). The day's own count tells them apart: for one
agent's day, `conversations - (marked sessions)` is how many unmarked sessions are already in the totals;
since the fold began at one moment, those are the most recently analysed unmarked ones (by the
analysis's `created_at`). The rest are folded here, and every unmarked session of the day is marked.

Safe to run twice (a marked session is never folded again; a second run finds nothing unmarked) and
while sessions are analysed concurrently: the agent's day is read BEFORE its sessions, and every commit
is conditional on that day's version (Replace or Unchanged), so a fold that lands in between makes the
commit conflict and the day is read again. Each commit holds at most `CHUNK` sessions (a transaction's
limit), and one `run` reads at most `batch` sessions of one tenant's list, so a run in `oratio serve`
(under the `stats_backfill` duty, one replica) stays short beside live work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from oratio.analysis.daily import fold
from oratio.errors import Conflict, OratioError
from oratio.services._common import Backends, all_items
from oratio.services.analysis import analysed_turns
from oratio.store.ports import Insert, Replace, Unchanged, Write
from oratio.store.tables import ANALYSES, SESSIONS, STAT_DAYS, TENANTS
from schemas import Session
from schemas.analysis import SessionAnalysis
from schemas.stats import ALL_AGENTS, StatDay

logger = logging.getLogger("oratio.services.stats_backfill")

CHUNK = 20
"""Sessions marked (and folded) per commit: with the two day records, under the store's TRANSACT_MAX (25)."""
BATCH = 200
"""Sessions of the tenant lists one `run` reads at most (the duty's step; the CLI loops to the end)."""
ATTEMPTS = 5
"""Commits tried per chunk: a concurrent fold of the same day moves its version."""
PAGE = 100


@dataclass
class BackfillProgress:
    """Where a backfill is in the tenants' session lists, and what it did so far."""

    tenants: list[str] | None = None
    tenant_index: int = 0
    cursor: str | None = None
    done: bool = False
    folded: int = 0
    marked: int = 0
    seen_days: set[tuple[str, str, date]] = field(default_factory=set)


class StatsBackfill:
    """Folds the analysed-but-never-folded sessions of every tenant into their days' totals."""

    def __init__(self, backends: Backends, *, batch: int = BATCH) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self._b = backends
        self._batch = batch
        self.progress = BackfillProgress()

    def run(self) -> int:
        """One bounded step: read up to `batch` sessions, fold the unmarked days among them. Returns the
        sessions folded in this step; a no-op once `progress.done` (the duty then costs nothing)."""
        p = self.progress
        if p.done:
            return 0
        if p.tenants is None:
            p.tenants = [t.tenant_id for t in all_items(self._b.store, TENANTS, "tenants", index="all")]
        before = p.folded
        read = 0
        while read < self._batch and p.tenant_index < len(p.tenants):
            tenant_id = p.tenants[p.tenant_index]
            page = self._b.store.query(SESSIONS, tenant_id, limit=min(PAGE, self._batch - read), cursor=p.cursor)
            read += len(page.items)
            for session in page.items:
                key = (tenant_id, session.agent_id, session.started_at.date())
                if _unfolded(session) and key not in p.seen_days:
                    p.seen_days.add(key)
                    try:
                        self.fold_day(*key)
                    except OratioError as exc:  # one day's trouble never stops the rest; a rerun retries it
                        p.seen_days.discard(key)
                        logger.warning("tenant_id=%s day=%s error=%s | backfill skipped a day", tenant_id, key[2], exc)
            p.cursor = page.next_cursor
            if p.cursor is None:
                p.tenant_index += 1
        if p.tenant_index >= len(p.tenants):
            p.done = True
            p.seen_days.clear()
            logger.info("folded=%d marked=%d | stats backfill done", p.folded, p.marked)
        return p.folded - before

    def run_all(self) -> BackfillProgress:
        """Every step to the end (the CLI): the progress says how many sessions were folded and marked."""
        while not self.progress.done:
            self.run()
        return self.progress

    def fold_day(self, tenant_id: str, agent_id: str, day: date) -> int:
        """Fold and mark the unmarked analysed sessions of one agent's day; returns how many were folded.

        The day and its sessions are read once and committed chunk by chunk, each commit carrying the day
        record it left behind into the next; only a conflict (a concurrent fold) reads the day again."""
        folded = 0
        for _ in range(ATTEMPTS):
            agent_day = self._b.store.get(STAT_DAYS, f"{tenant_id}#{agent_id}", day.isoformat())  # BEFORE sessions
            sessions = self._day_sessions(tenant_id, agent_id, day)
            unmarked = [s for s in sessions if _unfolded(s)]
            marked = sum(1 for s in sessions if s.analysed and s.folded)
            counted = agent_day.conversations if agent_day is not None else 0
            analyses = {s.id: self._b.store.get(ANALYSES, tenant_id, s.id) for s in unmarked}
            # Analysed without an analysis record: nothing to count it by, so it is left as it is.
            ready = sorted((s for s in unmarked if analyses[s.id] is not None), key=lambda s: _order(s, analyses))
            # The unmarked sessions the fold already counted: the most recently analysed ones (the end of `ready`).
            in_totals = max(0, min(len(ready), counted - marked))
            try:
                while ready:
                    chunk = ready[:CHUNK]
                    to_fold = chunk[: max(0, len(ready) - in_totals)]
                    agent_day = self._commit(tenant_id, agent_id, day, agent_day, chunk, to_fold, analyses)
                    ready = ready[CHUNK:]
                    folded += len(to_fold)
                    self.progress.folded += len(to_fold)
                    self.progress.marked += len(chunk)
            except Conflict:
                continue  # a concurrent fold or session write: read the day again
            return folded
        raise Conflict(f"stats backfill of {agent_id} on {day} kept conflicting")

    def _commit(
        self,
        tenant_id: str,
        agent_id: str,
        day: date,
        agent_day: StatDay | None,
        chunk: list[Session],
        to_fold: list[Session],
        analyses: dict[str, SessionAnalysis | None],
    ) -> StatDay | None:
        """Mark `chunk` and fold `to_fold` in one commit conditional on `agent_day`; returns the day as stored."""
        writes: list[Write] = [Replace(SESSIONS, s.model_copy(update={"folded": True})) for s in chunk]
        if to_fold:
            tenant_day = self._b.store.get(STAT_DAYS, f"{tenant_id}#{ALL_AGENTS}", day.isoformat())
            folds = [(s, analysed_turns(self._b, s), analyses[s.id]) for s in to_fold]
            for scope, before in ((agent_id, agent_day), (ALL_AGENTS, tenant_day)):
                totals = before or StatDay(tenant_id=tenant_id, scope=scope, day=day)
                for session, turns, analysis in folds:
                    assert analysis is not None  # only sessions with an analysis are in `ready`
                    totals = fold(totals, session, turns, analysis)
                writes.append(Replace(STAT_DAYS, totals) if before is not None else Insert(STAT_DAYS, totals))
        elif agent_day is not None:
            writes.append(Unchanged(STAT_DAYS, agent_day))  # marks only: still on the count we read
        stored = self._b.store.transact(writes)
        if to_fold:
            new_day: StatDay = stored[len(chunk)]  # the agent's day: the first write after the sessions
            return new_day
        return agent_day

    def _day_sessions(self, tenant_id: str, agent_id: str, day: date) -> list[Session]:
        start = datetime.combine(day, time(), tzinfo=UTC)
        sessions: list[Session] = []
        cursor: str | None = None
        while True:
            page = self._b.store.query(
                SESSIONS,
                f"{tenant_id}#{agent_id}",
                index="by_agent",
                sort_from=start.isoformat(),
                sort_to=(start + timedelta(days=1)).isoformat(),
                limit=PAGE,
                cursor=cursor,
            )
            sessions.extend(s for s in page.items if s.started_at.date() == day)
            cursor = page.next_cursor
            if cursor is None:
                return sessions


def _unfolded(session: Session) -> bool:
    """Analysed, ended, and without the marker: a candidate (the day's count decides if it is counted)."""
    return session.analysed and session.ended_at is not None and session.folded is None


def _order(session: Session, analyses: dict[str, SessionAnalysis | None]) -> tuple[datetime, str]:
    """Oldest analysis first (a session without one is never in `ready`; it would sort first)."""
    analysis = analyses[session.id]
    return (analysis.created_at if analysis is not None else datetime.min.replace(tzinfo=UTC), session.id)


__all__ = ["BackfillProgress", "StatsBackfill"]
