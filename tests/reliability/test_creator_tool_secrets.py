"""A credential an admin pastes into a tool instead of a `{{secret:NAME}}` reference never becomes a plan.

The AgentCreator's reviewer refuses it (`literal_secret`, a blocker in the admin's settings, so the
creation fails before any draft), naming the tool and the header but never the value: the creation
record, its failure, the agent's status reason, notifications and events hold no trace of it, and no
plan is stored. Agents built with references keep the reference (a name) in the plan, never a value.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from creator_agent.models import creator_models
from creator_agent.pipeline import AgentCreator
from oratio.platform import Platform
from schemas import AgentStatus, CreateAgent, Principal, Scope
from tests.support.orders_tools import cancel_order, get_order, orders_spec
from tests.support.tenants import events

pytestmark = pytest.mark.anyio

PASTED = {
    "Authorization": "Bearer tok_live_8f3k2j4h5g6f7d8s9a0",
    "X-Api-Key": "k3y-9f8e7d6c5b4a",
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"model": "scripted"}


def _owner(platform: Platform) -> Principal:
    tenant = platform.tenants.create_tenant("Shop")
    return Principal(tenant_id=tenant.tenant_id, subject="owner", scopes=frozenset({Scope.ADMIN}))


@pytest.mark.parametrize(("header", "value"), list(PASTED.items()))
async def test_a_pasted_credential_fails_the_build_and_is_never_repeated(
    platform: Platform, header: str, value: str
) -> None:
    owner = _owner(platform)
    spec = orders_spec(tools=[get_order(headers={header: value}), cancel_order()])
    agent = platform.agents.create(owner, CreateAgent(spec=spec))

    record = await AgentCreator(platform, creator_models(platform.settings)).create(owner.tenant_id, agent.id)

    assert record.succeeded is False
    assert record.failure is not None and record.failure.startswith("review_plan: the SOP cannot become a plan")
    assert f"header '{header}'" in record.failure and "get_order" in record.failure
    failed = platform.agents.get(owner, agent.id)
    assert failed.status is AgentStatus.FAILED
    assert platform.backends.blobs.list(f"{owner.tenant_id}/agents/{agent.id}/v1/plan.json") == []
    secret = value.split()[-1]
    said = [
        record.model_dump_json(),
        failed.status_reason or "",
        json.dumps([n.model_dump(mode="json") for n in platform.notifications.list(owner).items]),
        json.dumps([e.model_dump(mode="json") for e in events(platform, owner.tenant_id)]),
    ]
    assert not [text for text in said if secret in text]


async def test_a_reference_is_kept_as_a_name_and_the_plan_holds_no_value(platform: Platform) -> None:
    owner = _owner(platform)
    agent = platform.agents.create(owner, CreateAgent(spec=orders_spec()))

    record = await AgentCreator(platform, creator_models(platform.settings)).create(owner.tenant_id, agent.id)

    assert record.succeeded is True, record.failure
    stored = platform.plans.artifact(owner, agent.id).plan
    assert stored.actions[1].model_dump()["headers"] == {"Authorization": "Bearer {{secret:ORDERS_TOKEN}}"}
