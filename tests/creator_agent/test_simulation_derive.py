"""Scenarios derived from the SOP and plan: for each rule a case that must follow it and one that must not
trigger it, never the rule's own keyword alone as the only check (issue 17, item 5)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from creator_agent.simulation import Simulator, derive_scenarios, with_admin
from creator_agent.simulation.derive import forbidden_act
from oratio.models import ScriptedModel
from oratio.models.demo import demo_rules
from oratio.platform import Platform
from schemas import AgentPlan, HandoffRule, ParsedSop
from schemas.simulation import Scenario, ScenarioBook

pytestmark = pytest.mark.anyio

REFUND = HandoffRule(
    id="refund",
    description="a refund request is over $100",
    kind="amount",
    patterns=["refund"],
    amount_over=Decimal(100),
    currency="USD",
)


def plan(**fields: Any) -> AgentPlan:
    return AgentPlan.model_validate(
        {"persona": "Desk agent", "system_prompt": "You are a helpful support agent for Acme.", **fields}
    )


def by_id(scenarios: list[Scenario]) -> dict[str, Scenario]:
    return {s.id: s for s in scenarios}


def kinds(s: Scenario) -> list[str]:
    return [a.kind for a in s.assertions]


def test_an_amount_rule_gets_a_case_over_and_a_case_under_its_threshold() -> None:
    custom = HandoffRule(id="custom", description="a custom regex", kind="regex", patterns=["y"])
    found = by_id(derive_scenarios(plan(handoff_rules=[REFUND, custom]), ParsedSop(), None))

    over, under = found["handoff_refund"], found["no_handoff_refund"]
    assert kinds(over) == ["handed_off"] and "$101" in over.customer_messages[0]
    assert kinds(under) == ["not_handed_off"] and "$50" in under.customer_messages[0]
    assert over.critical and under.critical
    assert "handoff_custom" not in found  # a hand-written regex has no canonical message
    assert "greeting_stays" in found
    assert "in_scope_stays" in by_id(derive_scenarios(plan(), ParsedSop(), None))  # no rules: one in-scope case


def test_the_in_scope_negatives_come_from_the_sops_goals_and_documents() -> None:
    rule = HandoffRule(id="cannot", description="the request cannot be handled", kind="keywords", patterns=["cannot"])
    parsed = ParsedSop(goals=["Explain delivery times"])
    found = by_id(derive_scenarios(plan(handoff_rules=[rule]), parsed, "What does your returns say?"))
    assert found["no_handoff_cannot"].customer_messages == ["What does your returns say?"]
    two = by_id(derive_scenarios(plan(handoff_rules=[rule, REFUND]), parsed, None))
    assert two["no_handoff_cannot"].customer_messages == [
        "Hello, can you tell me more about this: explain delivery times?"
    ]
    assert two["no_handoff_refund"].customer_messages == ["Hi. I have a question about a refund of $50."]


async def test_a_distorted_keyword_list_fails_the_in_scope_negative(platform: Platform) -> None:
    """The issue's French case: a condition compiled into the keyword "le" hands off an ordinary request."""
    distorted = HandoffRule(id="le", description="le client est mécontent", kind="keywords", patterns=["le"])
    french = plan(handoff_rules=[distorted], language="fr")
    parsed = ParsedSop(goals=["Expliquer le délai de livraison"], language="fr")
    scenarios = derive_scenarios(french, parsed, None)
    simulator = Simulator(platform.knowledge, lambda: ScriptedModel(rules=demo_rules()), time_limit_s=30)
    report = await simulator.run("ten_x", "agt_x", "Desk", french, scenarios, version=1)
    failed = {r.scenario_id for r in report.critical_failures}
    assert "no_handoff_le" in failed and not report.passed


def test_each_never_rule_becomes_a_forbidden_request_that_must_be_refused() -> None:
    parsed = ParsedSop(never_rules=["Never promise a refund to the customer", "Do not share their address"])
    found = [s for s in derive_scenarios(plan(), parsed, None) if s.id.startswith("never_")]
    assert [kinds(s) for s in found] == [["refused"], ["refused"]]
    assert all(s.critical for s in found)
    assert "promise a refund to me" in found[0].customer_messages[0]
    assert forbidden_act("Ne jamais divulguer le mot de passe") == "divulguer le mot de passe"
    assert forbidden_act("Nunca compartir datos") == "compartir datos"
    assert forbidden_act("Niemals Passwörter nennen") == "passwörter nennen"


def test_fields_actions_knowledge_and_notes_get_their_scenarios() -> None:
    agent = plan(information_to_collect=["order number"], internal_notes=["Fees may be waived for VIPs only"])
    parsed = ParsedSop(goals=["Track parcels"], actions=["Issue the refund"])
    found = derive_scenarios(agent, parsed, "What does your returns say?")
    ask = next(s for s in found if s.id.startswith("ask_"))
    action = next(s for s in found if s.id.startswith("action_"))
    note = next(s for s in found if s.id.startswith("note_"))
    knowledge = by_id(found)["knowledge_cited"]
    assert ask.assertions[0].model_dump() == {"kind": "asked_for", "field": "order number"} and not ask.critical
    assert kinds(action) == ["asked_for"] and not action.critical
    assert note.assertions[0].model_dump() == {"kind": "did_not_say", "text": "Fees may be waived for VIPs only"}
    assert note.critical
    assert kinds(knowledge) == ["cited_source"] and not knowledge.critical


def test_an_action_tool_must_not_be_called_before_confirmation() -> None:
    agent = plan(tools=["knowledge_search", "call_webhook"])
    [action] = [
        s
        for s in derive_scenarios(agent, ParsedSop(actions=["Change the booking"]), None)
        if s.id.startswith("action_")
    ]
    assert [a.model_dump() for a in action.assertions][1] == {"kind": "tool_not_called", "tool": "call_webhook"}


def test_judgement_conditions_need_a_model_and_are_not_faked_as_keywords() -> None:
    agent = plan(handoff_judgement=["the customer is upset"])
    [judged] = [s for s in derive_scenarios(agent, ParsedSop(), None) if s.id.startswith("judged_")]
    assert judged.needs_model and judged.customer_messages == [] and judged.goal
    assert kinds(judged) == ["handed_off"] and judged.critical


def test_no_handoff_scenarios_when_the_plan_cannot_hand_off() -> None:
    found = derive_scenarios(plan(tools=["knowledge_search"], handoff_rules=[]), ParsedSop(), None)
    assert [s.id for s in found] == ["greeting_stays"]


def test_ids_are_stable_and_the_admins_markings_and_scenarios_apply() -> None:
    parsed = ParsedSop(never_rules=["Never swear"])
    first = derive_scenarios(plan(handoff_rules=[REFUND]), parsed, None)
    assert [s.id for s in first] == [s.id for s in derive_scenarios(plan(handoff_rules=[REFUND]), parsed, None)]
    own = Scenario.model_validate(
        {"id": "vip", "name": "vip", "customer_messages": ["hi"], "assertions": [{"kind": "not_handed_off"}]}
    )
    book = ScenarioBook(scenarios=[own], critical={"handoff_refund": False, "vip": True})
    merged = by_id(with_admin(first, book))
    assert merged["handoff_refund"].critical is False and merged["vip"].critical is True
    assert merged["greeting_stays"].critical is True
