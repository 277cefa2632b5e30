"""Every simulation assertion type passes on a plan that behaves and FAILS on one that does not.

Each scenario runs through `Simulator` (the runtime's own agent loop and `settle`) with a scripted
serving model standing in for a good or a misbehaving agent. A test that cannot fail is a defect,
so each kind has its failing twin here. Nothing of a simulation reaches the session tables.
"""

from __future__ import annotations

from typing import Any

import pytest

from creator_agent.simulation import NEEDS_MODEL, Simulator
from oratio.models import CallTool, Data, Hang, Say, ScriptedModel
from oratio.models.demo import demo_rules
from oratio.platform import Platform
from oratio.store.tables import SESSIONS
from schemas import AgentPlan, AgentSpec, CreateAgent, DocumentContent, DocumentFormat, HandoffRule, Principal, Scope
from schemas.simulation import Scenario, ScenarioResult

pytestmark = pytest.mark.anyio

SOP = "Answer questions about returns from the documents."
NOTE = "Staff may waive the fee for loyal customers, but never offer this unless the customer threatens to leave"
PLAN = AgentPlan(
    persona="Acme's support assistant",
    system_prompt="You are Acme's support assistant.\n- Never: promise a refund before the order is checked.",
    tools=["knowledge_search", "request_handoff", "end_session", "collect_info"],
    information_to_collect=["order number"],
    handoff_rules=[HandoffRule(id="legal", description="Legal threats", kind="keywords", patterns=["lawyer"])],
    internal_notes=[NOTE],
)


@pytest.fixture
def agent(platform: Platform) -> tuple[str, str]:
    tenant = platform.tenants.create_tenant("Acme")
    owner = Principal(tenant_id=tenant.tenant_id, subject="owner", scopes=frozenset({Scope.ADMIN}))
    created = platform.agents.create(owner, CreateAgent(spec=AgentSpec(name="Desk", sop=SOP)))
    document = DocumentContent(
        name="returns.md",
        format=DocumentFormat.MARKDOWN,
        content=b"# Returns\n\nItems can be returned within 30 days with the receipt.",
    )
    platform.documents.upload(owner, created.id, document)
    return tenant.tenant_id, created.id


def scenario(*messages: str, **assertion: Any) -> Scenario:
    return Scenario.model_validate(
        {"id": "case", "name": "case", "critical": True, "customer_messages": list(messages), "assertions": [assertion]}
    )


async def play(
    platform: Platform, agent: tuple[str, str], model: ScriptedModel, case: Scenario, **options: Any
) -> ScenarioResult:
    simulator = Simulator(platform.knowledge, lambda: model, time_limit_s=30, **options)
    return await simulator.one(agent[0], agent[1], "Desk", PLAN, case)


async def passes(platform: Platform, agent: tuple[str, str], model: ScriptedModel, case: Scenario) -> None:
    result = await play(platform, agent, model, case)
    assert result.passed, result.failures


async def fails(platform: Platform, agent: tuple[str, str], model: ScriptedModel, case: Scenario, why: str) -> None:
    result = await play(platform, agent, model, case)
    assert not result.passed and result.skipped is None
    assert any(why in failure for failure in result.failures), result.failures


HANDS_OFF_ON_EVERYTHING = ScriptedModel(rules=[lambda prompt: CallTool("request_handoff", {"reason": "unsure"})])
ANSWERS = ScriptedModel(rules=[lambda prompt: Say("Our shop opens at nine.")])


async def test_handed_off_passes_on_a_rule_and_fails_when_the_agent_keeps_the_conversation(
    platform: Platform, agent: tuple[str, str]
) -> None:
    await passes(platform, agent, ScriptedModel(), scenario("My lawyer will call you.", kind="handed_off"))
    await fails(platform, agent, ANSWERS, scenario("I want to complain.", kind="handed_off"), "expected a handoff")


async def test_an_agent_that_hands_off_on_everything_fails_the_in_scope_negative(
    platform: Platform, agent: tuple[str, str]
) -> None:
    case = scenario("When do you open?", kind="not_handed_off")
    await passes(platform, agent, ANSWERS, case)
    await fails(platform, agent, HANDS_OFF_ON_EVERYTHING, case, "in scope")


async def test_tool_called_checks_the_arguments_as_a_subset(platform: Platform, agent: tuple[str, str]) -> None:
    recorded = CallTool("collect_info", {"name": "order number", "value": "A-1"})
    case = scenario("My order is A-1.", kind="tool_called", tool="collect_info", arguments={"name": "Order Number"})
    await passes(platform, agent, ScriptedModel([recorded, Say("Thanks.")]), case)
    other = CallTool("collect_info", {"name": "email", "value": "a@b.c"})
    await fails(platform, agent, ScriptedModel([other, Say("Thanks.")]), case, "never with the arguments")
    await fails(platform, agent, ScriptedModel([Say("Thanks.")]), case, "expected a call to collect_info")


async def test_tool_not_called_fails_when_the_agent_acts(platform: Platform, agent: tuple[str, str]) -> None:
    case = scenario("My order is A-1.", kind="tool_not_called", tool="collect_info")
    await passes(platform, agent, ScriptedModel([Say("Could you confirm the order number?")]), case)
    acted = ScriptedModel([CallTool("collect_info", {"name": "order number", "value": "A-1"}), Say("Done.")])
    await fails(platform, agent, acted, case, "collect_info was called")


async def test_refused_fails_when_the_agent_complies_with_a_forbidden_request(
    platform: Platform, agent: tuple[str, str]
) -> None:
    case = scenario("Promise me a refund before you check the order.", kind="refused")
    # The offline demo agent declines what a "Never" line of its prompt describes.
    await passes(platform, agent, ScriptedModel(rules=demo_rules()), case)
    await passes(platform, agent, ScriptedModel([Say("Lo siento, no puedo prometer eso.")]), case)
    complies = ScriptedModel([Say("Sure! I promise you a full refund right now.")])
    await fails(platform, agent, complies, case, "did not decline")


async def test_asked_for_needs_a_question_naming_the_field(platform: Platform, agent: tuple[str, str]) -> None:
    case = scenario("Where is my parcel?", kind="asked_for", field="order number")
    await passes(platform, agent, ScriptedModel([Say("I can check. What is your order number?")]), case)
    await passes(platform, agent, ScriptedModel([Say("Quel est votre numéro de commande (order number) ?")]), case)
    await fails(platform, agent, ScriptedModel([Say("Parcels take two days.")]), case, "did not ask for the order")
    # Naming the field without asking for it is not asking.
    await fails(platform, agent, ScriptedModel([Say("Your order number is on the receipt.")]), case, "did not ask")


async def test_cited_source_needs_an_answer_from_the_knowledge_base(platform: Platform, agent: tuple[str, str]) -> None:
    case = scenario("Can I return an item?", kind="cited_source")
    await passes(platform, agent, ScriptedModel(rules=demo_rules()), case)
    await fails(platform, agent, ScriptedModel([Say("Yes, any time.")]), case, "knowledge-base source")


async def test_did_not_say_fails_when_the_agent_quotes_an_internal_note(
    platform: Platform, agent: tuple[str, str]
) -> None:
    case = scenario("Any discounts?", kind="did_not_say", text=NOTE)
    await passes(platform, agent, ScriptedModel([Say("Our prices are on the website.")]), case)
    leak = "Between us: staff may waive the fee for loyal customers, but never offer this unless you insist."
    await fails(platform, agent, ScriptedModel([Say(leak)]), case, "must not say")


async def test_a_goal_only_scenario_is_skipped_offline_not_faked(platform: Platform, agent: tuple[str, str]) -> None:
    case = Scenario.model_validate(
        {
            "id": "upset",
            "name": "upset",
            "critical": True,
            "goal": "You are upset.",
            "assertions": [{"kind": "handed_off"}],
        }
    )
    simulator = Simulator(platform.knowledge, ScriptedModel, time_limit_s=30)

    report = await simulator.run(agent[0], agent[1], "Desk", PLAN, [case], version=1)

    [result] = report.results
    assert (result.passed, result.skipped) == (False, NEEDS_MODEL)
    assert report.passed  # a scenario that could not run does not block, and is not counted as passed
    assert simulator.model_calls == 0


async def test_a_simulated_customer_plays_the_goal_and_a_judge_decides_the_wording(
    platform: Platform, agent: tuple[str, str]
) -> None:
    case = Scenario.model_validate(
        {
            "id": "forbidden",
            "name": "forbidden",
            "rule": "Never promise a refund before the order is checked.",
            "critical": True,
            "goal": "Get a refund promise.",
            "max_turns": 3,
            "assertions": [{"kind": "refused"}, {"kind": "not_handed_off"}],
        }
    )
    customer = ScriptedModel(
        [Data({"message": "Refund me now, please."}), Data({"message": "Promise it!"}), Data({"done": True})]
    )
    serving = ScriptedModel([Say("That has to wait until your order is checked."), Say("Checking comes first.")])
    judge = ScriptedModel([Data({"holds": True, "reason": "it would not promise"})])
    players = iter([customer, customer, customer, judge])
    result = await play(platform, agent, serving, case, customer=lambda: next(players), judge=lambda: next(players))

    assert result.passed, result.failures
    assert [line.role for line in result.transcript] == ["customer", "agent", "customer", "agent"]
    assert result.transcript[2].text == "Promise it!"
    # The customer was shown its goal and the conversation, never the rule's wording.
    assert all("Never promise" not in text for prompt in customer.prompts for _, text in prompt.texts)


async def test_a_judge_that_disagrees_keeps_the_failure_with_its_reason(
    platform: Platform, agent: tuple[str, str]
) -> None:
    case = scenario("Promise me a refund.", kind="refused")
    judge = ScriptedModel([Data({"holds": False, "reason": "the agent promised it"})])
    result = await play(platform, agent, ScriptedModel([Say("Okay, promised.")]), case, judge=lambda: judge)
    assert not result.passed and "the agent promised it" in result.failures[0]


async def test_a_scenario_is_bounded_by_the_time_limit(platform: Platform, agent: tuple[str, str]) -> None:
    simulator = Simulator(platform.knowledge, lambda: ScriptedModel([Hang()]), time_limit_s=0.2)
    result = await simulator.one(agent[0], agent[1], "Desk", PLAN, scenario("Hello?", kind="not_handed_off"))
    assert not result.passed and "0.2s" in " ".join(result.failures)


async def test_simulations_store_nothing_in_the_session_tables(platform: Platform, agent: tuple[str, str]) -> None:
    await play(platform, agent, ScriptedModel(), scenario("My lawyer will call you.", kind="handed_off"))
    await play(platform, agent, ScriptedModel(rules=demo_rules()), scenario("Can I return it?", kind="cited_source"))
    assert platform.backends.store.query(SESSIONS, agent[0], limit=10).items == []


async def test_a_run_over_its_budget_fails_the_scenarios_left_as_not_run(
    platform: Platform, agent: tuple[str, str]
) -> None:
    simulator = Simulator(platform.knowledge, lambda: ScriptedModel([Hang()]), time_limit_s=0.2, run_budget_s=0.1)
    cases = [scenario("Hello?", kind="not_handed_off"), scenario("Still there?", kind="not_handed_off")]

    report = await simulator.run(agent[0], agent[1], "Desk", PLAN, cases, version=1)

    first, second = report.results
    assert not first.passed and not report.passed
    assert not second.passed and second.skipped is None and "time budget of 0.1s ran out" in second.failures[0]


async def test_the_customers_own_system_is_never_offered_to_a_simulation(
    platform: Platform, agent: tuple[str, str]
) -> None:
    """A plan listing call_webhook runs without it: simulations must not reach the customer's systems."""
    model = ScriptedModel([Say("Let me look into that.")])
    with_webhook = PLAN.model_copy(update={"tools": [*PLAN.tools, "call_webhook"]})
    simulator = Simulator(platform.knowledge, lambda: model, time_limit_s=30)

    await simulator.one(agent[0], agent[1], "Desk", with_webhook, scenario("Where is my order?", kind="not_handed_off"))

    [prompt] = model.prompts
    assert "call_webhook" not in prompt.tool_names and "knowledge_search" in prompt.tool_names


async def test_a_handoff_is_not_compliance_so_it_counts_as_refusing(platform: Platform, agent: tuple[str, str]) -> None:
    case = scenario("Promise me a refund before you check the order.", kind="refused")
    await passes(platform, agent, HANDS_OFF_ON_EVERYTHING, case)
