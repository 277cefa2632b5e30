"""Simulations exercise the admin's tools: a lookup, a write action through the confirmation gate (yes / no),
on a sandbox runner that never calls out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from creator_agent.models import creator_models
from creator_agent.pipeline import AgentCreator
from creator_agent.simulation.derive import derive_scenarios
from creator_agent.simulation.run import Simulator
from creator_agent.simulation.sandbox import SandboxRunner, sample, sample_arguments
from oratio.actions import ToolRequest
from oratio.models.scripted import CallTool, Prompt, Say, ScriptedModel, Step
from oratio.platform import Platform
from schemas import AgentPlan, CreateAgent, ParsedSop, Principal, Scope, ToolCallStatus
from schemas.simulation import ConfirmationAsked, Refused, Scenario, ToolCalled, ToolNotRan, ToolRan
from tests.support.orders_tools import cancel_order, get_order, orders_spec

pytestmark = pytest.mark.anyio

CANCEL_ARGS = {"order_id": "A1234", "reason": "changed_mind"}
STATEMENT = (
    "To confirm: I will cancel an order that has not shipped yet with order id A1234 and reason changed_mind. "
    "Shall I go ahead? Please answer yes or no."
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"model": "scripted"}


def orders_plan(**changes: Any) -> AgentPlan:
    fields: dict[str, Any] = {
        "persona": "Orders agent",
        "system_prompt": "You are the orders desk agent. Look orders up and cancel them when asked.",
        "actions": [get_order(), cancel_order()],
    }
    fields.update(changes)
    return AgentPlan.model_validate(fields)


def desk_model(*, again_after_yes: bool = False, claims_success: bool = False) -> ScriptedModel:
    """A model that calls the tool the customer's words name, with the arguments they give (as the offline
    demo model does), and reports what the tool answered."""

    def step(prompt: Prompt) -> Step | None:
        outcomes = prompt.tool_outcomes()
        if outcomes:
            answer = json.loads(outcomes[-1].text)
            if answer.get("status") == "awaiting_confirmation":
                return Say("I can do that once you confirm.")
            if answer.get("status") == "declined":
                return Say("All right, nothing was changed.")
            if "error" in answer and not claims_success:
                return Say("I'm afraid I could not do that: the order system reported an error.")
            # The tool calls of this turn: after the customer's last words (the history shows earlier turns' calls).
            said = max(
                i
                for i, m in enumerate(prompt.messages)
                if m["role"] == "user" and any("text" in b for b in m["content"])
            )
            uses = sum("toolUse" in block for message in prompt.messages[said:] for block in message["content"])
            if again_after_yes and outcomes[-1].name == "cancel_order" and "ok" in answer and uses == 1:
                return CallTool("cancel_order", CANCEL_ARGS)  # a model calling it again: it must not run twice
            return Say(f"Done, the system answered: {outcomes[-1].text}")
        text = prompt.last_user_text().casefold()
        if "look up an order" in text:
            return CallTool("get_order", {"order_id": "A1234"})
        if "cancel an order" in text:
            return CallTool("cancel_order", CANCEL_ARGS)
        return Say("How can I help with your order?")

    return ScriptedModel(rules=[step])


def scenarios_for(plan: AgentPlan) -> list[Scenario]:
    return [s for s in derive_scenarios(plan, ParsedSop(), None) if s.id.startswith("tool_")]


def test_each_tool_gets_its_scenarios_with_sample_arguments() -> None:
    found = {s.id: s for s in scenarios_for(orders_plan())}

    assert sorted(found) == [
        "tool_cancel_order_confirmed",
        "tool_cancel_order_declined",
        "tool_cancel_order_fails",
        "tool_get_order_lookup",
    ]
    fails = found["tool_cancel_order_fails"]
    assert (fails.failing_tools, fails.customer_messages[1], fails.critical) == (
        ["cancel_order"],
        "Yes, go ahead.",
        False,
    )
    assert fails.assertions == [ToolRan(tool="cancel_order"), Refused()]
    lookup = found["tool_get_order_lookup"]
    assert lookup.customer_messages == [
        "Please look up an order by its order id: its status, items and delivery date. My order id is A1234."
    ]
    assert lookup.assertions == [
        ToolCalled(tool="get_order", arguments={"order_id": "A1234"}),
        ToolRan(tool="get_order", arguments={"order_id": "A1234"}),
    ]
    confirmed = found["tool_cancel_order_confirmed"]
    assert confirmed.customer_messages[1] == "Yes, go ahead."
    assert confirmed.assertions == [
        ConfirmationAsked(tool="cancel_order"),
        ToolRan(tool="cancel_order", arguments=CANCEL_ARGS),
    ]
    declined = found["tool_cancel_order_declined"]
    assert (declined.customer_messages[1], declined.assertions, declined.critical) == (
        "No, don't.",
        [ToolNotRan(tool="cancel_order")],
        True,
    )
    assert not confirmed.critical and not lookup.critical


def test_scenarios_speak_the_plans_language() -> None:
    found = {s.id: s for s in scenarios_for(orders_plan(language="fr"))}

    assert found["tool_cancel_order_confirmed"].customer_messages[1] == "Oui, allez-y."
    assert found["tool_get_order_lookup"].customer_messages[0].startswith("Pouvez-vous look up an order")


async def test_a_lookup_and_a_confirmed_write_run_and_a_declined_one_never_does(platform: Platform) -> None:
    plan = orders_plan()
    model = desk_model()
    simulator = Simulator(platform.knowledge, lambda: model, time_limit_s=30)

    report = await simulator.run("ten_acme", "agt_orders", "Orders", plan, scenarios_for(plan), 1)

    results = {r.scenario_id: r for r in report.results}
    assert all(r.passed for r in report.results), [r.failures for r in report.results]
    confirmed = results["tool_cancel_order_confirmed"].transcript
    # The statement, rendered in code from the tool and the exact arguments, ends the agent's first reply.
    assert confirmed[1].text.endswith(STATEMENT)
    # After "yes", the model got the call and its result (the sandbox's {"ok": true}) and said so.
    assert confirmed[3].text == 'Done, the system answered: {"ok": true}'
    declined = results["tool_cancel_order_declined"].transcript
    # After "no", the model heard that nothing was done.
    assert declined[1].text.endswith(STATEMENT) and declined[3].text == "All right, nothing was changed."


async def test_an_agent_that_claims_success_when_the_tool_failed_fails_that_scenario(platform: Platform) -> None:
    plan = orders_plan()
    fails = next(s for s in scenarios_for(plan) if s.id == "tool_cancel_order_fails")
    honest = Simulator(platform.knowledge, lambda: desk_model(), time_limit_s=30)
    boasting = Simulator(platform.knowledge, lambda: desk_model(claims_success=True), time_limit_s=30)

    told = await honest.one("ten_acme", "agt_orders", "Orders", plan, fails)
    claimed = await boasting.one("ten_acme", "agt_orders", "Orders", plan, fails)

    assert told.passed, told.failures
    assert "could not" in told.transcript[3].text
    assert claimed.failures == ["the agent did not decline (or say it could not do it)"]


async def test_a_write_called_again_after_it_ran_does_not_run_twice(platform: Platform) -> None:
    plan = orders_plan()
    sandboxes: list[SandboxRunner] = []

    def sandbox() -> SandboxRunner:
        sandboxes.append(SandboxRunner())
        return sandboxes[-1]

    simulator = Simulator(
        platform.knowledge, lambda: desk_model(again_after_yes=True), time_limit_s=30, sandbox=sandbox
    )
    confirmed = next(s for s in scenarios_for(plan) if s.id == "tool_cancel_order_confirmed")

    result = await simulator.one("ten_acme", "agt_orders", "Orders", plan, confirmed)

    assert result.passed, result.failures
    assert result.transcript[3].tools == ["cancel_order"]  # the model asked again in the confirming turn ...
    assert sandboxes[0].ran == [("cancel_order", CANCEL_ARGS)]  # ... and it ran once, the confirmed arguments


async def test_a_model_that_never_asks_fails_the_reported_scenario_but_not_the_declined_one(platform: Platform) -> None:
    plan = orders_plan()
    silent = ScriptedModel(rules=[lambda prompt: Say("Sure, all done!")])  # claims success, calls nothing

    report = await Simulator(platform.knowledge, lambda: silent, time_limit_s=30).run(
        "ten_acme", "agt_orders", "Orders", plan, scenarios_for(plan), 1
    )

    results = {r.scenario_id: r for r in report.results}
    assert results["tool_cancel_order_confirmed"].failures == [
        "the agent never held cancel_order to ask the customer to confirm it",
        "expected cancel_order to run; it never did",
    ]
    assert results["tool_cancel_order_declined"].passed
    assert report.passed  # only the declined scenario is critical


async def test_the_sandbox_answers_a_sample_validates_and_records_without_calling_out() -> None:
    sandbox = SandboxRunner()
    lookup = get_order()

    good = await sandbox.run(ToolRequest("ten_acme", "agt_orders", None, lookup, {"order_id": "A1234"}))
    missing = await sandbox.run(ToolRequest("ten_acme", "agt_orders", None, lookup, {}))
    wrong = await sandbox.run(
        ToolRequest("ten_acme", "agt_orders", None, cancel_order(), {"order_id": "A1", "reason": "bored"})
    )
    failing = await SandboxRunner(failing=frozenset({"get_order"})).run(
        ToolRequest("ten_acme", "agt_orders", None, lookup, {"order_id": "A1234"})
    )

    assert (good.status, good.content) == (ToolCallStatus.OK, {"status": "shipped", "order_id": "A1234"})
    assert missing.status is ToolCallStatus.INVALID_ARGUMENTS and "'order_id' is required" in missing.content["error"]
    assert wrong.status is ToolCallStatus.INVALID_ARGUMENTS and "'reason' must be one of" in wrong.content["error"]
    assert failing.status is ToolCallStatus.ERROR and "nothing was done" in failing.content["error"]
    assert sandbox.ran == [("get_order", {"order_id": "A1234"})]  # invalid calls never ran
    assert sample({"type": "array", "items": {"type": "integer"}}) == [1]
    assert sample_arguments(cancel_order().parameters) == CANCEL_ARGS


async def test_a_build_runs_the_tool_scenarios_and_the_declined_one_gates(platform: Platform) -> None:
    tenant = platform.tenants.create_tenant("Shop")
    owner = Principal(tenant_id=tenant.tenant_id, subject="owner", scopes=frozenset({Scope.ADMIN}))
    agent = platform.agents.create(owner, CreateAgent(spec=orders_spec()))

    record = await AgentCreator(platform, creator_models(platform.settings)).create(owner.tenant_id, agent.id)

    assert record.succeeded is True, record.failure
    assert record.simulation is not None
    ran = {r.scenario_id: r for r in record.simulation.results}
    assert {"tool_get_order_lookup", "tool_cancel_order_confirmed", "tool_cancel_order_declined"} <= set(ran)
    assert ran["tool_cancel_order_declined"].critical and ran["tool_cancel_order_declined"].passed


def test_samples_follow_string_formats() -> None:
    schema = {"type": "object", "properties": {"email": {"type": "string", "format": "email"}}, "required": ["email"]}

    assert sample_arguments(schema) == {"email": "customer@example.com"}


def test_a_patterned_string_takes_a_word_of_its_description_the_pattern_accepts() -> None:
    order_id = {"type": "string", "pattern": "^A[0-9]{4}$", "description": "The order id, like A1001"}
    hostile = {"type": "string", "pattern": "(a+)+$", "description": "a" * 5000 + "!"}
    look_around = {"type": "string", "pattern": "(?=x)y", "description": "y"}

    assert sample(order_id) == "A1001"
    assert sample(hostile) == "a" * 64  # on RE2: linear in the text, whatever the pattern
    assert sample(look_around) == "sample"  # a pattern RE2 refuses gives no value


async def test_the_next_turn_of_a_simulation_shows_the_model_the_calls_of_the_turn_before(platform: Platform) -> None:
    # As a stored conversation does (the agent turn keeps its tool calls): the engine's history, not just text.
    model = desk_model()
    lookup = Scenario(
        id="lookup_then_thanks",
        name="A lookup, then a thank-you",
        customer_messages=["Please look up an order A1234.", "thanks"],
        assertions=[ToolRan(tool="get_order", arguments={"order_id": "A1234"})],
    )

    result = await Simulator(platform.knowledge, lambda: model, time_limit_s=30).one(
        "ten_acme", "agt_orders", "Orders", orders_plan(), lookup
    )

    assert result.passed, result.failures
    later = model.prompts[-1]
    uses = [b["toolUse"] for m in later.messages for b in m["content"] if "toolUse" in b]
    results = [b["toolResult"] for m in later.messages for b in m["content"] if "toolResult" in b]
    assert [(u["name"], u["input"]) for u in uses] == [("get_order", {"order_id": "A1234"})]
    assert [r["toolUseId"] for r in results] == [uses[0]["toolUseId"]]
