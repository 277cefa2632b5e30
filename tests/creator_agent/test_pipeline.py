"""The AgentCreator end to end with a scripted model: SOP in, reviewed, tested and deployed agent out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from creator_agent.models import creator_models
from creator_agent.pipeline import AgentCreator, load_record
from oratio.models.demo import demo_rules
from oratio.models.scripted import Data, Fail, ScriptedModel
from oratio.platform import Platform
from oratio_app.cli import load_example
from schemas import AgentStatus, Channel, NotificationType, Principal, Scope, StageName, StageStatus

pytestmark = pytest.mark.anyio
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme_support"

PARSED: dict[str, Any] = {
    "goals": ["Help Acme Home Internet customers with billing, outages and plan changes"],
    "steps": [
        "Greet the customer and ask for their account number",
        "Find out what they need",
        "Answer from the knowledge base and cite the document",
        "Walk through the outage checklist for outages",
        "Confirm the issue is resolved and close",
    ],
    "information_to_collect": ["account number"],
    "must_rules": ["Always confirm the account number before discussing account details"],
    "never_rules": ["Never promise a refund larger than the refund policy allows"],
    "handoff_conditions": [
        "the customer asks for a human or a manager",
        "a refund request is over $100",
        "the customer mentions sparks, smoke or exposed wires",
    ],
    "tone": "Warm, plain English",
}
PLAN: dict[str, Any] = {
    "persona": "Acme support agent",
    "system_prompt": (
        "You are Acme's support agent. Steps: greet the customer and ask for their account number; find out what "
        "they need; answer from the knowledge base and cite the document; walk through the outage checklist for "
        "outages; confirm the issue is resolved and close. Always confirm the account number before discussing "
        "account details. Never promise a refund larger than the refund policy allows. Warm, plain English."
    ),
    "handoff_rules": [
        {
            "id": "human",
            "description": "the customer asks for a human or a manager",
            "kind": "keywords",
            "patterns": ["human", "manager"],
        },
        {
            "id": "big_refund",
            "description": "a refund request is over $100",
            "kind": "keywords",
            "patterns": ["refund over $100"],
        },
        {
            "id": "safety",
            "description": "the customer mentions sparks, smoke or exposed wires",
            "kind": "keywords",
            "patterns": ["sparks", "smoke", "exposed wires"],
        },
    ],
}
APPROVED = {"approved": True, "issues": []}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"model": "scripted"}


def _agent(platform: Platform) -> tuple[Principal, str]:
    tenant = platform.tenants.create_tenant("Acme")
    owner = Principal(tenant_id=tenant.tenant_id, subject="owner", scopes=frozenset({Scope.ADMIN}))
    agent = platform.agents.create(owner, load_example(EXAMPLE))
    return owner, agent.id


def _model(*script: Any) -> ScriptedModel:
    return ScriptedModel(script, rules=demo_rules())


async def test_a_good_sop_becomes_an_active_tested_agent(platform: Platform) -> None:
    owner, agent_id = _agent(platform)
    model = _model(Data(PARSED), Data(PLAN), Data({**APPROVED, "cycle": 1}), Data({**APPROVED, "cycle": 2}))
    seen: list[tuple[int, int, str]] = []

    async def progress(done: int, total: int, message: str) -> None:
        seen.append((done, total, message))

    record = await AgentCreator(platform, lambda: model).create(owner.tenant_id, agent_id, progress)

    assert record.succeeded is True, record.failure
    assert [s.stage for s in record.stages] == list(StageName)
    assert all(s.status is StageStatus.PASSED for s in record.stages)
    assert len(record.reviews) >= 2
    assert record.tests and record.simulation is not None and record.simulation.passed
    assert all(r.passed for r in record.simulation.results if r.critical), record.tests
    assert record.model_calls >= 4
    agent = platform.agents.get(owner, agent_id)
    assert (agent.status, agent.artifact_version) == (AgentStatus.ACTIVE, 1)
    assert load_record(platform, owner.tenant_id, agent_id, 1) == record
    assert seen[-1][0] == seen[-1][1] == len(StageName)
    # The one artifact is the reviewed plan (beside its simulation report), and the record names its sha256
    # as the agent does.
    keys = [b.key for b in platform.backends.blobs.list(f"{owner.tenant_id}/agents/{agent_id}/v1/")]
    assert keys == [f"{owner.tenant_id}/agents/{agent_id}/v1/{name}" for name in ("plan.json", "simulations.json")]
    assert record.artifact_sha256 is not None and record.artifact_sha256 == agent.artifact_sha256
    assert record.artifact_sha256 in record.stages[-1].detail
    assert [m.split(":")[0] for _, _, m in seen if m.endswith("running")] == [s.value for s in StageName]
    kinds = [n.type for n in platform.notifications.list(owner).items]
    assert NotificationType.AGENT_READY in kinds

    # The deployed agent serves customers: a safety message hands off by rule.
    reply = await platform.engine.turn_async(
        owner.tenant_id, agent_id, None, "There is smoke coming from the router", Channel.TEXT
    )
    assert reply.handoff is True


async def test_a_failing_stage_leaves_the_agent_failed_with_the_reason(platform: Platform) -> None:
    owner, agent_id = _agent(platform)
    model = _model(Data(PARSED), Fail(ConnectionError("provider unreachable")))

    record = await AgentCreator(platform, lambda: model).create(owner.tenant_id, agent_id)

    assert record.succeeded is False
    assert record.failure is not None and record.failure.startswith("draft_plan")
    agent = platform.agents.get(owner, agent_id)
    assert agent.status is AgentStatus.FAILED
    assert agent.status_reason == record.failure
    assert platform.backends.blobs.list(f"{owner.tenant_id}/agents/{agent_id}/v1/") == []
    kinds = [n.type for n in platform.notifications.list(owner).items]
    assert NotificationType.AGENT_FAILED in kinds


async def test_concurrent_builds_of_one_agent_take_turns_and_number_versions_apart(platform: Platform) -> None:
    owner, agent_id = _agent(platform)
    creator = AgentCreator(platform, creator_models(platform.settings))
    records: list[int] = []

    async def build() -> None:
        record = await creator.create(owner.tenant_id, agent_id)
        assert record.succeeded, record.failure
        records.append(record.version)

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(build)

    assert sorted(records) == [1, 2, 3]
    assert platform.agents.get(owner, agent_id).artifact_version == 3
