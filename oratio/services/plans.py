"""The admin's plan: read any deployed version (hash-checked, redacted), diff two, prepare an edit.

Every deployed version stays stored at `{tenant}/agents/{agent}/v{n}/plan.json` (only a failed build's
version is discarded, and no agent record ever points at one), so versions are 1..`artifact_version`.
A version is shown only if its stored bytes still hash to the sha256 recorded when it was deployed: the
agent record's for the version that serves (read through `AgentService.artifact`, exactly the runtime's
check, which fails the agent on a mismatch), the creation record's for older ones.

An edit is applied here to the version that serves, checked (scope, status, base version, the merged
plan's schema) before anything runs; the AgentCreator then reviews, tests and deploys it
(`AgentBuilder.revise`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pydantic import ValidationError

from oratio.errors import ArtifactRejected, Conflict, InvalidInput, InvalidState, NotFound
from oratio.plan_diff import changed_fields, diff_plans
from oratio.redaction import redact
from oratio.services._common import Backends, authorize, check_limit
from oratio.services.agents import AgentService, artifact_key
from oratio.services.creations import CreationService
from schemas import Agent, AgentPlan, AgentStatus, CreationRecord, DeployedArtifact, Principal, Scope
from schemas.plan_view import PlanDiff, PlanEdit, PlanVersion, PlanVersions, PlanView

__all__ = ["PendingEdit", "PlanService"]

VERSIONS_SHOWN = 20
"""Versions listed beside a plan view, newest first. Each is read and hash-checked (its bytes, and for an
older version its creation record), so the list is bounded; `versions(limit=...)` reaches further back."""


@dataclass(frozen=True)
class PendingEdit:
    """An edit checked and applied to the serving plan, ready for the AgentCreator."""

    agent: Agent
    base_version: int
    plan: AgentPlan
    changed: list[str]


class PlanService:
    def __init__(self, backends: Backends, agents: AgentService, creations: CreationService) -> None:
        self._b = backends
        self._agents = agents
        self._creations = creations

    def artifact(self, principal: Principal, agent_id: str, version: int | None = None) -> DeployedArtifact:
        """One deployed version (the serving one by default), hash-checked. NotFound for another tenant's
        agent or a version that was never deployed."""
        agent = self._agents.get(principal, agent_id)
        return self._load(agent, self._version(agent, version))[0]

    def versions(self, principal: Principal, agent_id: str, *, limit: int = VERSIONS_SHOWN) -> PlanVersions:
        """The deployed versions, newest first, with when each was deployed and the sha256 of its bytes."""
        agent = self._agents.get(principal, agent_id)
        check_limit(limit)
        return PlanVersions(
            agent_id=agent.id, current_version=agent.artifact_version, versions=self._listing(agent, limit)
        )

    def view(self, principal: Principal, agent_id: str, version: int | None = None) -> PlanView:
        """A version as the admin reads it: the plan, its tests and review, the versions; never a secret."""
        agent = self._agents.get(principal, agent_id)
        number = self._version(agent, version)
        artifact, digest = self._load(agent, number)
        record = self._record(agent, number)
        plan = artifact.plan
        view = PlanView(
            agent_id=agent.id,
            version=number,
            current=number == agent.artifact_version,
            status=agent.status,
            created_at=artifact.created_at,
            sha256=digest,
            persona=plan.persona,
            system_prompt=plan.system_prompt,
            greeting=plan.greeting,
            tools=plan.tools,
            information_to_collect=plan.information_to_collect,
            handoff_enabled=agent.spec.handoff.enabled,
            handoff_rules=plan.handoff_rules,
            handoff_judgement=plan.handoff_judgement,
            handoff_message=plan.handoff_message,
            closing_message=plan.closing_message,
            knowledge_k=plan.knowledge_k,
            model=plan.model,
            language=plan.language,
            internal_notes=plan.internal_notes,
            webhook_tool=agent.spec.webhook_tool,
            actions=plan.actions,
            mcp_tools=plan.mcp_tools,
            action_map=plan.action_map,
            tests=record.tests if record else [],
            review_issues=record.reviews[-1].issues if record and record.reviews else [],
            versions=self._listing(agent, VERSIONS_SHOWN),
        )
        return redact(view)

    def diff(self, principal: Principal, agent_id: str, from_version: int, to_version: int | None = None) -> PlanDiff:
        """What changed from one version to another (the serving one by default), field by field, redacted."""
        agent = self._agents.get(principal, agent_id)
        old = self._version(agent, from_version)
        new = self._version(agent, to_version)
        before, after = redact(self._load(agent, old)[0].plan), redact(self._load(agent, new)[0].plan)
        changes = diff_plans(before, after, labels=(f"v{old}", f"v{new}"))
        changed = {change.field for change in changes}
        return PlanDiff(
            agent_id=agent.id,
            from_version=old,
            to_version=new,
            changes=changes,
            unchanged=[name for name in AgentPlan.model_fields if name not in changed],
        )

    def edit(self, principal: Principal, agent_id: str, change: PlanEdit, base_version: int | None) -> PendingEdit:
        """Apply `change` to the serving plan. Refused (nothing runs) for a read-only token, an agent that is
        not active, a stale `base_version`, an edit that changes nothing or a merged plan the schema refuses."""
        authorize(principal, Scope.AGENTS_WRITE)
        agent = self._agents.get(principal, agent_id)
        if agent.status is not AgentStatus.ACTIVE or agent.artifact_version is None:
            raise InvalidState(_not_editable(agent))
        current = agent.artifact_version
        if base_version is not None and base_version != current:
            raise Conflict(
                f"the plan changed: version {current} serves now, not version {base_version}; "
                f"read it with get_agent_plan and apply your edit to version {current}",
                field="base_version",
            )
        fields = change.fields()
        if not fields:
            raise InvalidInput("nothing to change: give at least one plan field", field="changes")
        for name, value in fields.items():
            if value is None and name != "greeting":
                raise InvalidInput(f"{name} cannot be null: omit it to keep its current value", field=name)
        base = self._load(agent, current)[0].plan
        try:
            plan = AgentPlan.model_validate({**base.model_dump(mode="json"), **fields})
        except ValidationError as exc:
            where = ".".join(str(part) for part in exc.errors()[0]["loc"])
            raise InvalidInput(
                f"the edited plan is not valid at '{where}': {exc.errors()[0]['msg']}", field=where
            ) from None
        changed = changed_fields(base, plan)
        if not changed:
            raise InvalidInput(
                f"the edit changes nothing: version {current} already holds these values", field="changes"
            )
        return PendingEdit(agent=agent, base_version=current, plan=plan, changed=changed)

    def restore(self, principal: Principal, agent_id: str, version: int, base_version: int | None) -> PendingEdit:
        """An edit that brings back older `version` whole, as stored (hash-checked, not the redacted view).

        It is an edit like any other: the AgentCreator reviews and tests it again (the tools, secrets or
        model allowed then may be gone) and deploys it as a NEW version, so the history only grows.
        Refused as `edit` refuses, and for the version that serves already or one that holds its values."""
        authorize(principal, Scope.AGENTS_WRITE)
        agent = self._agents.get(principal, agent_id)
        if agent.status is not AgentStatus.ACTIVE or agent.artifact_version is None:
            raise InvalidState(_not_editable(agent))
        current = agent.artifact_version
        if base_version is not None and base_version != current:
            raise Conflict(
                f"the plan changed: version {current} serves now, not version {base_version}; reload and try again",
                field="base_version",
            )
        number = self._version(agent, version)
        if number == current:
            raise InvalidInput(f"version {number} is the one serving now; pick an older version", field="version")
        plan = self._load(agent, number)[0].plan
        changed = changed_fields(self._load(agent, current)[0].plan, plan)
        if not changed:
            raise InvalidInput(
                f"version {number} holds the same plan as version {current}, which serves now", field="version"
            )
        return PendingEdit(agent=agent, base_version=current, plan=plan, changed=changed)

    # -- reading versions -------------------------------------------------------------------------------

    def _version(self, agent: Agent, version: int | None) -> int:
        if agent.artifact_version is None:  # the agent exists: its own admin must not read it as unknown
            raise InvalidState(f"agent '{agent.id}' is {agent.status.value} and has no deployed plan yet")
        number = agent.artifact_version if version is None else version
        if not 1 <= number <= agent.artifact_version:
            raise NotFound(
                f"agent '{agent.id}' has no plan version {number}; its versions are 1 to {agent.artifact_version}",
                field="version",
            )
        return number

    def _record(self, agent: Agent, version: int) -> CreationRecord | None:
        try:
            return self._creations.load(agent.tenant_id, agent.id, version)
        except NotFound:
            return None

    def _expected(self, agent: Agent, version: int) -> str | None:
        """The sha256 recorded when `version` was deployed; None for a version deployed before hashes were."""
        if version == agent.artifact_version:
            return agent.artifact_sha256
        record = self._record(agent, version)
        return record.artifact_sha256 if record is not None and record.succeeded else None

    def _load(self, agent: Agent, version: int) -> tuple[DeployedArtifact, str]:
        """The version's artifact and the sha256 of its stored bytes, once they passed their check."""
        if version == agent.artifact_version and agent.status is AgentStatus.ACTIVE:
            serving, artifact = self._agents.artifact(agent.tenant_id, agent.id, recheck=True)  # the runtime's check
            if serving.artifact_version == version and serving.artifact_sha256 is not None:
                return artifact, serving.artifact_sha256
            agent = serving  # a new version was deployed meanwhile: check this one as an older version
        try:
            raw = self._b.blobs.get(artifact_key(agent.tenant_id, agent.id, version))
        except NotFound:
            raise NotFound(f"plan version {version} of agent '{agent.id}' is not stored") from None
        digest = hashlib.sha256(raw).hexdigest()
        expected = self._expected(agent, version)
        if expected is not None and digest != expected:
            raise ArtifactRejected(
                f"plan version {version} of agent '{agent.id}' does not match the sha256 recorded when it was "
                "deployed, so it is not shown"
            )
        try:
            artifact = DeployedArtifact.model_validate_json(raw)
        except ValidationError:
            raise ArtifactRejected(f"plan version {version} of agent '{agent.id}' is not a valid plan") from None
        if (artifact.tenant_id, artifact.agent_id, artifact.version) != (agent.tenant_id, agent.id, version):
            raise ArtifactRejected(f"plan version {version} of agent '{agent.id}' is another agent's")
        return artifact, digest

    def _listing(self, agent: Agent, limit: int) -> list[PlanVersion]:
        """Newest first; a version whose bytes fail their check is left out rather than listed as sound."""
        found: list[PlanVersion] = []
        for number in range(agent.artifact_version or 0, 0, -1):
            if len(found) == limit:
                break
            try:
                artifact, digest = self._load(agent, number)
            except (NotFound, ArtifactRejected, InvalidState):
                continue
            found.append(
                PlanVersion(
                    version=number,
                    created_at=artifact.created_at,
                    sha256=digest,
                    current=number == agent.artifact_version,
                )
            )
        return found


def _not_editable(agent: Agent) -> str:
    what = {
        AgentStatus.CREATING: "is still being built; edit its plan once it is active",
        AgentStatus.PAUSED: "is paused; resume it (resume_agent) before editing its plan",
        AgentStatus.FAILED: "has failed; rebuild it (retry_creation or update_agent) before editing its plan",
    }.get(agent.status, "has no deployed plan to edit")
    return f"agent '{agent.id}' {what}"
