"""Post-call analysis, run off the turn path: every ended session gets one `SessionAnalysis`.

Why a sweep and not a call where sessions end: sessions end in many places (the agent ends it in
`settle`, the idle sweeper, a voice call's end, a restart marking sessions interrupted, an admin), and
a process may die between the end and the analysis. Instead an ended session that is not yet
analysed sits in the sparse `unanalysed` index of the sessions table (computed by the store from
the session's own status and `analysed` flag: no extra write on any turn); `run_pending` reads that
index and, per session, writes in ONE transaction the analysis, the session's `analysed` flag and
(when the agent has a webhook) the `session.ended` outbox delivery, and folds the session into its
day's chart totals (`oratio.services.stats.day_writes`: the tenant's and the agent's). A crash before the commit leaves
the session in the index to be analysed again; after it, nothing is repeated: idempotent and
resumable. The analysis is the offline `rules` one (`oratio.analysis.rules`, with the agent's
simulation scenarios judged by `oratio.analysis.scenarios`); when the agent's model can write
(`oratio.services.agent_models`) it writes the summary, sentiment, outcome, scenario verdicts and
extracted fields (`oratio.analysis.model`), falling back to the rules on any failure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from oratio.analysis import ANALYSIS_TURNS_MAX, analyse
from oratio.analysis.export import ExportFormat, render
from oratio.analysis.model import DEFAULT_SECONDS, with_model
from oratio.errors import Conflict, InvalidInput, NotFound, OratioError
from oratio.services._common import Backends, authorize, check_limit, require
from oratio.services.agent_models import ModelLookup, WriterModel
from oratio.services.outbox import session_webhook
from oratio.services.stats import day_writes
from oratio.store.ports import Insert, Page, Replace, Write
from oratio.store.tables import ANALYSES, OUTBOX, SESSIONS, TURNS
from schemas import AgentPlan, EventType, Model, OutboxDelivery, Principal, Scope, Session, SessionFilter, Turn
from schemas.analysis import Outcome, SessionAnalysis
from schemas.simulation import Scenario

if TYPE_CHECKING:
    from strands.models import Model as StrandsModel

logger = logging.getLogger("oratio.services.analysis")

ENDED_EVENT = "session.ended"
"""The webhook event carrying a finished session's analysis (to the agent's handoff webhook URL)."""
SWEEP_BATCH = 100
"""Sessions one `run_pending` call analyses at most; the next sweep takes the rest."""
TURN_PAGE = 200
STORE_ATTEMPTS = 3
"""Commits tried per session: the day's totals are shared by every session of that day."""
EXPORT_DAYS_MAX = 31
"""The widest window one export covers: an admin exports a month at a time."""
EXPORT_ROWS_MAX = 1000
"""Sessions one export holds at most (newest first); `truncated` says when the window held more."""


def analysed_turns(backends: Backends, session: Session) -> list[Turn]:
    """The turns an analysis reads (the first ANALYSIS_TURNS_MAX): the analysis and the chart backfill fold the
    same turns, so a session backfilled into its day counts as the analysis would have counted it."""
    turns: list[Turn] = []
    cursor: str | None = None
    while len(turns) < ANALYSIS_TURNS_MAX:
        page = backends.store.query(TURNS, f"{session.tenant_id}#{session.id}", limit=TURN_PAGE, cursor=cursor)
        turns.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return turns[:ANALYSIS_TURNS_MAX]


class SessionExport(Model):
    format: str
    content: str
    count: int
    truncated: bool


PlanLookup = Callable[[str, str], AgentPlan | None]
ScenarioLookup = Callable[[str, str], list[Scenario]]
SessionLister = Callable[[Principal, SessionFilter], Page[Session]]


class AnalysisService:
    def __init__(
        self,
        backends: Backends,
        plan_for: PlanLookup,
        *,
        sessions: SessionLister | None = None,
        model: Callable[[], StrandsModel] | None = None,
        models: ModelLookup | None = None,
        scenarios: ScenarioLookup | None = None,
        model_seconds: float = DEFAULT_SECONDS,
        webhooks_on: bool = False,
        max_attempts: int = 6,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self._b = backends
        self._plan_for = plan_for
        self._sessions = sessions
        if model is not None:
            fixed = WriterModel("model", model)
            models = lambda tenant_id, agent_id: fixed  # noqa: E731 (one model for every agent: tests, tools)
        self._models = models
        """The agent's writer model (its own, a fresh one per call), None offline: the rules write alone."""
        self._scenarios = scenarios
        self._model_seconds = model_seconds
        self._webhooks_on = webhooks_on
        self._attempts = max_attempts
        self._wake = wake

    # -- the worker side -------------------------------------------------------------------------

    def run_pending(self, batch: int = SWEEP_BATCH) -> int:
        """Analyse up to `batch` ended sessions that have no analysis yet; returns how many were stored."""
        page = self._b.store.query(SESSIONS, "unanalysed", index="unanalysed", limit=batch)
        done = 0
        for session in page.items:
            try:
                done += self.analyse_session(session.tenant_id, session.id)
            except OratioError as exc:  # one bad session never blocks the others; it stays pending
                logger.warning("session_id=%s error=%s | analysis failed", session.id, exc)
        return done

    def analyse_session(self, tenant_id: str, session_id: str) -> bool:
        """Analyse one ended session; False if it is not ended, already analysed or another worker won."""
        session = require(self._b.store.get(SESSIONS, tenant_id, session_id), "session", session_id)
        if session.ended_at is None or session.analysed:
            return False
        turns = analysed_turns(self._b, session)
        plan = self._plan_for(tenant_id, session.agent_id)
        scenarios = self._held_to(tenant_id, session.agent_id)
        analysis = analyse(session, turns, plan, self._b.clock(), scenarios)
        writer = self._models(tenant_id, session.agent_id) if self._models is not None else None
        if writer is not None:
            fields = plan.information_to_collect if plan is not None else []
            analysis = with_model(
                analysis,
                turns,
                writer.build,
                seconds=self._model_seconds,
                name=writer.name,
                scenarios=scenarios,
                fields=fields,
            )
        delivery = self._delivery(session, analysis)
        for attempt in range(STORE_ATTEMPTS):
            if attempt:  # a day's totals moved under us (another worker's session): read again, once more
                session = require(self._b.store.get(SESSIONS, tenant_id, session_id), "session", session_id)
                if session.analysed:
                    return False
            writes: list[Write] = [Replace(SESSIONS, session.model_copy(update={"analysed": True, "folded": True}))]
            if self._b.store.get(ANALYSES, tenant_id, session_id) is None:
                writes.append(Insert(ANALYSES, analysis))
            if delivery is not None:
                writes.append(Insert(OUTBOX, delivery))
            writes += day_writes(self._b, session, turns, analysis)
            try:
                self._b.transact(writes)
                break
            except Conflict:
                continue
        else:
            return False  # the session moved or another worker stored it: the next sweep looks again
        self._b.emit(tenant_id, EventType.SESSION_ANALYSED, session_id, outcome=analysis.outcome.value)
        if delivery is not None:
            self._wake()
        return True

    def _held_to(self, tenant_id: str, agent_id: str) -> list[Scenario]:
        if self._scenarios is None:
            return []
        try:
            return self._scenarios(tenant_id, agent_id)
        except OratioError as exc:  # the blob store down: judge the plan's rules alone this time
            logger.warning("agent_id=%s error=%s | scenarios not read; the analysis goes without", agent_id, exc)
            return []

    def _delivery(self, session: Session, analysis: SessionAnalysis) -> OutboxDelivery | None:
        if not self._webhooks_on:
            return None
        data = {"session_id": session.id, "agent_id": session.agent_id, "analysis": analysis.model_dump(mode="json")}
        return session_webhook(self._b, session, ENDED_EVENT, data, max_attempts=self._attempts)

    # -- the admin side --------------------------------------------------------------------------

    def get(self, principal: Principal, session_id: str) -> SessionAnalysis:
        """The stored analysis of a session; NotFound (saying so) while it is live or not yet analysed, and
        the same NotFound as any unknown id for a session of another tenant."""
        tenant_id = authorize(principal, Scope.SESSIONS_READ)
        found = self._b.store.get(ANALYSES, tenant_id, session_id)
        if found is None:
            require(self._b.store.get(SESSIONS, tenant_id, session_id), "session", session_id)
            raise NotFound(f"session '{session_id}' has no analysis yet (it is live, or ended moments ago)")
        return found

    def find(self, principal: Principal, session_id: str) -> SessionAnalysis | None:
        tenant_id = authorize(principal, Scope.SESSIONS_READ)
        return self._b.store.get(ANALYSES, tenant_id, session_id)

    def list(
        self, principal: Principal, *, outcome: Outcome | None = None, limit: int = 50, cursor: str | None = None
    ) -> Page[SessionAnalysis]:
        """Newest session first; only those with `outcome` when given."""
        tenant_id = authorize(principal, Scope.SESSIONS_READ)
        check_limit(limit)
        if outcome is None:
            return self._b.store.query(ANALYSES, tenant_id, descending=True, limit=limit, cursor=cursor)
        partition = f"{tenant_id}#{outcome.value}"
        return self._b.store.query(ANALYSES, partition, index="by_outcome", descending=True, limit=limit, cursor=cursor)

    def export(self, principal: Principal, query: SessionFilter, fmt: ExportFormat) -> SessionExport:
        """The sessions `query` finds in a bounded window (both ends required, at most EXPORT_DAYS_MAX days),
        newest first, at most EXPORT_ROWS_MAX, with their analyses, as CSV or JSON."""
        tenant_id = authorize(principal, Scope.SESSIONS_READ)
        if query.started_after is None or query.started_before is None:
            raise InvalidInput("an export needs both started_after and started_before", field="started_after")
        if query.started_before - query.started_after > timedelta(days=EXPORT_DAYS_MAX):
            raise InvalidInput(f"an export covers at most {EXPORT_DAYS_MAX} days", field="started_before")
        if self._sessions is None:
            raise InvalidInput("exports are not available here", field="format")
        found: list[Session] = []
        cursor: str | None = None
        for _ in range(EXPORT_ROWS_MAX // 10):  # bounded even when few sessions match per page
            want = min(200, EXPORT_ROWS_MAX - len(found))
            page = self._sessions(principal, query.model_copy(update={"limit": want, "cursor": cursor}))
            found.extend(page.items)
            cursor = page.next_cursor
            if cursor is None or len(found) >= EXPORT_ROWS_MAX:
                break
        analyses = {
            s.id: a for s in found if s.analysed and (a := self._b.store.get(ANALYSES, tenant_id, s.id)) is not None
        }
        content = render(found, analyses, fmt)
        return SessionExport(format=fmt, content=content, count=len(found), truncated=cursor is not None)


def plan_lookup(artifact: Callable[[str, str], Any]) -> PlanLookup:
    """`AgentService.artifact` as a plan lookup: None when the agent is gone or has no deployed plan."""

    def lookup(tenant_id: str, agent_id: str) -> AgentPlan | None:
        try:
            _, deployed = artifact(tenant_id, agent_id)
        except OratioError:
            return None
        plan: AgentPlan = deployed.plan
        return plan

    return lookup
