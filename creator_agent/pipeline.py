"""The AgentCreator: SOP in, reviewed and tested agent deployed — or `failed` with the stage and reason.

Stages run in order, each recorded (status, duration, model calls) in a `CreationRecord` kept in
blob storage beside the agent's artifacts and readable through MCP. Progress goes out as
`agent.progress` events (live views, subscriptions) and to an optional callback (MCP progress).

The reviewed plan is the deployable artifact (docs/artifact.md): the plan object the review approved
is the one the test conversations run and the one `deploy` stores, and `AgentService.deploy` records
the sha256 of its stored bytes, which the runtime checks on every load.

Provisioning goes through the service layer only. An agent that was already active keeps serving
its old version while a new one is built, and only `AgentService.deploy` switches it; a failed
build of a new agent leaves it `failed` and nothing of that version stored, so nothing half-built is
reachable.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import PurePosixPath

import anyio.to_thread

from creator_agent import review_checks
from creator_agent._llm import ModelFactory
from creator_agent.action_plan import ToolDiscovery
from creator_agent.context import CreatorServices
from creator_agent.errors import CreationFailed, PlanNotApproved
from creator_agent.revise import revise
from creator_agent.simulation.stage import SimulationInput, failure_reason, outcomes, simulate, summary
from creator_agent.stages.base import list_limit
from creator_agent.stages.draft_plan import PlanDrafter
from creator_agent.stages.parse_sop import SopParser
from creator_agent.stages.review_loop import review_loop_async
from creator_agent.stages.review_plan import PlanReviewer
from oratio.auth.principals import service_principal
from oratio.errors import ConfigError, ModelUnavailable, NotFound, OratioError
from oratio.models.spec import parse_model_spec
from schemas import (
    Agent,
    AgentPlan,
    AgentStatus,
    CreationRecord,
    DocumentStatus,
    McpServerTool,
    McpToolSnapshot,
    NotificationType,
    ParsedSop,
    Principal,
    Priority,
    Scope,
    StageName,
    StageRecord,
    StageStatus,
    utcnow,
)
from schemas.simulation import SimulationReport

logger = logging.getLogger("oratio.creator")

Progress = Callable[[int, int, str], Awaitable[None]]
STAGES = list(StageName)


def creator_principal(tenant_id: str) -> Principal:
    """The AgentCreator acts inside one tenant, as a service with admin rights there."""
    return service_principal(tenant_id, "agent-creator", Scope.ADMIN)


class AgentCreator:
    """Builds agents; thinks with `model_factory` (None: no server-side model, each build lends one)."""

    def __init__(
        self,
        platform: CreatorServices,
        model_factory: ModelFactory | None,
        *,
        stage_timeout_s: float | None = None,
        players: ModelFactory | None = None,
        discovery: ToolDiscovery | None = None,
    ) -> None:
        """`players`: the model that plays simulated customers and judges; by default the creator's own
        model when it is a real one (not the offline `scripted` creator), else none (scripted scenarios).
        `discovery` lists the tools of an agent's MCP servers (`oratio.actions.mcp_client`); without it, an
        agent with an MCP server is refused at `draft_plan` with the reason."""
        self._platform = platform
        self._discovery = discovery
        self._models = model_factory
        self._players = players if players is not None else self._real_model(platform, model_factory)
        self._timeout = stage_timeout_s or platform.settings.creator_stage_timeout_seconds
        self._guard = threading.Lock()
        self._building: dict[tuple[str, str], threading.Lock] = {}
        self._owners = platform.creations.owners

    @property
    def has_model(self) -> bool:
        return self._models is not None

    async def think(self, tenant_id: str, agent_id: str, thinking: ModelFactory) -> None:
        """Parse, draft and review with `thinking`, writing nothing (AnswerPending passes through).

        A failure here is left for `create` to meet again and record: this only collects answers.
        """
        agent = await anyio.to_thread.run_sync(self._platform.agents.get, creator_principal(tenant_id), agent_id)
        parsed = await SopParser(thinking, timeout=self._timeout).run_async(agent.spec)
        try:
            mcp_tools = await self._discover(agent)
        except CreationFailed:
            mcp_tools = []  # `create` meets the failure again and records it
        drafter = PlanDrafter(thinking, timeout=self._timeout, mcp_tools=mcp_tools)
        await review_loop_async(agent.spec, parsed, drafter, PlanReviewer(thinking, timeout=self._timeout))

    async def create(
        self,
        tenant_id: str,
        agent_id: str,
        progress: Progress | None = None,
        *,
        thinking: ModelFactory | None = None,
    ) -> CreationRecord:
        """Run every stage for the agent's current spec; returns the record (also stored).

        `thinking` lends the model for the thinking stages (e.g. the MCP client's, by sampling); the
        test conversations then run on the model that will serve the agent's customers.

        Builds of one agent run one at a time (in this process): two quick updates must not both
        claim the next version number.
        """
        async with self._one_build(tenant_id, agent_id):
            return await self._create(tenant_id, agent_id, progress, thinking)

    async def revise(
        self,
        tenant_id: str,
        agent_id: str,
        plan: AgentPlan,
        progress: Progress | None = None,
        *,
        base_version: int | None = None,
    ) -> CreationRecord:
        """Review, test and deploy an admin-edited plan as a new version (`creator_agent.revise`)."""
        async with self._one_build(tenant_id, agent_id):
            return await revise(self, tenant_id, agent_id, plan, progress, base_version=base_version)

    @asynccontextmanager
    async def _one_build(self, tenant_id: str, agent_id: str) -> AsyncIterator[None]:
        """Builds (creations, rebuilds, edits) of one agent run one at a time in this process. They run on
        different event loops (background threads), hence a thread lock acquired from a worker thread."""
        with self._guard:
            lock = self._building.setdefault((tenant_id, agent_id), threading.Lock())
        await anyio.to_thread.run_sync(lock.acquire)
        try:
            # The owner record lets a restart tell this build, if this process dies, from a live one.
            await anyio.to_thread.run_sync(self._owners.claim, tenant_id, agent_id)
            try:
                yield
            finally:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self._owners.release, tenant_id, agent_id)
        finally:
            lock.release()

    async def _create(
        self, tenant_id: str, agent_id: str, progress: Progress | None, thinking: ModelFactory | None
    ) -> CreationRecord:
        platform = self._platform
        models = thinking or self._models
        if models is None:
            raise ConfigError("no model is configured for the AgentCreator: set ORATIO_MODEL (or 'scripted' offline)")
        creator = creator_principal(tenant_id)
        agent = await anyio.to_thread.run_sync(platform.agents.get, creator, agent_id)
        if agent.status is AgentStatus.FAILED:
            agent = await anyio.to_thread.run_sync(
                lambda: platform.agents.transition(tenant_id, agent_id, AgentStatus.CREATING, reason="rebuilding")
            )
        version = (agent.artifact_version or 0) + 1
        record = CreationRecord(tenant_id=tenant_id, agent_id=agent_id, version=version)
        run = _Run(platform, tenant_id, agent_id, record, progress)
        parser = SopParser(models, timeout=self._timeout)
        reviewer = PlanReviewer(models, timeout=self._timeout)
        try:
            await run.start(StageName.PARSE_SOP)
            parsed = await parser.run_async(agent.spec)
            run.record = run.record.model_copy(update={"parsed_sop": parsed})
            await run.passed(StageName.PARSE_SOP, parser.model_calls, f"{len(parsed.steps)} steps")

            await run.start(StageName.DRAFT_PLAN)
            mcp_tools = await self._discover(agent)
            drafter = PlanDrafter(models, timeout=self._timeout, mcp_tools=mcp_tools)
            found = f"; {len(mcp_tools)} MCP tools discovered" if mcp_tools else ""
            await run.passed(StageName.DRAFT_PLAN, 0, f"drafted inside the review loop below{found}")
            await run.start(StageName.REVIEW_PLAN)
            try:
                plan, reviews = await review_loop_async(agent.spec, parsed, drafter, reviewer)
            except PlanNotApproved as exc:
                run.record = run.record.model_copy(update={"reviews": exc.reviews})
                raise
            run.record = run.record.model_copy(update={"reviews": reviews})
            run.set_calls(StageName.DRAFT_PLAN, drafter.model_calls)
            reviewed = f"approved after {len(reviews)} reviews"
            if handed := review_checks.actions_without_tool(agent.spec, parsed, plan.action_map or None):
                # Shown to the admin: in the stage detail (progress, the record) and the agent-ready notification.
                run.notes.append(f"SOP actions no tool carries out, handled by handoff: {'; '.join(handed)}"[:1000])
                reviewed += f"; {run.notes[-1]}"
            await run.passed(StageName.REVIEW_PLAN, reviewer.model_calls, reviewed)

            await self._simulate_stage(run, agent, plan, parsed)

            await run.start(StageName.DEPLOY)
            # The plan the review approved and the tests ran, unchanged: deploy stores it and its sha256.
            deployed = await anyio.to_thread.run_sync(platform.agents.deploy, tenant_id, agent_id, plan)
            run.record = run.record.model_copy(update={"artifact_sha256": deployed.artifact_sha256})
            sha = deployed.artifact_sha256 or ""
            await run.passed(StageName.DEPLOY, 0, f"version {deployed.artifact_version} is live (plan sha256 {sha})")
        except CreationFailed as exc:
            await run.failed(exc.stage, exc.reason)
        except OratioError as exc:
            await run.failed(run.current or StageName.PARSE_SOP, exc.message)
        return run.record

    async def _discover(self, agent: Agent) -> list[McpToolSnapshot]:
        """The allowed tools of the agent's MCP servers, as their servers list them now (`tools/list`).

        Only the admin's allowed tools are kept, and each is a write action unless the admin listed it in
        `read_only_tools`, whatever the discovery (or the server) says. An allowed tool the server does not
        have, an unreachable server, or no discovery configured fails the build, naming the server."""
        servers = [tool for tool in agent.spec.tools if isinstance(tool, McpServerTool)]
        if not servers:
            return []
        if self._discovery is None:
            reason = (
                f"the agent uses the MCP server '{servers[0].name}', but this Oratio server cannot list MCP tools "
                "(no MCP client configured); remove the server from the agent's tools or run a server with one"
            )
            raise CreationFailed(StageName.DRAFT_PLAN, reason)
        found: list[McpToolSnapshot] = []
        for server in servers:
            try:
                listed = await self._discovery.discover(agent.tenant_id, server)
            except OratioError as exc:
                raise CreationFailed(StageName.DRAFT_PLAN, f"MCP server '{server.name}': {exc.message}") from None
            by_tool = {snap.tool: snap for snap in listed if snap.server == server.name}
            missing = [name for name in server.allowed_tools if name not in by_tool]
            if missing:
                reason = f"MCP server '{server.name}' has no tool named {', '.join(missing)[:300]} (allowed_tools)"
                raise CreationFailed(StageName.DRAFT_PLAN, reason)
            read_only = set(server.read_only_tools)
            found += [
                by_tool[name].model_copy(update={"write": name not in read_only}) for name in server.allowed_tools
            ]
        cap = list_limit("mcp_tools", AgentPlan)
        if len(found) > cap:
            raise CreationFailed(StageName.DRAFT_PLAN, f"the agent's MCP servers allow {len(found)} tools, over {cap}")
        return found

    async def _simulate_stage(self, run: _Run, agent: Agent, plan: AgentPlan, parsed: ParsedSop) -> None:
        """The `simulate` stage of a build or an admin's edit: run the scenarios, gate on the critical ones,
        store the report under the attempted version (before deploy, so a failed deploy drops it with the
        rest of that version). Simulations run on the model that will serve customers, never the creator's."""
        await run.start(StageName.SIMULATE)
        principal = creator_principal(agent.tenant_id)
        question = await anyio.to_thread.run_sync(self._knowledge_question, principal, agent.id)
        given = SimulationInput(agent.tenant_id, agent.id, agent.name, plan, parsed, run.record.version, question)
        serving = self._serving(agent, plan)
        report, calls = await simulate(
            self._platform, given, serving, players=self._players, time_limit_s=self._timeout
        )
        run.record = run.record.model_copy(update={"tests": outcomes(report), "simulation": report})
        if not report.passed:
            raise CreationFailed(StageName.SIMULATE, failure_reason(report))
        await anyio.to_thread.run_sync(self._platform.simulations.store_report, agent.tenant_id, agent.id, report)
        await run.passed(StageName.SIMULATE, calls, summary(report))

    def _serving(self, agent: Agent, plan: AgentPlan) -> ModelFactory:
        """The model the agent will serve customers with, for its test conversations: the creator's model
        (server-side or lent) only thinks, so an agent whose own model cannot work never goes active."""
        try:
            model = self._platform.engine.agent_model(agent, plan)
        except (ConfigError, ModelUnavailable) as exc:
            reason = f"no model to hold the simulations: {exc.message}"
            raise CreationFailed(StageName.SIMULATE, reason) from None
        return lambda: model

    def _start_run(self, tenant_id: str, agent_id: str, record: CreationRecord, progress: Progress | None) -> _Run:
        return _Run(self._platform, tenant_id, agent_id, record, progress)

    @staticmethod
    def _real_model(platform: CreatorServices, models: ModelFactory | None) -> ModelFactory | None:
        spec = platform.settings.model
        if models is None or spec is None or parse_model_spec(spec, source="ORATIO_MODEL").provider == "scripted":
            return None
        return models

    async def simulate(self, tenant_id: str, agent_id: str, plan: AgentPlan, version: int) -> SimulationReport:
        """Run the agent's scenarios on `plan` (an admin's edit, or a re-run of a stored version).

        Scenarios come from `plan` and the parsed SOP of the agent's latest creation record that has
        one, plus the admin's; the plan plays on the agent's serving model. Nothing is stored here.
        """
        creator = creator_principal(tenant_id)
        agent = await anyio.to_thread.run_sync(self._platform.agents.get, creator, agent_id)
        parsed = await anyio.to_thread.run_sync(self._parsed, tenant_id, agent_id)
        question = await anyio.to_thread.run_sync(self._knowledge_question, creator, agent_id)
        given = SimulationInput(tenant_id, agent_id, agent.name, plan, parsed, version, question)
        try:
            serving = self._serving(agent, plan)
        except CreationFailed as exc:
            raise ModelUnavailable(exc.reason) from None
        report, _ = await simulate(self._platform, given, serving, players=self._players, time_limit_s=self._timeout)
        return report

    def _parsed(self, tenant_id: str, agent_id: str) -> ParsedSop:
        try:
            records = self._platform.creations.records(tenant_id, agent_id)
        except NotFound:
            records = []
        for record in reversed(records):
            if record.parsed_sop is not None:
                return record.parsed_sop
        return ParsedSop()

    def records(self, tenant_id: str, agent_id: str) -> list[CreationRecord]:
        """Every creation run of the agent, oldest first (read from blob storage)."""
        return self._platform.creations.records(tenant_id, agent_id)

    def _knowledge_question(self, principal: Principal, agent_id: str) -> str | None:
        """A question the agent's documents answer: about the first ready document, by its name.

        Documents are indexed in the background after an upload: the test conversations wait for them
        first (bounded), so an agent created with its documents is tested on its whole knowledge.
        """
        wait = self._platform.settings.creation_documents_wait_seconds
        left = self._platform.documents.wait_settled(principal, agent_id, wait)
        if left:
            logger.warning("agent=%s documents=%d | still being indexed; tested without them", agent_id, len(left))
        for document in self._platform.documents.list(principal, agent_id, limit=200).items:
            if document.status is DocumentStatus.READY:
                topic = PurePosixPath(document.name).stem.replace("_", " ").replace("-", " ")
                return f"What does your {topic} say?"
        return None


class _Run:
    """One creation in progress: keeps the record current, emits progress, finishes success or failure."""

    def __init__(
        self,
        platform: CreatorServices,
        tenant_id: str,
        agent_id: str,
        record: CreationRecord,
        progress: Progress | None,
    ) -> None:
        self._platform = platform
        self._tenant = tenant_id
        self._agent = agent_id
        self.record = record
        self._progress = progress
        self.current: StageName | None = None
        self.notes: list[str] = []
        """What the admin should know about a build that succeeds (e.g. SOP actions left to handoff)."""

    async def start(self, stage: StageName) -> None:
        self.current = stage
        self.record = self.record.model_copy(
            update={"stages": [*self.record.stages, StageRecord(stage=stage, status=StageStatus.RUNNING)]}
        )
        await self._announce(stage, "running")

    async def passed(self, stage: StageName, model_calls: int, detail: str) -> None:
        self._close(stage, StageStatus.PASSED, model_calls, detail)
        await self._announce(stage, "passed", detail)
        if stage is StageName.DEPLOY:
            await self._finish(succeeded=True, failure=None)

    async def skipped(self, stage: StageName, detail: str) -> None:
        """A stage this build does not run (an admin edit is neither parsed nor drafted), said as such."""
        now = utcnow()
        skipped = StageRecord(stage=stage, status=StageStatus.SKIPPED, started_at=now, ended_at=now, detail=detail)
        self.record = self.record.model_copy(update={"stages": [*self.record.stages, skipped]})
        await self._announce(stage, "skipped", detail)

    def set_calls(self, stage: StageName, model_calls: int) -> None:
        stages = [
            s.model_copy(update={"model_calls": model_calls}) if s.stage is stage else s for s in self.record.stages
        ]
        self.record = self.record.model_copy(update={"stages": stages})

    async def failed(self, stage: StageName, reason: str) -> None:
        if not any(s.stage is stage for s in self.record.stages):
            self.record = self.record.model_copy(
                update={"stages": [*self.record.stages, StageRecord(stage=stage, status=StageStatus.RUNNING)]}
            )
        self._close(stage, StageStatus.FAILED, None, reason)
        await self._announce(stage, "failed", reason)
        await self._finish(succeeded=False, failure=f"{stage.value}: {reason}")

    def _close(self, stage: StageName, status: StageStatus, model_calls: int | None, detail: str) -> None:
        stages = []
        for item in self.record.stages:
            if item.stage is stage and item.status is StageStatus.RUNNING:
                update: dict[str, object] = {"status": status, "ended_at": utcnow(), "detail": detail[:4000]}
                if model_calls is not None:
                    update["model_calls"] = model_calls
                item = item.model_copy(update=update)
            stages.append(item)
        self.record = self.record.model_copy(update={"stages": stages})

    async def _announce(self, stage: StageName, status: str, detail: str = "") -> None:
        step = STAGES.index(stage) + (1 if status != "running" else 0)
        record = self.record

        def publish() -> None:
            # The record as it stands (`succeeded` still None) is stored first: a page opened or reloaded mid-build
            # reads the stages so far from it, from any process; the event then wakes the live views.
            self._platform.creations.record(record)
            self._platform.creations.progress(
                self._tenant, self._agent, stage=stage.value, status=status, detail=detail
            )

        await anyio.to_thread.run_sync(publish)
        if self._progress is not None:
            await self._progress(step, len(STAGES), f"{stage.value}: {status}{' - ' + detail if detail else ''}")

    async def _finish(self, *, succeeded: bool, failure: str | None) -> None:
        self.record = self.record.model_copy(update={"succeeded": succeeded, "failure": failure, "ended_at": utcnow()})
        await anyio.to_thread.run_sync(self._store_outcome, succeeded, failure)

    def _store_outcome(self, succeeded: bool, failure: str | None) -> None:
        platform, tenant, agent = self._platform, self._tenant, self._agent
        record = self.record
        platform.creations.record(record)
        current = platform.agents.get(creator_principal(tenant), agent)
        name = current.name
        if succeeded:
            platform.notifications.notify(
                tenant,
                NotificationType.AGENT_READY,
                f"Agent '{name}' is live (version {record.version})",
                body="\n".join(self.notes),
                agent_id=agent,
            )
            logger.info("tenant=%s agent=%s version=%d | agent created", tenant, agent, record.version)
            return
        # Nothing half-built stays reachable: drop whatever this version stored (a deploy that failed
        # after writing its plan); no agent record points at it.
        platform.creations.discard_version(tenant, agent, record.version)
        current = platform.agents.get(creator_principal(tenant), agent)
        if current.status is AgentStatus.CREATING:
            platform.agents.transition(tenant, agent, AgentStatus.FAILED, reason=failure)
        platform.notifications.notify(
            tenant,
            NotificationType.AGENT_FAILED,
            f"Agent '{name}' could not be built",
            body=failure or "",
            priority=Priority.HIGH,
            agent_id=agent,
        )
        logger.info("tenant=%s agent=%s version=%d | creation failed: %s", tenant, agent, record.version, failure)


def load_record(platform: CreatorServices, tenant_id: str, agent_id: str, version: int) -> CreationRecord:
    return platform.creations.load(tenant_id, agent_id, version)
