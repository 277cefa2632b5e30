"""AgentCreator.revise: an admin-edited plan is reviewed, tested and deployed, or refused and recorded.

The cases the MCP tests cannot reach in order: the serving version or the agent's status changing between
the edit's submission and its build.
"""

from __future__ import annotations

from typing import Any

import pytest

from creator_agent.offline import offline_model
from creator_agent.pipeline import AgentCreator, creator_principal
from oratio.errors import NotFound
from oratio.platform import Platform
from oratio.services.agents import artifact_key
from schemas import Agent, AgentSpec, AgentStatus, CreateAgent, Principal, Scope, StageName, StageStatus
from schemas.plan_view import PlanEdit

pytestmark = pytest.mark.anyio

SOP = """# Desk SOP
## Steps
1. Greet the customer.
## Rules
- Always be polite.
"""


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"model": "scripted"}


@pytest.fixture
def admin(platform: Platform) -> Principal:
    tenant = platform.tenants.create_tenant("Acme")
    return Principal(tenant_id=tenant.tenant_id, subject="operator", scopes=frozenset({Scope.ADMIN}))


async def built(platform: Platform, admin: Principal, creator: AgentCreator) -> Agent:
    agent = platform.agents.create(admin, CreateAgent(spec=AgentSpec(name="Desk", sop=SOP)))
    record = await creator.create(admin.tenant_id, agent.id)
    assert record.succeeded, record.failure
    return platform.agents.get(admin, agent.id)


async def test_an_edit_overtaken_by_another_deploy_is_refused_and_recorded(
    platform: Platform, admin: Principal
) -> None:
    creator = AgentCreator(platform, offline_model)
    agent = await built(platform, admin, creator)
    edit = platform.plans.edit(admin, agent.id, PlanEdit(closing_message="Bye from the edit"), base_version=1)
    platform.agents.deploy(admin.tenant_id, agent.id, edit.plan.model_copy(update={"closing_message": "Bye from v2"}))

    record = await creator.revise(admin.tenant_id, agent.id, edit.plan, base_version=edit.base_version)

    assert record.succeeded is False and record.version == 3
    assert record.failure is not None and "made on version 1 but version 2 serves now" in record.failure
    serving, artifact = platform.agents.artifact(admin.tenant_id, agent.id)
    assert (serving.artifact_version, artifact.plan.closing_message) == (2, "Bye from v2")
    with pytest.raises(NotFound):
        platform.backends.blobs.get(artifact_key(admin.tenant_id, agent.id, 3))


async def test_an_agent_paused_before_its_edit_builds_stays_paused(platform: Platform, admin: Principal) -> None:
    creator = AgentCreator(platform, offline_model)
    agent = await built(platform, admin, creator)
    edit = platform.plans.edit(admin, agent.id, PlanEdit(closing_message="Bye from the edit"), base_version=1)
    platform.agents.pause(admin, agent.id)

    record = await creator.revise(admin.tenant_id, agent.id, edit.plan, base_version=1)

    assert record.succeeded is False and record.failure is not None and "paused" in record.failure
    after = platform.agents.get(admin, agent.id)
    assert (after.status, after.artifact_version) == (AgentStatus.PAUSED, 1)


async def test_without_a_server_model_the_code_checks_review_the_edit(platform: Platform, admin: Principal) -> None:
    agent = await built(platform, admin, AgentCreator(platform, offline_model))
    creator = AgentCreator(platform, None)  # no thinking model: the serving model still holds the tests
    edit = platform.plans.edit(admin, agent.id, PlanEdit(closing_message="Bye from the edit"), base_version=1)

    record = await creator.revise(admin.tenant_id, agent.id, edit.plan, base_version=1)

    assert record.succeeded, record.failure
    review = next(stage for stage in record.stages if stage.stage is StageName.REVIEW_PLAN)
    assert (review.status, review.model_calls) == (StageStatus.PASSED, 0)
    assert record.parsed_sop is not None and record.parsed_sop.must_rules == ["Always be polite."]
    assert platform.agents.get(creator_principal(admin.tenant_id), agent.id).artifact_version == 2
