"""PlanService: every deployed version stays readable (hash-checked), edits are checked before anything runs.

Runs on both backends (SQLite + files, DynamoDB + S3 under moto_server), like the other service tests.
"""

from __future__ import annotations

import hashlib

import pytest

from oratio.errors import ArtifactRejected, Conflict, Forbidden, InvalidInput, InvalidState, NotFound
from oratio.platform import Platform
from oratio.services.agents import artifact_key
from schemas import Agent, AgentPlan, AgentStatus, CreationRecord, Scope
from schemas.plan_view import PlanEdit
from tests.support.tenants import Tenancy, create_agent, narrow

PLAN = AgentPlan(persona="Acme support", system_prompt="You help Acme customers with billing and outages.")


def deploy(platform: Platform, tenancy: Tenancy, agent: Agent, plan: AgentPlan) -> Agent:
    """Deploy as the AgentCreator does: the plan, then the creation record with the deployed sha256."""
    deployed = platform.agents.deploy(tenancy.tenant_id, agent.id, plan)
    assert deployed.artifact_version is not None
    record = CreationRecord(
        tenant_id=tenancy.tenant_id,
        agent_id=agent.id,
        version=deployed.artifact_version,
        artifact_sha256=deployed.artifact_sha256,
        succeeded=True,
    )
    platform.creations.record(record)
    return deployed


def three_versions(platform: Platform, acme: Tenancy) -> Agent:
    agent = create_agent(platform, acme)
    for n in (1, 2, 3):
        agent = deploy(platform, acme, agent, PLAN.model_copy(update={"greeting": f"Hello from v{n}"}))
    return agent


def test_every_deployed_version_is_kept_and_readable(platform: Platform, acme: Tenancy) -> None:
    agent = three_versions(platform, acme)

    listed = platform.plans.versions(acme.principal, agent.id)

    assert listed.current_version == 3
    assert [(v.version, v.current) for v in listed.versions] == [(3, True), (2, False), (1, False)]
    stored = platform.backends.blobs.get(artifact_key(acme.tenant_id, agent.id, 1))
    assert listed.versions[-1].sha256 == hashlib.sha256(stored).hexdigest()
    assert listed.versions[0].sha256 == agent.artifact_sha256
    for n in (1, 2, 3):
        assert platform.plans.artifact(acme.principal, agent.id, n).plan.greeting == f"Hello from v{n}"
    assert platform.plans.artifact(acme.principal, agent.id).version == 3


def test_a_failed_builds_discard_leaves_every_deployed_version(platform: Platform, acme: Tenancy) -> None:
    agent = three_versions(platform, acme)

    platform.creations.discard_version(acme.tenant_id, agent.id, 4)  # what a failed build of v4 does

    assert [v.version for v in platform.plans.versions(acme.principal, agent.id).versions] == [3, 2, 1]


def test_a_deployed_version_is_never_discarded(platform: Platform, acme: Tenancy) -> None:
    """A failed build in one process must not delete what a build in another deployed under the same number."""
    agent = three_versions(platform, acme)

    assert [platform.creations.discard_version(acme.tenant_id, agent.id, n) for n in (3, 2)] == [0, 0]

    assert [v.version for v in platform.plans.versions(acme.principal, agent.id).versions] == [3, 2, 1]
    assert platform.agents.artifact(acme.tenant_id, agent.id)[1].plan.greeting == "Hello from v3"


def test_an_old_version_changed_in_storage_is_not_shown(platform: Platform, acme: Tenancy) -> None:
    agent = three_versions(platform, acme)
    key = artifact_key(acme.tenant_id, agent.id, 1)
    tampered = platform.backends.blobs.get(key).replace(b"Hello from v1", b"Hello from v9")
    platform.backends.blobs.put(key, tampered, content_type="application/json")

    with pytest.raises(ArtifactRejected, match="version 1"):
        platform.plans.artifact(acme.principal, agent.id, 1)

    assert [v.version for v in platform.plans.versions(acme.principal, agent.id).versions] == [3, 2]
    assert platform.agents.get(acme.principal, agent.id).status is AgentStatus.ACTIVE  # v3 still serves


def test_another_tenant_and_unknown_versions_are_not_found(platform: Platform, acme: Tenancy, globex: Tenancy) -> None:
    agent = three_versions(platform, acme)

    with pytest.raises(NotFound):
        platform.plans.artifact(globex.principal, agent.id, 1)
    with pytest.raises(NotFound):
        platform.plans.versions(globex.principal, agent.id)
    with pytest.raises(NotFound):
        platform.plans.diff(globex.principal, agent.id, 1)
    with pytest.raises(NotFound):
        platform.plans.edit(globex.principal, agent.id, PlanEdit(greeting="Hi"), None)
    for version in (0, 4):
        with pytest.raises(NotFound, match="versions are 1 to 3"):
            platform.plans.artifact(acme.principal, agent.id, version)
    with pytest.raises(InvalidState, match="no deployed plan"):
        platform.plans.view(acme.principal, create_agent(platform, acme, "Fresh").id)


def test_an_edit_is_applied_to_the_serving_version(platform: Platform, acme: Tenancy) -> None:
    agent = three_versions(platform, acme)

    edit = platform.plans.edit(acme.principal, agent.id, PlanEdit(greeting=None, knowledge_k=7), base_version=3)

    assert (edit.base_version, edit.changed) == (3, ["greeting", "knowledge_k"])
    assert (edit.plan.greeting, edit.plan.knowledge_k, edit.plan.persona) == (None, 7, PLAN.persona)
    assert platform.agents.get(acme.principal, agent.id).artifact_version == 3  # nothing deployed yet


def test_edits_are_refused_before_anything_runs(platform: Platform, acme: Tenancy) -> None:
    agent = three_versions(platform, acme)

    with pytest.raises(Forbidden, match="agents:write"):
        platform.plans.edit(narrow(acme, Scope.AGENTS_READ), agent.id, PlanEdit(greeting="Hi"), None)
    with pytest.raises(Conflict, match="version 3 serves now, not version 2"):
        platform.plans.edit(acme.principal, agent.id, PlanEdit(greeting="Hi"), base_version=2)
    with pytest.raises(InvalidInput, match="nothing to change"):
        platform.plans.edit(acme.principal, agent.id, PlanEdit(), None)
    with pytest.raises(InvalidInput, match="persona cannot be null"):
        platform.plans.edit(acme.principal, agent.id, PlanEdit(persona=None), None)
    with pytest.raises(InvalidInput, match="changes nothing"):
        platform.plans.edit(acme.principal, agent.id, PlanEdit(greeting="Hello from v3"), None)
    platform.agents.pause(acme.principal, agent.id)
    with pytest.raises(InvalidState, match="paused"):
        platform.plans.edit(acme.principal, agent.id, PlanEdit(greeting="Hi"), None)
    with pytest.raises(InvalidState, match="still being built"):
        platform.plans.edit(acme.principal, create_agent(platform, acme, "New").id, PlanEdit(greeting="Hi"), None)


def test_a_paused_agents_plan_is_still_readable(platform: Platform, acme: Tenancy) -> None:
    agent = three_versions(platform, acme)
    platform.agents.pause(acme.principal, agent.id)

    view = platform.plans.view(narrow(acme, Scope.AGENTS_READ), agent.id)

    assert (view.version, view.status, view.greeting) == (3, AgentStatus.PAUSED, "Hello from v3")


def test_a_diff_lists_changed_fields_only(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    deploy(platform, acme, agent, PLAN)
    deploy(
        platform, acme, agent, PLAN.model_copy(update={"information_to_collect": ["order number"], "knowledge_k": 6})
    )

    diff = platform.plans.diff(acme.principal, agent.id, 1, 2)

    by_field = {change.field: change for change in diff.changes}
    assert set(by_field) == {"information_to_collect", "knowledge_k"}
    assert by_field["information_to_collect"].added == ["order number"]
    assert (by_field["knowledge_k"].before, by_field["knowledge_k"].after) == (4, 6)
    assert "system_prompt" in diff.unchanged and "knowledge_k" not in diff.unchanged
