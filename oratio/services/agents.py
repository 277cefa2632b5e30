"""Agents: create, read, change, pause and delete, with the status lifecycle enforced here only."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from pydantic import ValidationError

from oratio.errors import ArtifactRejected, Conflict, InvalidInput, InvalidState, ModelUnavailable, NotFound
from oratio.ids import new_id
from oratio.models.gate import ModelGate
from oratio.services._common import Backends, authorize, check_limit, require, update_with_retry
from oratio.services.documents import DocumentService
from oratio.services.keys import KeyService
from oratio.services.plan_cache import PlanCache
from oratio.sop_intake import check_sop
from oratio.store.ports import Page, Unchanged
from oratio.store.tables import AGENTS
from oratio.tenant_patterns import PatternError, compile_tenant_regex
from schemas import (
    AGENT_TRANSITIONS,
    Agent,
    AgentPlan,
    AgentSpec,
    AgentStatus,
    AgentUpdate,
    CreateAgent,
    DeployedArtifact,
    EventType,
    HttpTool,
    McpServerTool,
    Principal,
    Scope,
)

logger = logging.getLogger("oratio.agents")

ToolsEdit = Callable[[list[HttpTool | McpServerTool]], list[HttpTool | McpServerTool]]
"""A change to an agent's tool list, applied to the stored list inside the update's write."""


class AgentService:
    def __init__(
        self,
        backends: Backends,
        documents: DocumentService,
        keys: KeyService,
        models: ModelGate,
        *,
        plans: PlanCache | None = None,
    ) -> None:
        self._b = backends
        self._documents = documents
        self._keys = keys
        self._models = models
        self._plans = plans or PlanCache()
        """Verified plans; with `recheck_seconds` > 0 a turn reads no blob while its plan's check is fresh."""

    def _check_model(self, requested: str | None) -> None:
        """A tenant picks only an allowed model name (4xx otherwise), and one that can run here: a missing
        SDK or credential fails the request now, with the reason, not a customer's first turn."""
        self._models.check_choice(requested)
        if requested is None and not self._models.has_platform_model:
            return  # no model here at all: a lent (MCP sampling) build meets that and records it at its stage
        problem = self._models.problem(requested)
        if problem is not None:
            raise ModelUnavailable(f"this agent's model cannot run on this server: {problem}")

    def model_choices(self, principal: Principal) -> tuple[list[str], bool]:
        """The model names a tenant may put in a spec (the operator's allow-list, never their endpoints), and
        whether leaving `model` unset picks a platform model: what a creation form offers."""
        authorize(principal, Scope.AGENTS_READ)
        return self._models.allowed.names, self._models.has_platform_model

    def create(self, principal: Principal, request: CreateAgent) -> Agent:
        """Store the agent as `creating` with its documents. The AgentCreator picks it up from here.

        Every document is checked before anything is written, so a refused request leaves nothing.
        """
        tenant_id = authorize(principal, Scope.AGENTS_WRITE)
        spec = request.spec
        check_sop(spec.sop)  # an SOP with no instruction is refused before anything is stored
        self._check_model(spec.model)
        for content in request.documents:
            self._documents.check(content)
        names = [d.name.casefold() for d in request.documents]
        if len(set(names)) != len(names):
            raise InvalidInput("two documents have the same name", field="documents")
        now = self._b.clock()
        agent = Agent(tenant_id=tenant_id, id=new_id("agent"), spec=spec, created_at=now, updated_at=now)
        try:
            stored = self._b.store.insert(AGENTS, agent)
        except Conflict:
            raise Conflict(f"an agent named '{spec.name}' already exists; pick another name", field="name") from None
        self._b.emit(tenant_id, EventType.AGENT_CREATED, stored.id, name=spec.name, status=stored.status.value)
        for content in request.documents:
            self._documents.store_for_agent(tenant_id, stored.id, content)
        return stored

    def buildable(self, principal: Principal, agent_id: str) -> Agent:
        """The agent, if this admin may start its build now: write scope, and `creating` (stored, not built yet)
        or `failed` (built again from its current spec). A live agent is rebuilt by changing it (`update`)."""
        tenant_id = authorize(principal, Scope.AGENTS_WRITE)
        agent = require(self._b.store.get(AGENTS, tenant_id, agent_id), "agent", agent_id)
        if agent.status not in (AgentStatus.CREATING, AgentStatus.FAILED):
            raise InvalidState(
                f"agent '{agent_id}' is {agent.status.value}; only an agent being created or a failed one is built"
                " from here (change a live agent to rebuild it)"
            )
        return agent

    def get(self, principal: Principal, agent_id: str) -> Agent:
        tenant_id = authorize(principal, Scope.AGENTS_READ)
        return require(self._b.store.get(AGENTS, tenant_id, agent_id), "agent", agent_id)

    def list(
        self,
        principal: Principal,
        *,
        status: AgentStatus | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Agent]:
        tenant_id = authorize(principal, Scope.AGENTS_READ)
        check_limit(limit)
        if status is None:
            return self._b.store.query(AGENTS, tenant_id, limit=limit, cursor=cursor)
        return self._b.store.query(AGENTS, f"{tenant_id}#{status.value}", index="by_status", limit=limit, cursor=cursor)

    def update(
        self, principal: Principal, agent_id: str, change: AgentUpdate, *, edit_tools: ToolsEdit | None = None
    ) -> Agent:
        """Apply a partial spec change. Re-running the AgentCreator on it is the caller's next step.

        `edit_tools` (the ToolService's add/update/remove) computes the new tool list from the stored one
        inside the write, so two admins changing an agent's tools at once cannot lose each other's change;
        it may raise to refuse it (a taken name, an unknown tool).
        """
        tenant_id = authorize(principal, Scope.AGENTS_WRITE)
        fields = change.model_dump(exclude_unset=True, exclude_none=True)
        if not fields and edit_tools is None:
            raise InvalidInput("nothing to update: give at least one field")
        if change.sop is not None:
            check_sop(change.sop)
        if "model" in fields:
            self._check_model(change.model)

        def apply(agent: Agent) -> Agent:
            data = {**agent.spec.model_dump(), **fields}
            if edit_tools is not None:
                data["tools"] = [tool.model_dump() for tool in edit_tools(list(agent.spec.tools))]
            spec = AgentSpec.model_validate(data)
            return agent.model_copy(update={"spec": spec, "updated_at": self._b.clock()})

        updated = update_with_retry(self._b.store, AGENTS, tenant_id, agent_id, "agent", apply)
        changed = set(fields) | ({"tools"} if edit_tools is not None else set())
        self._b.emit(tenant_id, EventType.AGENT_UPDATED, agent_id, fields=sorted(changed))
        return updated

    def pause(self, principal: Principal, agent_id: str) -> Agent:
        """Stop serving customers; sessions in flight finish, new ones are refused."""
        authorize(principal, Scope.AGENTS_WRITE)
        return self.transition(principal.tenant_id, agent_id, AgentStatus.PAUSED, reason="paused by an admin")

    def resume(self, principal: Principal, agent_id: str) -> Agent:
        authorize(principal, Scope.AGENTS_WRITE)
        agent = self.get(principal, agent_id)
        if agent.status is not AgentStatus.PAUSED:
            raise InvalidState(f"agent '{agent_id}' is {agent.status.value}, only a paused agent can be resumed")
        return self.transition(principal.tenant_id, agent_id, AgentStatus.ACTIVE, reason=None)

    def note(self, tenant_id: str, agent_id: str, reason: str) -> Agent:
        """Say why a `creating` agent is not moving on (e.g. it waits for a model); its status stays.

        Writes only when the reason changes."""
        current = require(self._b.store.get(AGENTS, tenant_id, agent_id), "agent", agent_id)
        if current.status is AgentStatus.CREATING and current.status_reason == reason[:2000]:
            return current

        def apply(agent: Agent) -> Agent:
            if agent.status is not AgentStatus.CREATING:
                raise InvalidState(f"agent '{agent_id}' is {agent.status.value}, not creating")
            return agent.model_copy(update={"status_reason": reason[:2000], "updated_at": self._b.clock()})

        return update_with_retry(self._b.store, AGENTS, tenant_id, agent_id, "agent", apply)

    def transition(
        self,
        tenant_id: str,
        agent_id: str,
        target: AgentStatus,
        *,
        reason: str | None,
        artifact_version: int | None = None,
        artifact_sha256: str | None = None,
    ) -> Agent:
        """Move an agent along its lifecycle (AGENT_TRANSITIONS); any other move is InvalidState.

        Internal entry point for the AgentCreator and the runtime, which act for the platform, not
        for a principal; the doors reach it only through the principal-checked methods above.
        """

        def apply(agent: Agent) -> Agent:
            if target not in AGENT_TRANSITIONS[agent.status]:
                raise InvalidState(f"agent '{agent_id}' is {agent.status.value} and cannot become {target.value}")
            update: dict[str, object] = {
                "status": target,
                "status_reason": reason,
                "updated_at": self._b.clock(),
            }
            if artifact_version is not None:
                update["artifact_version"] = artifact_version
                update["artifact_sha256"] = artifact_sha256
            return agent.model_copy(update=update)

        updated = update_with_retry(self._b.store, AGENTS, tenant_id, agent_id, "agent", apply)
        self._b.emit(tenant_id, EventType.AGENT_STATUS, agent_id, status=target.value, reason=reason)
        return updated

    def delete(self, principal: Principal, agent_id: str) -> None:
        """Delete an agent, its keys and its documents. Its past sessions stay for the record."""
        tenant_id = authorize(principal, Scope.AGENTS_WRITE)
        require(self._b.store.get(AGENTS, tenant_id, agent_id), "agent", agent_id)
        # Keys first: once the agent record is gone nothing must still authenticate against it.
        self._keys.delete_for_agent(tenant_id, agent_id)
        self._documents.delete_for_agent(tenant_id, agent_id)
        self._b.store.delete(AGENTS, tenant_id, agent_id)
        self._b.emit(tenant_id, EventType.AGENT_DELETED, agent_id)

    def deploy(self, tenant_id: str, agent_id: str, plan: AgentPlan) -> Agent:
        """Store the plan as the agent's next artifact version, record its sha256, make the agent active.

        Called by the AgentCreator once review and tests passed, with the plan they passed. The sha256 is
        of the exact bytes stored, and goes into the agent record in the same write that points the agent
        at the version, so no reader ever sees a version without its hash. The previous version keeps
        serving until this returns: the runtime reads `artifact_version` from the agent record.
        """
        for rule in plan.handoff_rules:
            if rule.kind == "regex":
                for pattern in rule.patterns:
                    try:
                        compile_tenant_regex(pattern)
                    except PatternError as exc:
                        raise InvalidInput(
                            f"handoff rule '{rule.id}': pattern {pattern!r} is not valid: {exc}"
                        ) from None
        agent = require(self._b.store.get(AGENTS, tenant_id, agent_id), "agent", agent_id)
        version = (agent.artifact_version or 0) + 1
        artifact = DeployedArtifact(tenant_id=tenant_id, agent_id=agent_id, version=version, plan=plan)
        data = artifact.model_dump_json().encode()
        self._b.blobs.put(artifact_key(tenant_id, agent_id, version), data, content_type="application/json")
        deployed = self.transition(
            tenant_id,
            agent_id,
            AgentStatus.ACTIVE,
            reason=None,
            artifact_version=version,
            artifact_sha256=hashlib.sha256(data).hexdigest(),
        )
        self._plans.forget(tenant_id, agent_id)  # older versions are never served again
        return deployed

    def serving(self, tenant_id: str, agent_id: str) -> tuple[Agent, DeployedArtifact, Unchanged[Agent] | None]:
        """`artifact`, for a conversation turn that stores what it does in one commit: with the condition it
        must carry there, when it has one.

        When this process served the agent before and the plan that record names was checked less than
        `ORATIO_PLAN_RECHECK_SECONDS` ago, neither the record nor the plan is read: the turn is stored
        only if the record is still that version (`Unchanged`), so a pause, an edit or a new deploy
        made anywhere refuses the turn before anything is stored (`SessionService.append_next` raises
        `RecordMoved`; call `forget` and this again). Otherwise this is `artifact`, and no condition.
        """
        known = self._plans.remembered(tenant_id, agent_id)
        if known is not None and known.artifact_version is not None and known.artifact_sha256 is not None:
            fresh = self._plans.fresh((tenant_id, agent_id, known.artifact_version, known.artifact_sha256))
            if fresh is not None:
                return known, fresh, Unchanged(AGENTS, known)
        agent, artifact = self.artifact(tenant_id, agent_id)
        return agent, artifact, None

    def forget(self, tenant_id: str, agent_id: str) -> None:
        """Drop what this process remembers of the agent (its record moved elsewhere)."""
        self._plans.forget(tenant_id, agent_id)

    def artifact(self, tenant_id: str, agent_id: str, *, recheck: bool = False) -> tuple[Agent, DeployedArtifact]:
        """The agent and the artifact it serves now. InvalidState if it is not taking conversations.

        The stored bytes must hash to the sha256 recorded at deploy: otherwise the agent is marked
        `failed` with the reason and `ArtifactRejected` (503) is raised, so no customer is served a plan
        nobody reviewed. An agent deployed before hashes were recorded has its hash pinned here, once.
        The agent record is read on every call (a pause or a new deploy applies at once, in every
        process). The plan it names is served from memory while its bytes were read, hashed and matched
        less than `ORATIO_PLAN_RECHECK_SECONDS` ago (`oratio.services.plan_cache`): the reviewed plan is
        the one that serves, and bytes changed in storage are refused at the next recheck, never served.
        With 0, or `recheck=True` (an admin reading or simulating the serving plan), the stored plan is
        read and hashed on this call.
        """
        agent = require(self._b.store.get(AGENTS, tenant_id, agent_id), "agent", agent_id)
        if agent.status is not AgentStatus.ACTIVE or agent.artifact_version is None:
            raise InvalidState(f"agent '{agent_id}' is {agent.status.value} and is not taking conversations")
        version = agent.artifact_version
        if agent.artifact_sha256 is not None and not recheck:
            fresh = self._plans.fresh((tenant_id, agent_id, version, agent.artifact_sha256))
            if fresh is not None:
                self._plans.remember(agent)
                return agent, fresh  # the record still names these bytes, checked moments ago
        try:
            raw = self._b.blobs.get(artifact_key(tenant_id, agent_id, version))
        except NotFound:
            raise self._reject(tenant_id, agent_id, version, f"version {version}: its stored plan is missing") from None
        digest = hashlib.sha256(raw).hexdigest()
        if digest == agent.artifact_sha256 and (cached := self._plans.get((tenant_id, agent_id, version, digest))):
            self._plans.put((tenant_id, agent_id, version, digest), cached)  # checked again just now
            self._plans.remember(agent)
            return agent, cached  # the bytes are the reviewed ones: skip parsing them again
        if agent.artifact_sha256 is None:
            agent = self._pin(tenant_id, agent_id, version, digest)
        elif digest != agent.artifact_sha256:
            raise self._reject(
                tenant_id,
                agent_id,
                version,
                f"the stored plan of version {version} does not match the sha256 recorded when it was reviewed "
                "and deployed, so it is not served; update the agent to rebuild it",
            )
        try:
            artifact = DeployedArtifact.model_validate_json(raw)
        except ValidationError:
            raise self._reject(tenant_id, agent_id, version, f"version {version}: its stored plan is invalid") from None
        if (artifact.tenant_id, artifact.agent_id, artifact.version) != (tenant_id, agent_id, version):
            # A hash pinned on a legacy record vouches for bytes, not for whose plan they are.
            raise self._reject(tenant_id, agent_id, version, f"the stored plan of version {version} is another agent's")
        self._plans.put((tenant_id, agent_id, version, digest), artifact)
        self._plans.remember(agent)
        return agent, artifact

    def _pin(self, tenant_id: str, agent_id: str, version: int, digest: str) -> Agent:
        """Record the hash of a version deployed before hashes were recorded (trust on first read)."""

        def apply(agent: Agent) -> Agent:
            if agent.artifact_version != version or agent.artifact_sha256 is not None:
                return agent
            return agent.model_copy(update={"artifact_sha256": digest})

        return update_with_retry(self._b.store, AGENTS, tenant_id, agent_id, "agent", apply)

    def _reject(self, tenant_id: str, agent_id: str, version: int, reason: str) -> ArtifactRejected:
        """Mark the agent failed, unless it already moved on (another reader failed it, or a new deploy);
        return the error for the customer, which says the agent is unavailable and not why."""
        logger.error("tenant=%s agent=%s version=%d | artifact rejected: %s", tenant_id, agent_id, version, reason)
        changed = False

        def apply(agent: Agent) -> Agent:
            nonlocal changed
            changed = agent.status is AgentStatus.ACTIVE and agent.artifact_version == version
            if not changed:
                return agent
            return agent.model_copy(
                update={"status": AgentStatus.FAILED, "status_reason": reason, "updated_at": self._b.clock()}
            )

        update_with_retry(self._b.store, AGENTS, tenant_id, agent_id, "agent", apply)
        if changed:
            self._b.emit(tenant_id, EventType.AGENT_STATUS, agent_id, status=AgentStatus.FAILED.value, reason=reason)
        return ArtifactRejected(f"agent '{agent_id}' is unavailable: its deployed plan failed its integrity check")


def artifact_key(tenant_id: str, agent_id: str, version: int) -> str:
    return f"{tenant_id}/agents/{agent_id}/v{version}/plan.json"
