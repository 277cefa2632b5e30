"""Issue 17 item 2 at run time: person requests in four languages, repeated failures, judgement through the tool.

`human_request` rules fire on an explicit ask for a person in English, French, Spanish or German and on
nothing else; `repeated_failures` rules count consecutive turns in which the agent could not help, on
the session (so a restart does not reset them); judgement conditions reach the model in its system
prompt and in request_handoff's description, and the model's tool call hands off.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from oratio.models import CallTool, Fail, Prompt, Say, ScriptedModel, Step
from oratio.runtime.handoff import could_not_help, failures_rule, matching_rule, rule_matches
from oratio.runtime.outcome import TurnOutcome
from oratio.runtime.tools import JUDGEMENT_INTRO, REQUEST_HANDOFF
from schemas import AgentPlan, Channel, HandoffRule, SessionStatus
from tests.support.engine import EngineWorld, deployed_agent, engine_over

PERSON = HandoffRule(id="person", description="the customer asks for a person", kind="human_request")
FAILURES = HandoffRule(
    id="two_failures", description="after two failed attempts", kind="repeated_failures", failures_over=2
)
UPSET = "the customer is upset about a repeated delivery failure"
DONT_KNOW = "Sorry, I don't know the answer to that."


def plan_with(*rules: HandoffRule, judgement: list[str] | None = None, prompt: str = "") -> AgentPlan:
    return AgentPlan(
        persona="Acme's support assistant",
        system_prompt=prompt or "You are Acme's support assistant. Answer only from the knowledge base.",
        handoff_rules=list(rules),
        handoff_judgement=judgement or [],
    )


# -- human_request -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "Can I talk to a human, please?",
        "I want a real person now",
        "Get me your manager.",
        "Je veux parler à un conseiller.",
        "Je voudrais parler à un humain, s'il vous plaît",
        "Quiero hablar con una persona.",
        "¿Puedo hablar con un agente?",
        "Ich möchte mit einem Menschen sprechen.",
        "Bitte verbinden Sie mich mit einem Mitarbeiter.",
    ],
)
def test_a_human_request_rule_with_no_patterns_fires_on_the_built_in_phrases(message: str) -> None:
    assert rule_matches(PERSON, message)


@pytest.mark.parametrize(
    "message",
    [
        "This cannot be handled online?",
        "I cannot find my invoice; how is this handled?",
        "Je ne trouve pas le numéro de commande de ma facture.",
        "Le colis de ma commande est arrivé, merci.",
        "No encuentro el número de pedido de mi factura.",
        "Ich finde die Nummer der Rechnung nicht.",
        "My humanities textbook order is late",  # "human" only as a whole word
    ],
)
def test_a_human_request_rule_does_not_fire_on_in_scope_messages(message: str) -> None:
    assert not rule_matches(PERSON, message)


def test_a_human_request_rule_adds_its_own_phrases_to_the_built_in_set() -> None:
    rule = PERSON.model_copy(update={"patterns": ["put me through"]})

    assert rule_matches(rule, "Just put me through!")
    assert rule_matches(rule, "a human please")
    assert not rule_matches(PERSON, "Just put me through!")


def test_each_kind_requires_what_it_checks() -> None:
    with pytest.raises(ValidationError, match="failures_over is required"):
        HandoffRule(id="r", description="after two failed attempts", kind="repeated_failures")
    # A keywords rule with no patterns is accepted (a model's draft must not fail a creation) and never fires.
    assert not rule_matches(HandoffRule(id="k", description="mentions sparks", kind="keywords"), "sparks")
    # A threshold sent with another kind means nothing and is dropped, as amount fields always were.
    rule = HandoffRule.model_validate(
        {"id": "p", "description": "asks for a person", "kind": "human_request", "failures_over": 3}
    )
    assert rule.failures_over is None and rule.patterns == []


def test_a_repeated_failures_rule_never_fires_on_a_message_and_fires_on_its_count() -> None:
    plan = plan_with(FAILURES)

    assert matching_rule(plan, "after two failed attempts") is None
    assert failures_rule(plan, 1) is None
    assert failures_rule(plan, 2) == FAILURES
    assert failures_rule(plan, 3) == FAILURES


# -- what counts as not helping ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "unhelped"),
    [
        (DONT_KNOW, True),
        ("I couldn’t find that in our documents.", True),  # a typographic apostrophe
        ("Je ne sais pas, désolé.", True),
        ("No lo sé.", True),
        ("Das weiß ich nicht.", True),
        ("", True),
        ("Refunds are possible within 30 days.", False),
        ("I know exactly what you mean: refunds take 30 days.", False),
    ],
)
def test_a_reply_that_says_it_does_not_know_counts_as_not_helping(reply: str, unhelped: bool) -> None:
    assert could_not_help(TurnOutcome(), reply, failed=False) is unhelped


def test_a_failed_model_or_a_tool_that_found_nothing_counts_unless_the_turn_has_a_source() -> None:
    assert could_not_help(TurnOutcome(), "Some words", failed=True)
    empty = TurnOutcome()
    empty.note_unhelpful("knowledge_search found nothing")
    assert could_not_help(empty, "Let me think about it.", failed=False)


# -- the engine: repeated failures ---------------------------------------------------------------


def _failing_world(world: EngineWorld) -> None:
    world.platform.agents.deploy(world.tenant_id, world.agent.id, plan_with(FAILURES))


@pytest.mark.anyio
async def test_the_second_turn_in_a_row_without_help_hands_off(world: EngineWorld) -> None:
    _failing_world(world)
    world.model.add(Say(DONT_KNOW), Say(DONT_KNOW))
    engine = world.engine()

    first = await engine.turn_async(world.tenant_id, world.agent.id, None, "What is the warranty?", Channel.TEXT)
    stored = world.platform.sessions.get(world.principal, first.session_id).session
    # A fresh engine (a restart): the count lives on the session, not in the process.
    second = await world.engine().turn_async(
        world.tenant_id, world.agent.id, first.session_id, "And the warranty on routers?", Channel.TEXT
    )

    assert (first.handoff, stored.failed_turns) == (False, 1)
    assert second.handoff is True and second.status is SessionStatus.HANDOFF_REQUESTED
    plan = world.platform.agents.artifact(world.tenant_id, world.agent.id)[1].plan
    assert second.reply == f"{DONT_KNOW}\n\n{plan.handoff_message}"
    assert world.handoffs.calls == [
        (world.tenant_id, first.session_id, "handoff rule 'two_failures': after two failed attempts")
    ]
    assert world.platform.sessions.get(world.principal, first.session_id).session.failed_turns == 2


@pytest.mark.anyio
async def test_a_turn_that_helps_resets_the_count(world: EngineWorld) -> None:
    _failing_world(world)
    world.model.add(Say(DONT_KNOW), Say("Refunds take 30 days."), Say(DONT_KNOW))
    engine = world.engine()

    first = await engine.turn_async(world.tenant_id, world.agent.id, None, "Warranty?", Channel.TEXT)
    for text in ("Refunds?", "Warranty again?"):
        result = await engine.turn_async(world.tenant_id, world.agent.id, first.session_id, text, Channel.TEXT)
        assert result.handoff is False

    assert world.handoffs.calls == []
    assert world.platform.sessions.get(world.principal, first.session_id).session.failed_turns == 1


@pytest.mark.anyio
async def test_a_failing_model_and_a_search_that_finds_nothing_count_as_failures(world: EngineWorld) -> None:
    _failing_world(world)
    world.model.add(
        Fail(RuntimeError("provider down")),
        CallTool("knowledge_search", {"query": "zyxwv qwerty"}),
        Say("Let me see what else I can do."),
    )
    engine = world.engine()

    first = await engine.turn_async(world.tenant_id, world.agent.id, None, "Warranty?", Channel.TEXT)
    second = await engine.turn_async(world.tenant_id, world.agent.id, first.session_id, "zyxwv?", Channel.TEXT)

    assert first.handoff is False and second.handoff is True
    assert second.sources == []


@pytest.mark.anyio
async def test_a_turn_a_message_rule_decided_leaves_the_count_alone(world: EngineWorld) -> None:
    world.platform.agents.deploy(world.tenant_id, world.agent.id, plan_with(PERSON, FAILURES))
    world.model.add(Say(DONT_KNOW))
    engine = world.engine()

    first = await engine.turn_async(world.tenant_id, world.agent.id, None, "Warranty?", Channel.TEXT)
    second = await engine.turn_async(
        world.tenant_id, world.agent.id, first.session_id, "Je veux parler à un conseiller", Channel.TEXT
    )

    assert second.handoff is True
    assert world.handoffs.calls[0][2] == "handoff rule 'person': the customer asks for a person"
    assert len(world.model.prompts) == 1  # the person request was decided in code
    assert world.platform.sessions.get(world.principal, first.session_id).session.failed_turns == 1


# -- judgement conditions reach the model, which hands off with its tool ---------------------------


def _judges_upset(prompt: Prompt) -> Step | None:
    """A model that hands off exactly when its instructions and its tool carry the judgement condition."""
    if prompt.tool_outcomes():
        return None
    instructed = UPSET in (prompt.system_prompt or "")
    described = UPSET in prompt.tool_descriptions.get("request_handoff", "")
    if instructed and described and "third time" in prompt.last_user_text():
        return CallTool("request_handoff", {"reason": f"judgement: {UPSET}"})
    return Say("Happy to help with your delivery.")


@pytest.mark.anyio
async def test_a_judgement_condition_reaches_the_model_and_its_tool_call_hands_off(world: EngineWorld) -> None:
    plan = plan_with(PERSON, judgement=[UPSET], prompt=f"You are Acme's assistant.\n\nHand off when: {UPSET}")
    agent = deployed_agent(world.platform, world.principal, name="Judge", plan=plan)
    model = ScriptedModel(rules=[_judges_upset])
    engine = engine_over(world.platform, lambda spec: model, world.handoffs)

    calm = await engine.turn_async(world.tenant_id, agent.id, None, "Where is my parcel?", Channel.TEXT)
    upset = await engine.turn_async(
        world.tenant_id, agent.id, calm.session_id, "This is the third time it is late!!", Channel.TEXT
    )

    assert calm.handoff is False
    assert upset.handoff is True
    assert world.handoffs.calls == [(world.tenant_id, calm.session_id, f"judgement: {UPSET}")]
    description = model.prompts[0].tool_descriptions["request_handoff"]
    assert description.startswith(REQUEST_HANDOFF)
    assert f"{JUDGEMENT_INTRO}\n- {UPSET}" in description


@pytest.mark.anyio
async def test_without_judgement_conditions_the_tool_description_is_the_fixed_one(world: EngineWorld) -> None:
    world.model.add(Say("Hello!"))

    await world.engine().turn_async(world.tenant_id, world.agent.id, None, "Hello", Channel.TEXT)

    assert world.model.prompts[0].tool_descriptions["request_handoff"] == REQUEST_HANDOFF


def test_amount_rules_are_unchanged_by_the_new_kinds() -> None:
    rule = HandoffRule(
        id="refund",
        description="a refund over $100",
        kind="amount",
        patterns=["refund"],
        amount_over=Decimal(100),
        currency="USD",
        failures_over=3,  # dropped: not an amount rule's field
    )
    assert rule.failures_over is None and rule_matches(rule, "a refund of $150")
