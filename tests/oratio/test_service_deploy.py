"""Deploying a plan stores a new artifact version and makes the agent active; the old one serves until then."""

from __future__ import annotations

import hashlib

import pytest

from oratio.errors import ArtifactRejected, InvalidInput, InvalidState
from oratio.platform import Platform
from oratio.services.agents import artifact_key
from schemas import AgentPlan, AgentStatus, HandoffRule
from tests.support.tenants import Tenancy, create_agent, events

PLAN = AgentPlan(persona="Acme support", system_prompt="You help Acme customers with billing and outages.")


def test_deploy_stores_version_one_and_activates(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)

    deployed = platform.agents.deploy(acme.tenant_id, agent.id, PLAN)

    assert (deployed.status, deployed.artifact_version) == (AgentStatus.ACTIVE, 1)
    served, artifact = platform.agents.artifact(acme.tenant_id, agent.id)
    assert served == deployed
    assert (artifact.version, artifact.plan, artifact.agent_id) == (1, PLAN, agent.id)


def test_a_new_version_replaces_the_old_only_when_deployed(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    platform.agents.deploy(acme.tenant_id, agent.id, PLAN)
    v2 = PLAN.model_copy(update={"greeting": "Hello from version 2"})

    assert platform.agents.artifact(acme.tenant_id, agent.id)[1].plan.greeting is None
    platform.agents.deploy(acme.tenant_id, agent.id, v2)

    served, artifact = platform.agents.artifact(acme.tenant_id, agent.id)
    assert (served.artifact_version, artifact.plan.greeting) == (2, "Hello from version 2")


def test_an_agent_that_is_not_active_serves_nothing(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    with pytest.raises(InvalidState):
        platform.agents.artifact(acme.tenant_id, agent.id)
    platform.agents.deploy(acme.tenant_id, agent.id, PLAN)
    platform.agents.pause(acme.principal, agent.id)
    with pytest.raises(InvalidState):
        platform.agents.artifact(acme.tenant_id, agent.id)


def test_an_invalid_rule_pattern_is_refused_before_anything_is_stored(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    bad = PLAN.model_copy(
        update={"handoff_rules": [HandoffRule(id="refund", description="big refunds", kind="regex", patterns=["(["])]}
    )

    with pytest.raises(InvalidInput, match="refund"):
        platform.agents.deploy(acme.tenant_id, agent.id, bad)

    assert platform.agents.get(acme.principal, agent.id).status is AgentStatus.CREATING
    assert platform.backends.blobs.list(f"{acme.tenant_id}/agents/") == []


@pytest.mark.parametrize("pattern", [r"(?<!\w)refund", r"(a)\1"])
def test_a_rule_pattern_that_needs_backtracking_is_refused_with_the_reason(
    platform: Platform, acme: Tenancy, pattern: str
) -> None:
    """Tenant regexes run on RE2 (linear time on customer text); what RE2 cannot run is refused at deploy."""
    agent = create_agent(platform, acme)
    rule = HandoffRule(id="refund", description="big refunds", kind="regex", patterns=[pattern])
    bad = PLAN.model_copy(update={"handoff_rules": [rule]})

    with pytest.raises(InvalidInput, match="not a supported regex"):
        platform.agents.deploy(acme.tenant_id, agent.id, bad)

    assert platform.backends.blobs.list(f"{acme.tenant_id}/agents/") == []


def test_deploy_records_the_sha256_of_the_stored_plan(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    deployed = platform.agents.deploy(acme.tenant_id, agent.id, PLAN)
    stored = platform.backends.blobs.get(artifact_key(acme.tenant_id, agent.id, 1))
    assert deployed.artifact_sha256 == hashlib.sha256(stored).hexdigest()


def test_a_plan_changed_in_storage_is_refused_and_fails_the_agent(platform: Platform, acme: Tenancy) -> None:
    """On every backend (SQLite + local files, DynamoDB + S3 as on AgentCore): one byte changed is refused."""
    agent = create_agent(platform, acme)
    platform.agents.deploy(acme.tenant_id, agent.id, PLAN)
    key = artifact_key(acme.tenant_id, agent.id, 1)
    stored = platform.backends.blobs.get(key)
    platform.backends.blobs.put(key, stored.replace(b"billing", b"Billing", 1), content_type="application/json")

    with pytest.raises(ArtifactRejected) as refused:
        platform.agents.artifact(acme.tenant_id, agent.id)

    assert refused.value.http_status == 503
    failed = platform.agents.get(acme.principal, agent.id)
    assert failed.status is AgentStatus.FAILED
    assert failed.status_reason is not None and "sha256" in failed.status_reason
    assert ("agent.status", "failed") in [(e.type, e.data.get("status")) for e in events(platform, acme.tenant_id)]
