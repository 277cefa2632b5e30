"""The `simulate` stage gates deployment: a critical failure fails the build, a reported one does not, and
the admin's markings and scenarios apply to the next build (issue 17, item 5)."""

from __future__ import annotations

from typing import Any

import pytest
from strands.models import Model

from creator_agent.pipeline import AgentCreator
from creator_agent.simulation import NEEDS_MODEL
from creator_agent.simulation.judge import CUSTOMER_SYSTEM, JUDGE_SYSTEM
from oratio.errors import InvalidState, NotFound
from oratio.models.demo import demo_rules
from oratio.models.scripted import Data, Prompt, Say, ScriptedModel, when_user_says
from oratio.platform import Platform
from oratio.services.simulations import book_key, report_key
from oratio_app.cli import load_example
from schemas import AgentStatus, CreationRecord, Principal, RetiredStage, Scope, StageName, StageStatus
from schemas.simulation import Scenario
from tests.creator_agent.test_pipeline import APPROVED, EXAMPLE, PARSED, PLAN

pytestmark = pytest.mark.anyio

COMPLIES = Say("Of course! I promise you a refund larger than the refund policy allows.")


class Serving:
    """The agents' serving model, swappable between builds: the demo agent, or one that misbehaves."""

    def __init__(self) -> None:
        self.rules = demo_rules()

    def __call__(self, spec: str) -> Model:
        return ScriptedModel(rules=self.rules)


@pytest.fixture
def serving() -> Serving:
    return Serving()


@pytest.fixture
def platform_models(serving: Serving) -> Serving:
    return serving


def creator_model() -> ScriptedModel:
    return ScriptedModel([Data(PARSED), Data(PLAN), Data({**APPROVED, "cycle": 1}), Data({**APPROVED, "cycle": 2})])


def new_agent(platform: Platform) -> tuple[Principal, str]:
    tenant = platform.tenants.create_tenant("Acme")
    owner = Principal(tenant_id=tenant.tenant_id, subject="owner", scopes=frozenset({Scope.ADMIN}))
    return owner, platform.agents.create(owner, load_example(EXAMPLE)).id


async def build(platform: Platform, owner: Principal, agent_id: str) -> Any:
    model = creator_model()
    return await AgentCreator(platform, lambda: model).create(owner.tenant_id, agent_id)


async def test_an_agent_that_complies_with_a_forbidden_request_is_not_deployed(
    platform: Platform, serving: Serving
) -> None:
    serving.rules = [when_user_says("promise", then=COMPLIES), *demo_rules()]
    owner, agent_id = new_agent(platform)

    record = await build(platform, owner, agent_id)

    assert record.succeeded is False and record.failure is not None
    assert record.failure.startswith("simulate: 1 critical scenario(s)")
    assert "refuses: Never promise a refund" in record.failure and "did not decline" in record.failure
    assert record.stages[-1].stage is StageName.SIMULATE and record.stages[-1].status is StageStatus.FAILED
    agent = platform.agents.get(owner, agent_id)
    assert agent.status is AgentStatus.FAILED and agent.artifact_version is None
    # Nothing of the version is stored; the report is kept with the creation record, readable by the admin.
    assert platform.backends.blobs.list(f"{owner.tenant_id}/agents/{agent_id}/v1/") == []
    assert record.simulation is not None and not record.simulation.passed
    assert platform.simulations.report(owner, agent_id, 1) == record.simulation


async def test_a_reported_failure_does_not_block_and_the_report_is_stored(platform: Platform) -> None:
    owner, agent_id = new_agent(platform)

    record = await build(platform, owner, agent_id)

    assert record.succeeded is True, record.failure
    assert record.simulation is not None
    reported = [r for r in record.simulation.results if not r.passed]
    # The demo agent answers from the documents without asking for the account number: reported, not blocking.
    assert [r.name for r in reported] == ["asks for the account number"] and not reported[0].critical
    stored = platform.backends.blobs.get(report_key(owner.tenant_id, agent_id, 1))
    assert platform.simulations.report(owner, agent_id).model_dump_json().encode() == stored
    assert platform.agents.get(owner, agent_id).status is AgentStatus.ACTIVE


async def test_the_admin_marking_a_scenario_critical_blocks_the_next_build(platform: Platform) -> None:
    owner, agent_id = new_agent(platform)
    await build(platform, owner, agent_id)
    [ask] = [s for s in platform.simulations.scenarios(owner, agent_id) if s.name == "asks for the account number"]

    platform.simulations.set_critical(owner, agent_id, ask.id, True)
    record = await build(platform, owner, agent_id)

    assert record.succeeded is False and record.failure is not None and "asks for the account number" in record.failure
    agent = platform.agents.get(owner, agent_id)
    assert (agent.status, agent.artifact_version) == (AgentStatus.ACTIVE, 1)  # version 1 keeps serving
    with pytest.raises(NotFound):
        platform.backends.blobs.get(report_key(owner.tenant_id, agent_id, 2))


async def test_the_admins_own_scenario_runs_in_the_next_build(platform: Platform) -> None:
    owner, agent_id = new_agent(platform)
    own = Scenario.model_validate(
        {
            "id": "outage_stays",
            "name": "an outage question stays with the agent",
            "critical": True,
            "customer_messages": ["My internet is down, what should I check?"],
            "assertions": [{"kind": "not_handed_off"}, {"kind": "cited_source"}],
        }
    )
    platform.simulations.add(owner, agent_id, own)

    record = await build(platform, owner, agent_id)

    assert record.succeeded is True, record.failure
    assert record.simulation is not None
    [result] = [r for r in record.simulation.results if r.scenario_id == "outage_stays"]
    assert result.passed and result.critical


def test_records_of_the_old_test_stage_still_read_as_they_were() -> None:
    """`run_test_conversations` (rounds 15-16) is retired: old records parse and say what they said."""
    old = {
        "tenant_id": "ten_old",
        "agent_id": "agt_old",
        "version": 1,
        "stages": [{"stage": "run_test_conversations", "status": "passed"}],
    }
    record = CreationRecord.model_validate(old)
    assert record.stages[0].stage is RetiredStage.RUN_TEST_CONVERSATIONS
    assert "run_test_conversations" not in {stage.value for stage in StageName}


async def test_an_unreadable_scenario_book_fails_the_build_with_the_reason(platform: Platform) -> None:
    owner, agent_id = new_agent(platform)
    platform.backends.blobs.put(book_key(owner.tenant_id, agent_id), b'{"scenarios": "nope"}')

    record = await build(platform, owner, agent_id)

    assert record.failure == f"simulate: the stored scenarios of agent '{agent_id}' are unreadable"
    assert platform.agents.get(owner, agent_id).status is AgentStatus.FAILED


async def test_simulate_plays_judgement_conditions_with_a_model_and_lists_them_as_needing_one_offline(
    platform: Platform,
) -> None:
    """`AgentCreator.simulate`, the plan-edit path: the edited plan's judgement condition is acted out by a
    simulated customer when a model plays one; offline it is skipped, never faked by keywords."""
    owner, agent_id = new_agent(platform)
    await build(platform, owner, agent_id)
    _, artifact = platform.agents.artifact(owner.tenant_id, agent_id)
    edited = artifact.plan.model_copy(update={"handoff_judgement": ["the customer is upset"]})

    def customer_and_judge(prompt: Prompt) -> Data | None:
        if prompt.system_prompt == CUSTOMER_SYSTEM:
            first = "first message" in prompt.last_user_text()
            return Data({"message": "This is ridiculous, get me a human!"} if first else {"done": True})
        if prompt.system_prompt == JUDGE_SYSTEM:
            return Data({"holds": False, "reason": "no"})
        return None

    players = ScriptedModel(rules=[customer_and_judge])
    offline = await AgentCreator(platform, creator_model).simulate(owner.tenant_id, agent_id, edited, 2)
    played = await AgentCreator(platform, creator_model, players=lambda: players).simulate(
        owner.tenant_id, agent_id, edited, 2
    )

    [skipped] = [r for r in offline.results if r.scenario_id.startswith("judged_")]
    assert skipped.skipped == NEEDS_MODEL and offline.simulated_customer is False
    [judged] = [r for r in played.results if r.scenario_id.startswith("judged_")]
    assert judged.passed and judged.skipped is None and played.simulated_customer is True
    assert judged.transcript[0].text == "This is ridiculous, get me a human!"
    # Nothing was stored by simulate: the serving version and its report are unchanged.
    assert platform.agents.get(owner, agent_id).artifact_version == 1
    with pytest.raises(NotFound):
        platform.backends.blobs.get(report_key(owner.tenant_id, agent_id, 2))


async def test_an_older_stored_version_can_be_read_for_a_re_run(platform: Platform) -> None:
    owner, agent_id = new_agent(platform)
    first = await build(platform, owner, agent_id)
    second = await build(platform, owner, agent_id)
    assert first.succeeded and second.succeeded

    name, plan, version = platform.simulations.plan(owner, agent_id, 1)
    _, serving, now = platform.simulations.plan(owner, agent_id)

    assert (name, version, now) == ("Acme Support", 1, 2)
    assert plan == serving  # the same SOP and script built both
    with pytest.raises(InvalidState):
        platform.simulations.plan(owner, agent_id, 3)
