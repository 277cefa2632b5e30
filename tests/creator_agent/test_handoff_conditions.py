"""Issue 17 item 2 in the creator: triggers are checked in code, judgement conditions go to the model.

On main every condition became a keyword rule: "transfer when the request cannot be handled with your
actions" handed off any message containing "cannot" or "handled", a French condition became "le", and
"dépasse 100 $" was not read as an amount. These tests hold the classifier, the drafter, the reviewer,
the rehearsal and the offline creation path to the two kinds, in English, French, Spanish and German.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from creator_agent.handoff_conditions import Judgement, Trigger, classify, keyword_filter, split_joined
from creator_agent.offline import offline_model
from creator_agent.pipeline import AgentCreator
from creator_agent.simulation.derive import derive_scenarios
from creator_agent.stages.draft_plan import JUDGEMENT_HEADING, PlanDrafter
from creator_agent.stages.parse_sop import SopParser
from creator_agent.stages.review_plan import check_plan
from oratio.models import CallTool, Data, Prompt, Rule, Say, ScriptedModel, Step
from oratio.platform import Platform
from oratio.runtime.handoff import matching_rule, rule_matches
from oratio.runtime.tools import request_handoff_description
from schemas import AgentPlan, AgentSpec, Channel, CreateAgent, HandoffRule, ParsedSop, Principal, Scope
from tests.support.engine import engine_over

JUDGEMENTS = [
    "transfer when the request cannot be handled with your actions",
    "the customer is upset",
    "la demande ne peut pas être traitée avec vos actions",
    "si el cliente está enfadado con el servicio",
    "wenn der Kunde verärgert ist",
]
IN_SCOPE_MESSAGES = [
    "This cannot be handled online? I only want to change my delivery address.",
    "I cannot find the tracking page; how is a late parcel handled?",
    "Je ne trouve pas le numéro de suivi de ma commande.",
    "Le colis de ma commande est arrivé, merci.",
    "No encuentro el número de seguimiento de mi pedido.",
    "Ich finde die Sendungsnummer der Bestellung nicht.",
]


@pytest.mark.parametrize(
    ("condition", "language", "kind", "detail"),
    [
        # (a) phrases the admin spells out
        ('the customer says "cancel my contract"', "en", "keywords", ["cancel my contract"]),
        ("the customer mentions sparks, smoke or wires", "en", "keywords", ["sparks", "smoke", "wires"]),
        ("le client mentionne « fuite de gaz »", "fr", "keywords", ["fuite de gaz"]),
        ("el cliente dice „Beschwerde“ o menciona abogado", "es", "keywords", ["beschwerde"]),
        # (b) amount thresholds: topic, comparator, amount, currency
        ("a refund request is over $100", "en", "amount", (["refund"], Decimal(100), "USD")),
        ("le remboursement dépasse 100 $", "fr", "amount", (["remboursement"], Decimal(100), "USD")),
        ("un remboursement de plus de 100,50 €", "fr", "amount", (["remboursement"], Decimal("100.50"), "EUR")),
        ("si el reembolso supera 100 €", "es", "amount", (["reembolso"], Decimal(100), "EUR")),
        ("un reembolso de más de 500 pesos", "es", "amount", (["reembolso"], Decimal(500), "MXN")),
        ("Erstattungen über 1.000,00 EUR", "de", "amount", (["erstattung"], Decimal(1000), "EUR")),
        ("wenn die Erstattung 100 € übersteigt", "de", "amount", (["erstattung"], Decimal(100), "EUR")),
        # (c) repeated failures
        ("after two failed attempts", "en", "repeated_failures", 2),
        ("if the customer asks three times", "en", "repeated_failures", 3),
        ("après deux tentatives infructueuses", "fr", "repeated_failures", 2),
        ("después de dos intentos fallidos", "es", "repeated_failures", 2),
        ("nach zwei fehlgeschlagenen Versuchen", "de", "repeated_failures", 2),
        ("wenn der Kunde dreimal fragt", "de", "repeated_failures", 3),
        # (d) an explicit request for a person
        ("the customer asks for a human or a manager", "en", "human_request", None),
        ("the customer asks to be transferred to a supervisor", "en", "human_request", None),
        ("le client demande à parler à un conseiller", "fr", "human_request", None),
        ("el cliente pide hablar con una persona", "es", "human_request", None),
        ("der Kunde möchte mit einem Menschen sprechen", "de", "human_request", None),
        # German puts the verb last in a "wenn" clause (stadtwerke_de missed this one)
        ("der Kunde nach einem Menschen fragt", "de", "human_request", None),
        ("wenn der Kunde einen Mitarbeiter verlangt", "de", "human_request", None),
        # (a) a situation named after "in case of" / "bei": what customers write about (stadtwerke_de's Gasgeruch)
        ("Bei Gasgeruch", "de", "keywords", ["gasgeruch"]),
        ("in case of a gas leak or fire", "en", "keywords", ["gas leak", "fire"]),
        ("en cas d'incendie", "fr", "keywords", ["incendie"]),
        ("en caso de inundación", "es", "keywords", ["inundación"]),
        # (a) a list of things the customer has (clinica_sonrisa_es's symptoms)
        (
            "el paciente tiene un dolor fuerte, fiebre o la cara hinchada",
            "es",
            "keywords",
            ["dolor fuerte", "fiebre", "cara hinchada"],
        ),
        ("the customer has fever or chest pain", "en", "keywords", ["fever", "chest pain"]),
    ],
)
def test_triggers_are_read_in_four_languages(condition: str, language: str, kind: str, detail: Any) -> None:
    found = classify(condition, language)

    assert isinstance(found, Trigger) and found.kind == kind
    if kind == "keywords":
        assert found.patterns == detail
    elif kind == "amount":
        assert (found.patterns, found.amount_over, found.currency) == detail
    elif kind == "repeated_failures":
        assert found.failures_over == detail
    rule = found.rule("r")
    assert rule.description == condition


@pytest.mark.parametrize(
    "condition",
    [
        *JUDGEMENTS,
        "the customer has a question",  # one thing had is a description, not a list of names
        "the caller has no booking reference or no email",  # what is absent: "email" must not hand off
        "the customer has been waiting for more than an hour",
        "In case of doubt",  # a situation lead naming nothing a customer writes
        "Bei Fragen",
        "bei starkem Gasgeruch im Keller des Hauses",  # more words than a phrase a customer types
        "wenn der Kunde nach dem Tarif fragt",  # asks about something, not for someone
        "Escalate to a manager when the customer is upset",  # "manager" is who takes over, not who is asked for
        "the customer says something the agent cannot handle",
        "the customer wants a refund the policy does not allow",
    ],
)
def test_everything_else_is_a_judgement_kept_verbatim(condition: str) -> None:
    assert classify(condition, "en") == Judgement(condition)


def test_a_derived_keyword_list_drops_the_languages_stopwords_and_generic_words() -> None:
    assert keyword_filter(["le", "de", "cannot", "handled", "the customer", "sparks", "la fuite"], "fr") == [
        "sparks",
        "fuite",
    ]
    assert keyword_filter(["der", "die Rechnung", "kein"], "de") == ["rechnung"]
    assert keyword_filter(["el", "del", "reembolso"], "es") == ["reembolso"]


# -- the drafter ----------------------------------------------------------------------------------


def _spec(conditions: list[str]) -> AgentSpec:
    sop = "## Steps\n1. Ask for the order number.\n2. Answer from the knowledge base.\n"
    return AgentSpec(name="Parcels", sop=sop, handoff={"enabled": True, "conditions": conditions})


MIXED = [
    "le client demande à parler à un conseiller",
    "si el reembolso supera 100 €",
    "nach zwei fehlgeschlagenen Versuchen",
    'the customer says "cancel my contract"',
    *JUDGEMENTS,
]


def _drafted(spec: AgentSpec, rules: list[dict[str, Any]]) -> AgentPlan:
    parsed = SopParser.postprocess(spec, ParsedSop())
    prompt = "You are the Parcels agent. Be brief."
    draft = {"persona": "Parcels agent", "system_prompt": prompt, "handoff_rules": rules}
    return PlanDrafter(lambda: ScriptedModel([Data(draft)])).run(spec, parsed, [])


def test_the_drafter_writes_triggers_as_rules_and_judgements_for_the_model() -> None:
    # What a small model drafts: every condition as keywords, French ones as "le".
    keyworded = [
        {"id": "cannot", "description": JUDGEMENTS[0], "kind": "keywords", "patterns": ["cannot", "handled"]},
        {"id": "le", "description": JUDGEMENTS[2], "kind": "keywords", "patterns": ["le", "de"]},
        {"id": "upset", "description": JUDGEMENTS[1], "kind": "regex", "patterns": ["upset|angry"]},
        {"id": "person", "description": MIXED[0], "kind": "keywords", "patterns": ["le", "conseiller"]},
        {"id": "contract", "description": MIXED[3], "kind": "keywords", "patterns": ["the", "cancel my contract"]},
    ]
    spec = _spec(MIXED)

    plan = _drafted(spec, keyworded)

    kinds = {rule.description: rule.kind for rule in plan.handoff_rules}
    assert kinds == {
        MIXED[0]: "human_request",
        MIXED[1]: "amount",
        MIXED[2]: "repeated_failures",
        MIXED[3]: "keywords",
    }
    contract = next(rule for rule in plan.handoff_rules if rule.kind == "keywords")
    assert contract.patterns == ["cancel my contract"]  # the model's "the" is gone
    assert plan.handoff_judgement == JUDGEMENTS  # verbatim, in order
    section = plan.system_prompt.split(JUDGEMENT_HEADING, 1)[1]
    assert all(f"- {condition}" in section for condition in JUDGEMENTS)
    assert all(condition in request_handoff_description(plan) for condition in JUDGEMENTS)
    assert check_plan(spec, SopParser.postprocess(spec, ParsedSop()), plan) == []


@pytest.mark.parametrize("message", IN_SCOPE_MESSAGES)
def test_in_scope_messages_with_cannot_le_de_handled_do_not_hand_off(message: str) -> None:
    plan = _drafted(_spec(MIXED), [])

    assert matching_rule(plan, message) is None


@pytest.mark.parametrize(
    "message",
    [
        "Je veux parler à un conseiller.",
        "Quiero un reembolso de 150 €",
        "Please cancel my contract today",
        "Ich möchte mit einem Menschen sprechen.",
    ],
)
def test_the_triggers_still_hand_off(message: str) -> None:
    assert matching_rule(_drafted(_spec(MIXED), []), message) is not None


def test_a_judgement_the_model_only_mentioned_is_still_listed_as_when_to_hand_off() -> None:
    spec = _spec([JUDGEMENTS[1]])
    parsed = SopParser.postprocess(spec, ParsedSop())
    prompt = f"You are the Parcels agent. Never hand off just because {JUDGEMENTS[1]}."
    draft = {"persona": "Parcels agent", "system_prompt": prompt}

    plan = PlanDrafter(lambda: ScriptedModel([Data(draft)])).run(spec, parsed, [])

    assert f"{JUDGEMENT_HEADING}\n- {JUDGEMENTS[1]}" in plan.system_prompt


def test_a_handoff_disabled_spec_gets_neither_rules_nor_judgements() -> None:
    spec = AgentSpec(name="Parcels", sop="## Steps\n1. Answer from the knowledge base.\n")
    plan = _drafted(spec, [{"id": "x", "description": "the customer is upset", "kind": "keywords", "patterns": ["x"]}])

    assert (plan.handoff_rules, plan.handoff_judgement) == ([], [])


# -- the reviewer ---------------------------------------------------------------------------------


def _review(plan: AgentPlan, conditions: list[str]) -> list[tuple[str, str | None, str | None]]:
    spec = _spec(conditions)
    return [(i.severity, i.field, i.code) for i in check_plan(spec, SopParser.postprocess(spec, ParsedSop()), plan)]


def _plan(rules: list[HandoffRule], judgement: list[str], prompt: str = "") -> AgentPlan:
    return AgentPlan(
        persona="Parcels agent",
        system_prompt=prompt or "You are the Parcels agent.\n" + "\n".join(f"- {j}" for j in judgement),
        tools=["knowledge_search", "request_handoff", "end_session"],
        handoff_rules=rules,
        handoff_judgement=judgement,
    )


def test_the_reviewer_blocks_a_judgement_condition_compiled_into_keywords() -> None:
    cannot = HandoffRule(id="c", description=JUDGEMENTS[0], kind="keywords", patterns=["cannot", "handled"])

    issues = _review(_plan([cannot], [JUDGEMENTS[0]]), [JUDGEMENTS[0]])

    assert ("blocker", "handoff_rules", "judgement_as_keywords") in issues
    assert ("blocker", "handoff_rules", "generic_keyword") in issues


def test_the_reviewer_blocks_only_keywords_that_say_nothing() -> None:
    phrases = 'the customer says "cancel my contract" or "Sparks"'
    rule = HandoffRule(id="k", description=phrases, kind="keywords", patterns=["Cancel my contract", "Sparks"])
    assert _review(_plan([rule], []), [phrases]) == []
    bad = rule.model_copy(update={"patterns": ["Sparks", "le", "Cannot"]})
    assert _review(_plan([bad], []), [phrases]) == [("blocker", "handoff_rules", "generic_keyword")]


def test_the_reviewer_blocks_a_rule_with_nothing_to_match() -> None:
    phrases = 'the customer says "cancel my contract"'
    empty = HandoffRule(id="k", description=phrases, kind="keywords")
    assert _review(_plan([empty], []), [phrases]) == [("blocker", "handoff_rules", "empty_rule")]


def test_the_drafter_drops_a_drafted_rule_with_nothing_to_match() -> None:
    phrases = 'the customer says "cancel my contract"'
    plan = _drafted(_spec([phrases]), [{"id": "k", "description": phrases, "kind": "keywords", "patterns": []}])
    assert [rule.patterns for rule in plan.handoff_rules] == [["cancel my contract"]]


def test_the_reviewer_blocks_a_judgement_condition_the_model_never_sees() -> None:
    assert _review(_plan([], []), [JUDGEMENTS[1]]) == [("blocker", "handoff_judgement", "judgement_missing")]
    unprompted = _plan([], [JUDGEMENTS[1]], prompt="You are the Parcels agent. Be brief.")
    assert _review(unprompted, [JUDGEMENTS[1]]) == [("major", "system_prompt", "judgement_missing")]


def test_the_reviewer_still_blocks_a_trigger_without_its_rule() -> None:
    assert _review(_plan([], []), [MIXED[1]]) == [("blocker", "handoff_rules", "handoff_condition_unchecked")]


# -- the rehearsal --------------------------------------------------------------------------------


def test_the_simulations_test_each_trigger_both_ways_and_leave_judgement_to_a_model() -> None:
    plan = _drafted(_spec(MIXED), [])

    scenarios = {scenario.id: scenario for scenario in derive_scenarios(plan, ParsedSop(), None)}

    judged = [s for s in scenarios.values() if s.rule in JUDGEMENTS]
    assert {s.rule for s in judged} == set(JUDGEMENTS)
    assert all(s.customer_messages == [] and s.goal for s in judged)  # a simulated customer plays them, not keywords
    quiet = [s for key, s in scenarios.items() if key.startswith("no_handoff_")]
    assert quiet and all(not any(rule_matches(r, s.customer_messages[0]) for r in plan.handoff_rules) for s in quiet)
    for rule in plan.handoff_rules:
        firing = scenarios.get(f"handoff_{rule.id}")
        if rule.kind == "repeated_failures":
            assert firing is None  # one scripted message cannot make the agent fail twice
        else:
            assert firing is not None and rule_matches(rule, firing.customer_messages[0])


# -- the offline creation path --------------------------------------------------------------------


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"model": "scripted"}


OFFLINE_SOP = """# Parcels support SOP

## Goal
Help customers with their parcels.

## Steps
1. Ask the customer for their order number.
2. Answer from the knowledge base.

## Rules
- Never share another customer's address.

## Escalation
- Transfer when the request cannot be handled with your actions.
- Hand off to a human when the customer is upset.
- Hand off to a human when a refund request is over $100.
- Hand off to a human after two failed attempts.
"""


@pytest.mark.anyio
async def test_the_offline_creator_builds_triggers_and_judgements_and_its_tests_pass(platform: Platform) -> None:
    tenant = platform.tenants.create_tenant("Parcels")
    owner = Principal(tenant_id=tenant.tenant_id, subject="owner", scopes=frozenset({Scope.ADMIN}))
    admin = MIXED[:4] + [JUDGEMENTS[2], JUDGEMENTS[4]]
    spec = AgentSpec(name="Parcels", sop=OFFLINE_SOP, handoff={"enabled": True, "conditions": admin})
    agent = platform.agents.create(owner, CreateAgent(spec=spec))

    record = await AgentCreator(platform, offline_model).create(owner.tenant_id, agent.id)

    assert record.succeeded is True, record.failure
    report = record.simulation
    assert report is not None and report.passed, record.tests
    critical = [result for result in report.results if result.critical and result.skipped is None]
    assert critical and all(result.passed for result in critical), critical
    assert any(result.scenario_id.startswith("no_handoff_") and result.passed for result in report.results)
    plan = platform.agents.artifact(owner.tenant_id, agent.id)[1].plan
    assert sorted(rule.kind for rule in plan.handoff_rules) == [
        "amount",
        "amount",
        "human_request",
        "keywords",
        "repeated_failures",
        "repeated_failures",
    ]
    assert plan.handoff_judgement == [
        JUDGEMENTS[2],
        JUDGEMENTS[4],
        "the request cannot be handled with your actions",
        "the customer is upset",
    ]
    # The deployed agent: an in-scope message with "cannot" stays with the agent; a German ask for a
    # person hands off in code.
    quiet = await platform.engine.turn_async(owner.tenant_id, agent.id, None, IN_SCOPE_MESSAGES[1], Channel.TEXT)
    assert quiet.handoff is False
    person = await platform.engine.turn_async(
        owner.tenant_id, agent.id, None, "Ich möchte mit einem Menschen sprechen.", Channel.TEXT
    )
    assert person.handoff is True

    # With a real model, the built plan's judgement conditions reach it in its prompt and its tool: a model
    # that hands off exactly when both carry "the customer is upset" does so on an upset message.
    judge = ScriptedModel(rules=[_hands_off_when_told("the customer is upset")])
    engine = engine_over(platform, lambda spec: judge)
    calm = await engine.turn_async(owner.tenant_id, agent.id, None, "Where is my parcel?", Channel.TEXT)
    upset = await engine.turn_async(owner.tenant_id, agent.id, calm.session_id, "I am so upset!!", Channel.TEXT)
    assert (calm.handoff, upset.handoff) == (False, True)


def _hands_off_when_told(condition: str) -> Rule:
    def rule(prompt: Prompt) -> Step | None:
        if prompt.tool_outcomes():
            return Say("Done.")
        told = condition in (prompt.system_prompt or "") and condition in prompt.tool_descriptions["request_handoff"]
        if told and "upset" in prompt.last_user_text():
            return CallTool("request_handoff", {"reason": condition})
        return Say("Your parcel is on its way.")

    return rule


JOINED = "the passenger is very upset or says they will miss a connection"


@pytest.mark.parametrize(
    ("condition", "parts"),
    [
        (JOINED, ["the passenger is very upset", "says they will miss a connection"]),
        (
            "le client est très mécontent ou menace de laisser un avis",
            ["le client est très mécontent", "menace de laisser un avis"],
        ),
        (
            "el cliente está enfadado o pide hablar con una persona",
            ["el cliente está enfadado", "pide hablar con una persona"],
        ),
        (
            "der Kunde wirkt verärgert oder droht mit einer Klage",
            ["der Kunde wirkt verärgert", "droht mit einer Klage"],
        ),
        # A list of things or people stays one condition.
        ("asks for a person, a manager or a supervisor", ["asks for a person, a manager or a supervisor"]),
        ("mentions sparks, smoke or exposed wires", ["mentions sparks, smoke or exposed wires"]),
        ("tiene un dolor fuerte, fiebre o la cara hinchada", ["tiene un dolor fuerte, fiebre o la cara hinchada"]),
    ],
)
def test_or_joining_two_clauses_makes_two_conditions(condition: str, parts: list[str]) -> None:
    assert split_joined(condition) == parts


def test_a_judgement_joined_to_a_trigger_is_never_compiled_into_the_triggers_keywords() -> None:
    # skyways_airline: "If the passenger is very upset or says they will miss a connection, escalate" became
    # one keyword rule ["miss a connection"] described as "... very upset ...": the judgement rode along.
    spec = AgentSpec(name="SkyWays", sop="## Delays\nExplain the care we offer.\n", handoff={"enabled": True})
    parsed = SopParser.postprocess(spec, ParsedSop(handoff_conditions=[JOINED]))
    prompt = "You are the SkyWays agent. Be brief."
    drafted = {"id": "connection", "description": JOINED, "kind": "keywords", "patterns": ["miss a connection"]}
    draft = {"persona": "SkyWays agent", "system_prompt": prompt, "handoff_rules": [drafted]}

    plan = PlanDrafter(lambda: ScriptedModel([Data(draft)])).run(spec, parsed, [])

    assert [(rule.description, rule.kind, rule.patterns) for rule in plan.handoff_rules] == [
        ("says they will miss a connection", "keywords", ["miss a connection"])
    ]
    assert plan.handoff_judgement == ["the passenger is very upset"]
    assert check_plan(spec, parsed, plan) == []


def test_an_elided_french_conjunction_is_never_an_amount_topic() -> None:
    found = classify("lorsqu'un remboursement dépasse 80 €", "fr")

    assert isinstance(found, Trigger) and found.kind == "amount" and found.patterns == ["remboursement"]


def test_an_amount_topic_comes_from_the_comparators_own_sentence() -> None:
    # Bullets pasted from a wiki run together: words of the sentences before ("card", "end", "chat") were
    # topics, so "my card was charged €1.600" or "end this chat, €2.000 is at stake" handed off.
    found = classify(
        "– Gift cards are non-refundable. ▪ If the customer is abusive, end the chat and escalate to a team lead. "
        "Refunds of more than €1.500 require manager approval",
        "en",
    )

    assert isinstance(found, Trigger) and found.kind == "amount" and found.patterns == ["refund"]
    rule = found.rule("refunds")
    assert not rule_matches(rule, "My card was charged €1.600 twice")
    assert not rule_matches(rule, "Please end the chat, I paid €2.000 already")
    assert rule_matches(rule, "I want a refund of €2.000")


@pytest.mark.parametrize(
    ("condition", "language", "message"),
    [
        (
            "el paciente tiene dolor en el pecho, dificultad para respirar o sangrado abundante",
            "es",
            "Tengo dolor en el pecho desde esta mañana",
        ),
        ("the patient has pain in the chest or a fever", "en", "I have had pain in the chest since noon"),
    ],
)
def test_listed_symptoms_with_articles_inside_are_keywords(condition: str, language: str, message: str) -> None:
    # On main "dolor en el pecho" counted 4 words, over the 3 of a listed item: the whole list was judgement.
    found = classify(condition, language)

    assert isinstance(found, Trigger) and found.kind == "keywords"
    assert rule_matches(found.rule("symptoms"), message)
    assert not rule_matches(found.rule("symptoms"), "Quiero cambiar mi cita del martes")


@pytest.mark.parametrize(
    ("condition", "language", "topic"),
    [
        ("the guest asks for a refund over $200", "en", "refund"),
        ("a passenger claims compensation above €600", "en", "compensation"),
        ("le locataire demande un remboursement de plus de 200 €", "fr", "remboursement"),
        ("el paciente pide un reembolso de más de 200 €", "es", "reembolso"),
        ("der Fahrgast verlangt eine Erstattung über 200 €", "de", "erstattung"),
    ],
)
def test_whom_the_sop_serves_is_never_an_amount_topic(condition: str, language: str, topic: str) -> None:
    # On main "guest" was a topic: "I'm a guest here and my bill is $300" handed off.
    found = classify(condition, language)

    assert isinstance(found, Trigger) and found.kind == "amount" and found.patterns == [topic]


def test_an_elided_article_is_not_part_of_a_keyword_and_a_participle_is_no_topic() -> None:
    # On main: "d'inondation en cours" missed "Inondation en cours chez moi"; "demandée" was the topic
    # of "l'indemnisation demandée dépasse 5 000 €" (no claim for 8 000 € handed off).
    situation = classify("En cas d'incendie ou d'inondation en cours", "fr")
    assert isinstance(situation, Trigger) and situation.patterns == ["incendie", "inondation en cours"]
    assert rule_matches(situation.rule("sinistre"), "Inondation en cours chez moi")

    amount = classify("l'indemnisation demandée dépasse 5 000 €", "fr")
    assert isinstance(amount, Trigger) and amount.patterns == ["indemnisation"]
    assert rule_matches(amount.rule("indemnisation"), "Je demande une indemnisation de 8 000 €")
    assert not rule_matches(amount.rule("indemnisation"), "Ma demandée de 8 000 € pour la voiture")


@pytest.mark.parametrize(
    "condition",
    [
        # On main "honestly" and "offer" became keywords: "any offer for students?" handed off.
        "a passenger asks for something no page covers, the assistant should say so honestly and offer to help",
        "you must say sorry or apologise",
        "l'agent doit dire désolé ou merci",
    ],
)
def test_what_the_agent_says_is_no_keyword_list(condition: str) -> None:
    assert isinstance(classify(condition, "en"), Judgement)


@pytest.mark.parametrize(
    ("condition", "phrase"),
    [
        ("le client vous dit «résilier»", "résilier"),
        ("a passenger says they will miss a connection", "miss a connection"),
    ],
)
def test_what_a_customer_says_still_is(condition: str, phrase: str) -> None:
    found = classify(condition, "fr")

    assert isinstance(found, Trigger) and found.patterns == [phrase]


def test_what_a_customer_says_is_counted_whole_words_and_all() -> None:
    # Articles inside count for what someone says (only a list of things someone has drops them): else
    # "station" alone and "booked assistance did not arrive" became keywords.
    found = classify(
        "a passenger says that booked assistance did not arrive and they are stuck on a train or at a station", "en"
    )

    assert isinstance(found, Judgement)


@pytest.mark.parametrize(
    ("condition", "topic", "over", "currency"),
    [
        ("a refund is ≥ 200 USD", "refund", "200", "USD"),
        ("refunds > $500", "refund", "500", "USD"),
        ("a refund >= 100 €", "refund", "100", "EUR"),
    ],
)
def test_comparison_symbols_are_amount_thresholds(condition: str, topic: str, over: str, currency: str) -> None:
    # On main "≥ 200 USD" and "> $500" were left to the model's judgement.
    found = classify(condition, "en")

    assert isinstance(found, Trigger) and found.kind == "amount"
    assert (found.patterns, found.amount_over, found.currency) == ([topic], Decimal(over), currency)
