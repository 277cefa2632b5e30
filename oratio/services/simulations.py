"""Simulation reports per agent version, the admin's own scenarios and critical markings, and the bounds
on re-running simulations: where the AgentCreator and the MCP tools reach simulation data.

Layout (blob storage, tenant-scoped like every key): the report of version n at
`{tenant}/agents/{agent}/v{n}/simulations.json` (written by the creator before deploy, so a failed
build's cleanup of `v{n}/` takes it too; the creation record keeps a copy either way), and the
agent's scenario book (admin scenarios + markings) at `{tenant}/agents/{agent}/scenarios.json`,
bounded in count (`ORATIO_SIMULATION_ADMIN_SCENARIOS_MAX`) and size (`BOOK_BYTES_MAX`).

Re-runs cost model calls, so each tenant gets one run at a time in this process and a token bucket
of `ORATIO_SIMULATION_RUNS_PER_MINUTE`, counted where the platform's limits are (`runs`: per process, or
shared by every replica in the store with ORATIO_RATE_LIMIT_STATE=store). The one-at-a-time guard stays
per process: a run lasts minutes with no bound to set a claim's expiry by, so across N replicas a tenant
may have up to N runs at once, all within the one shared rate.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import ValidationError

from oratio.auth.rate_limit import RateLimiter, check_on_loop
from oratio.errors import Conflict, InvalidInput, InvalidState, NotFound
from oratio.services._common import Backends, authorize
from oratio.services.agents import AgentService, artifact_key
from oratio.services.creations import record_key
from oratio.store.tables import AGENTS
from schemas import AgentPlan, CreationRecord, DeployedArtifact, Principal, Scope
from schemas.simulation import Scenario, ScenarioBook, SimulationReport

__all__ = ["BOOK_BYTES_MAX", "SimulationService", "book_key", "report_key"]

BOOK_BYTES_MAX = 256 * 1024
"""The largest an agent's scenario book may grow (admin scenarios and markings, as stored JSON)."""


def report_key(tenant_id: str, agent_id: str, version: int) -> str:
    return f"{tenant_id}/agents/{agent_id}/v{version}/simulations.json"


def book_key(tenant_id: str, agent_id: str) -> str:
    return f"{tenant_id}/agents/{agent_id}/scenarios.json"


class SimulationService:
    def __init__(
        self, backends: Backends, agents: AgentService, *, admin_scenarios_max: int, runs: RateLimiter
    ) -> None:
        """`runs` counts each tenant's re-runs (`RateLimits.limiter`, scope `simulation_runs`)."""
        self._b = backends
        self._agents = agents
        self._max = admin_scenarios_max
        self._limiter = runs
        self._guard = threading.Lock()
        self._running: set[str] = set()
        self._books = threading.Lock()  # read-modify-write of scenario books, in this process

    # -- the creator's side (already inside one tenant) ------------------------------------------------

    def book(self, tenant_id: str, agent_id: str) -> ScenarioBook:
        """The agent's admin scenarios and markings (empty when the admin set none)."""
        try:
            raw = self._b.blobs.get(book_key(tenant_id, agent_id))
        except NotFound:
            return ScenarioBook()
        try:
            return ScenarioBook.model_validate_json(raw)
        except ValidationError:
            # A build must end with a reason, not a traceback, even when storage holds something odd.
            raise InvalidState(f"the stored scenarios of agent '{agent_id}' are unreadable") from None

    def held_to(self, tenant_id: str, agent_id: str) -> list[Scenario]:
        """The scenarios the agent's serving version is held to (for the post-call analysis): those its
        last simulation ran, then the admin's not among them; [] when none are stored or readable."""
        agent = self._b.store.get(AGENTS, tenant_id, agent_id)
        ran: list[Scenario] = []
        if agent is not None and agent.artifact_version is not None:
            try:
                raw = self._b.blobs.get(report_key(tenant_id, agent_id, agent.artifact_version))
                ran = SimulationReport.model_validate_json(raw).scenarios
            except (NotFound, ValidationError):
                ran = []  # never simulated, or unreadable: the analysis judges what it has
        try:
            book = self.book(tenant_id, agent_id)
        except InvalidState:
            book = ScenarioBook()
        ids = {s.id for s in ran}
        return [*ran, *(s for s in book.scenarios if s.id not in ids)]

    def store_report(self, tenant_id: str, agent_id: str, report: SimulationReport) -> None:
        data = report.model_dump_json().encode()
        self._b.blobs.put(report_key(tenant_id, agent_id, report.version), data, content_type="application/json")

    # -- the admin's side ------------------------------------------------------------------------------

    def report(self, principal: Principal, agent_id: str, version: int | None = None) -> SimulationReport:
        """The report of `version` (default: the serving one); a failed build's comes from its creation record."""
        agent = self._agents.get(principal, agent_id)
        wanted = version or agent.artifact_version
        if wanted is None:
            raise NotFound(f"agent '{agent_id}' has no deployed version yet, so no simulation report", field="version")
        tenant = agent.tenant_id
        try:
            return SimulationReport.model_validate_json(self._b.blobs.get(report_key(tenant, agent_id, wanted)))
        except NotFound:
            pass
        except ValidationError:
            raise InvalidState(f"the stored simulation report of version {wanted} is unreadable") from None
        try:
            record = CreationRecord.model_validate_json(self._b.blobs.get(record_key(tenant, agent_id, wanted)))
        except NotFound:
            record = None
        if record is None or record.simulation is None:
            raise NotFound(f"no simulation report for version {wanted} of agent '{agent_id}'", field="version")
        return record.simulation

    def scenarios(self, principal: Principal, agent_id: str) -> list[Scenario]:
        """The scenarios the agent is held to: those derived at its last run, then the admin's, as marked."""
        agent = self._agents.get(principal, agent_id)
        book = self.book(agent.tenant_id, agent_id)
        try:
            derived = [s for s in self.report(principal, agent_id).scenarios if s.origin == "derived"]
        except NotFound:
            derived = []
        ids = {d.id for d in derived}
        merged = [*derived, *(s for s in book.scenarios if s.id not in ids)]
        return [s.model_copy(update={"critical": book.critical.get(s.id, s.critical)}) for s in merged]

    def add(self, principal: Principal, agent_id: str, scenario: Scenario) -> Scenario:
        """Add an admin scenario (its id must be new among the agent's scenarios); it runs from the next run on."""
        tenant = authorize(principal, Scope.AGENTS_WRITE)
        added = scenario.model_copy(update={"origin": "admin"})
        known = {s.id for s in self.scenarios(principal, agent_id)}
        with self._books:
            book = self.book(tenant, agent_id)
            if added.id in known or any(s.id == added.id for s in book.scenarios):
                raise Conflict(f"agent '{agent_id}' already has a scenario '{added.id}'; choose another id")
            if len(book.scenarios) >= self._max:
                raise InvalidInput(f"an agent holds at most {self._max} admin scenarios", field="scenario")
            self._save(tenant, agent_id, book.model_copy(update={"scenarios": [*book.scenarios, added]}))
        return added

    def set_critical(self, principal: Principal, agent_id: str, scenario_id: str, critical: bool) -> Scenario:
        """Mark a scenario (derived or the admin's) critical or not; it applies from the next run on."""
        tenant = authorize(principal, Scope.AGENTS_WRITE)
        found = next((s for s in self.scenarios(principal, agent_id) if s.id == scenario_id), None)
        if found is None:
            raise NotFound(f"agent '{agent_id}' has no scenario '{scenario_id}'", field="scenario_id")
        with self._books:
            book = self.book(tenant, agent_id)
            self._save(tenant, agent_id, book.model_copy(update={"critical": {**book.critical, scenario_id: critical}}))
        return found.model_copy(update={"critical": critical})

    def plan(self, principal: Principal, agent_id: str, version: int | None = None) -> tuple[str, AgentPlan, int]:
        """(agent name, plan, version) to re-run: the serving version by default, or a stored older one."""
        agent = self._agents.get(principal, agent_id)
        if version is None or version == agent.artifact_version:
            serving, artifact = self._agents.artifact(agent.tenant_id, agent_id, recheck=True)
            return serving.name, artifact.plan, artifact.version
        if agent.artifact_version is None or not 1 <= version <= agent.artifact_version:
            raise InvalidState(f"agent '{agent_id}' has no deployed version {version}")
        try:
            raw = self._b.blobs.get(artifact_key(agent.tenant_id, agent_id, version))
            stored = DeployedArtifact.model_validate_json(raw)
        except (NotFound, ValidationError):
            raise NotFound(f"version {version} of agent '{agent_id}' is not stored", field="version") from None
        return agent.name, stored.plan, version

    @asynccontextmanager
    async def run_slot(self, tenant_id: str) -> AsyncIterator[None]:
        """One re-run per tenant at a time, within the tenant's rate: Conflict or RateLimited otherwise.

        Async because the rate may be shared in DynamoDB: its check is a round trip, made off the loop."""
        with self._guard:
            if tenant_id in self._running:
                raise Conflict("a simulation run is already in progress for this organisation; wait for its report")
            self._running.add(tenant_id)
        try:
            await check_on_loop(self._limiter, tenant_id)  # taken while the tenant's slot is held: one at a time
            yield
        finally:
            with self._guard:
                self._running.discard(tenant_id)

    def _save(self, tenant_id: str, agent_id: str, book: ScenarioBook) -> None:
        data = book.model_dump_json().encode()
        if len(data) > BOOK_BYTES_MAX:
            raise InvalidInput(
                f"the agent's scenarios would take {len(data)} bytes, over the {BOOK_BYTES_MAX}-byte limit",
                field="scenario",
            )
        self._b.blobs.put(book_key(tenant_id, agent_id), data, content_type="application/json")
