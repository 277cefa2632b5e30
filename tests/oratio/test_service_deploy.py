"""Deploying a plan stores a new artifact version and makes the agent active; the old one serves until then."""

from __future__ import annotations

import pytest

from oratio.errors import InvalidInput, InvalidState
from oratio.platform import Platform
from schemas import AgentPlan, AgentStatus, HandoffRule
from tests.oratio.conftest import Tenancy, create_agent

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
