"""The AgentCreator's model stages, driven by scripted models over the Acme support example."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from creator_agent.errors import CreationFailed, PlanNotApproved
from creator_agent.stages.draft_plan import PlanDrafter
from creator_agent.stages.parse_sop import SopParser
from creator_agent.stages.review_loop import review_loop
from creator_agent.stages.review_plan import PlanReviewer, check_plan
from oratio.models import Data, Fail, Hang, ScriptedModel
from oratio.runtime.handoff import matching_rule
from schemas import AgentPlan, AgentSpec, ParsedSop, ReviewIssue, StageName, ToolName

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme_support"

STEPS = [
    "Greet the customer and ask for their account number (8 digits) before discussing the account.",
    "Find out what they need: billing, an outage, or a plan change.",
    "Answer from the knowledge base (plans, prices, refund policy, outage checklist). Cite the document you used.",
    "For an outage, walk the customer through the outage checklist before anything else.",
    "Confirm the customer's issue is resolved and close the conversation.",
]
MUST = ["Always confirm the account number before discussing account details.", "Keep replies short."]
NEVER = [
    "Never promise a refund larger than the refund policy allows.",
    "Never give out another customer's information.",
]


def acme_spec(**changes: Any) -> AgentSpec:
    config = json.loads((EXAMPLE / "agent.json").read_text())
    config["sop"] = (EXAMPLE / "sop.md").read_text()
    config.update(changes)
    return AgentSpec.model_validate(config)


def parsed_payload(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "goals": ["Help Acme Home Internet customers with billing, outages and plan changes."],
        "steps": STEPS,
        "information_to_collect": ["account number (8 digits)"],
        "must_rules": MUST,
        "never_rules": NEVER,
        "handoff_conditions": ["the customer asks for a human or a manager"],
        "tone": "Warm, plain English, no jargon.",
        "ambiguities": [],
    }
    payload.update(changes)
    return payload


def acme_parsed() -> ParsedSop:
    spec = acme_spec()
    return SopParser.postprocess(spec, ParsedSop.model_validate(parsed_payload()))


def complete_prompt() -> str:
    lines = ["You are Acme's support agent.", *STEPS, *MUST, *NEVER, "Tone: Warm, plain English, no jargon."]
    return "\n".join(lines)


def plan_payload(**changes: Any) -> dict[str, Any]:
    spec = acme_spec()
    payload: dict[str, Any] = {
        "persona": "Acme Home Internet support",
        "system_prompt": complete_prompt(),
        "greeting": "Hello!",
        "tools": ["knowledge_search", "request_handoff", "end_session"],
        "handoff_rules": [
            {"id": "human", "description": spec.handoff.conditions[0], "kind": "keywords", "patterns": ["human"]},
            {
                "id": "refund",
                "description": spec.handoff.conditions[1],
                "kind": "regex",
                "patterns": [r"refund.*\$\s*(1[0-9]{2}|[2-9][0-9]{2}|[0-9]{4,})"],
            },
            {"id": "safety", "description": spec.handoff.conditions[2], "kind": "keywords", "patterns": ["sparks"]},
        ],
    }
    payload.update(changes)
    return payload


def approve(cycle: int = 1, issues: list[dict[str, str]] | None = None) -> Data:
    return Data({"cycle": cycle, "approved": True, "issues": issues or []})


def reject(message: str, severity: str = "blocker") -> Data:
    return Data({"cycle": 1, "approved": False, "issues": [{"severity": severity, "message": message}]})


# -- parser --------------------------------------------------------------------------------------


def test_parser_adds_missing_handoff_conditions_verbatim_and_cleans_lists() -> None:
    spec = acme_spec()
    model = ScriptedModel([Data(parsed_payload(steps=["  Greet the customer.  ", "greet the customer", ""]))])
    parser = SopParser(lambda: model)

    parsed = parser.run(spec)

    for condition in spec.handoff.conditions:
        assert condition in parsed.handoff_conditions
    assert len(parsed.handoff_conditions) == 3  # the model's copy of the first condition is not repeated
    assert parsed.steps == ["Greet the customer."]
    assert parser.model_calls == 1
    shown = model.prompts[0].last_user_text()
    assert "Never give out another customer's information." in shown  # the SOP itself
    assert "a refund request is over $100" in shown


def test_parser_fixes_what_the_small_local_model_parsed() -> None:
    """The 1.5B local model's parse of the Acme SOP: never rules filed as must rules, "None", and
    conditions restated as "Hand off to a human when ..."."""
    spec = acme_spec()
    payload = parsed_payload(
        must_rules=[*MUST, *NEVER],
        never_rules=["None"],
        handoff_conditions=[
            "Hand off to a human when the customer asks for a human or a manager.",
            "Hand off to a human when a refund request is over $100.",
            "Hand off to a human when the customer mentions a safety issue (sparks, smoke, exposed wires).",
        ],
    )

    parsed = SopParser(lambda: ScriptedModel([Data(payload)])).run(spec)

    assert parsed.must_rules == MUST
    assert parsed.never_rules == NEVER
    assert parsed.handoff_conditions == [
        *spec.handoff.conditions,
        "the customer mentions a safety issue (sparks, smoke, exposed wires)",
    ]


def test_parser_flags_handoff_conditions_when_handoff_is_disabled() -> None:
    spec = acme_spec(handoff={"enabled": False})
    parser = SopParser(lambda: ScriptedModel([Data(parsed_payload())]))

    parsed = parser.run(spec)

    assert any("handoff is disabled" in text for text in parsed.ambiguities)


# -- drafter -------------------------------------------------------------------------------------


def test_drafter_adds_missing_rules_tools_and_keyword_handoff_rules() -> None:
    spec = acme_spec()
    parsed = acme_parsed()
    bare = plan_payload(
        system_prompt="You are Acme's support agent. Be helpful and polite.",
        tools=["end_session"],
        handoff_rules=[
            {"id": "bad", "description": spec.handoff.conditions[1], "kind": "regex", "patterns": ["refund ($"]}
        ],
        model="bedrock:some-guess",
    )
    drafter = PlanDrafter(lambda: ScriptedModel([Data(bare)]))

    plan = drafter.run(spec, parsed, [])

    for text in [*STEPS, *MUST, *NEVER, *spec.handoff.conditions]:
        assert text in plan.system_prompt
    assert "## Rules" in plan.system_prompt
    # collect_info is offered because the parsed SOP lists information to collect, and only that.
    assert plan.tools == [
        ToolName.KNOWLEDGE_SEARCH,
        ToolName.REQUEST_HANDOFF,
        ToolName.END_SESSION,
        ToolName.COLLECT_INFO,
    ]
    assert plan.information_to_collect == parsed.information_to_collect
    assert plan.greeting == spec.text.greeting  # the admin's greeting wins
    assert plan.model is None
    assert {rule.description for rule in plan.handoff_rules} == set(spec.handoff.conditions)
    assert all(rule.patterns != ["refund ($"] for rule in plan.handoff_rules)  # the broken regex rule is gone
    refund = next(rule for rule in plan.handoff_rules if "$100" in rule.description)
    assert refund.kind == "amount"  # an amount threshold is compared, not matched as a keyword
    assert matching_rule(plan, "I want a refund of $250") is not None
    assert matching_rule(plan, "What is your refund policy?") is None
    safety = next(rule for rule in plan.handoff_rules if "sparks" in rule.description)
    assert safety.patterns == ["sparks", "smoke", "exposed wires"]
    assert safety.id == "sparks_smoke_exposed_wires"
    hit = matching_rule(plan, "There are exposed wires near my router!")
    assert hit is not None and hit.id == safety.id
    assert drafter.model_calls == 1
    assert check_plan(spec, parsed, plan) == []  # the repaired plan passes every deterministic check


def test_drafter_drops_handoff_rules_that_check_no_condition_or_match_an_amount_by_keyword() -> None:
    """What the 0.5B local model drafted for the Acme SOP: must-rules turned into handoff rules, a keyword
    rule for "over $100", and the same rule over and over."""
    spec = acme_spec()
    confirm = "Always confirm the account number before discussing account details."
    human = "Always hand off to a human when the customer asks for a human or a manager."
    refund = "Always hand off to a human when a refund request is over $100."
    drafted = [
        {"id": "always_confirm_account_number", "description": confirm, "kind": "keywords", "patterns": ["account"]},
        {"id": "always_hand_off_to_human", "description": human, "kind": "keywords", "patterns": ["human"]},
        {"id": "always_hand_off_to_human", "description": refund, "kind": "keywords", "patterns": ["refund request"]},
        *[{"id": "always_hand_off_to_human", "description": human, "kind": "keywords", "patterns": ["human"]}] * 5,
    ]
    drafter = PlanDrafter(lambda: ScriptedModel([Data(plan_payload(handoff_rules=drafted))]))

    plan = drafter.run(spec, acme_parsed(), [])

    assert matching_rule(plan, "My account number is 12345678") is None
    assert matching_rule(plan, "I'd like to make a refund request for $20") is None
    assert matching_rule(plan, "I want a refund of $250") is not None
    assert matching_rule(plan, "Can I talk to a human?") is not None
    # The person request is a built-in human_request rule, once; the model's keyword copies are gone.
    assert [rule.kind for rule in plan.handoff_rules].count("human_request") == 1
    assert not any(rule.patterns == ["human"] for rule in plan.handoff_rules)
    assert {rule.description for rule in plan.handoff_rules} >= set(spec.handoff.conditions[1:])


def test_drafter_drops_handoff_when_disabled_and_shows_feedback_to_the_model() -> None:
    spec = acme_spec(handoff={"enabled": False})
    parsed = SopParser.postprocess(spec, ParsedSop.model_validate(parsed_payload()))
    model = ScriptedModel([Data(plan_payload())])
    issue = ReviewIssue(severity="blocker", message="The greeting promises a refund.")

    plan = PlanDrafter(lambda: model).run(spec, parsed, [issue])

    assert ToolName.REQUEST_HANDOFF not in plan.tools
    assert plan.handoff_rules == []
    assert "[blocker] The greeting promises a refund." in model.prompts[0].last_user_text()


@pytest.mark.parametrize("configured", [True, False])
def test_call_webhook_is_offered_exactly_when_the_admin_configured_an_endpoint(configured: bool) -> None:
    endpoint = {"url": "https://orders.acme.example/lookup", "description": "Looks up an order by number."}
    spec = acme_spec(webhook_tool=endpoint if configured else None)
    parsed = SopParser.postprocess(spec, ParsedSop.model_validate(parsed_payload()))
    # The model asks for the tool either way; only the admin's configuration decides.
    model = ScriptedModel([Data(plan_payload(tools=["knowledge_search", "call_webhook"]))])

    plan = PlanDrafter(lambda: model).run(spec, parsed, [])

    assert (ToolName.CALL_WEBHOOK in plan.tools) is configured


# -- reviewer ------------------------------------------------------------------------------------


def test_reviewer_blocks_a_plan_missing_a_handoff_condition_even_if_the_model_approves() -> None:
    spec = acme_spec()
    rules = plan_payload()["handoff_rules"][:2]  # no rule for the safety condition
    plan = AgentPlan.model_validate(plan_payload(handoff_rules=rules))
    reviewer = PlanReviewer(lambda: ScriptedModel([approve()]))

    review = reviewer.run(spec, acme_parsed(), plan, 1)

    assert not review.approved
    assert [i.severity for i in review.issues] == ["blocker"]
    assert spec.handoff.conditions[2] in review.issues[0].message
    assert reviewer.model_calls == 1


def test_reviewer_approves_a_complete_plan_and_keeps_minor_issues() -> None:
    plan = AgentPlan.model_validate(plan_payload())
    reviewer = PlanReviewer(lambda: ScriptedModel([approve(7, [{"severity": "minor", "message": "Warmer greeting"}])]))

    review = reviewer.run(acme_spec(), acme_parsed(), plan, 2)

    assert review.approved
    assert review.cycle == 2  # the cycle is ours, not the model's
    assert [i.message for i in review.issues] == ["Warmer greeting"]


def test_reviewer_merges_model_blockers_and_flags_invented_capabilities() -> None:
    plan = AgentPlan.model_validate(plan_payload(greeting="Hi! I will process your refund right away."))
    reviewer = PlanReviewer(lambda: ScriptedModel([reject("Step 4 is out of order")]))

    review = reviewer.run(acme_spec(), acme_parsed(), plan, 1)

    assert not review.approved
    messages = [i.message for i in review.issues]
    assert "Step 4 is out of order" in messages
    assert any("I will process your refund" in m for m in messages)


def test_reviewer_treats_an_unexplained_model_rejection_as_major() -> None:
    plan = AgentPlan.model_validate(plan_payload())
    reviewer = PlanReviewer(lambda: ScriptedModel([Data({"cycle": 1, "approved": False, "issues": []})]))

    review = reviewer.run(acme_spec(), acme_parsed(), plan, 1)

    assert not review.approved
    assert review.issues[0].severity == "major"


# -- review loop ---------------------------------------------------------------------------------


def test_review_loop_runs_two_cycles_even_when_the_first_approves() -> None:
    draft_model = ScriptedModel([Data(plan_payload())])
    review_model = ScriptedModel([approve(), approve()])
    drafter, reviewer = PlanDrafter(lambda: draft_model), PlanReviewer(lambda: review_model)

    plan, reviews = review_loop(acme_spec(), acme_parsed(), drafter, reviewer)

    assert [r.cycle for r in reviews] == [1, 2]
    assert all(r.approved for r in reviews)
    assert drafter.model_calls == 1  # nothing to fix: the same plan is reviewed twice
    assert reviewer.model_calls == 2
    assert plan.persona == "Acme Home Internet support"


def test_review_loop_redrafts_with_the_feedback_of_a_blocking_review() -> None:
    draft_model = ScriptedModel([Data(plan_payload()), Data(plan_payload(persona="Acme support, fixed"))])
    review_model = ScriptedModel([reject("Mention the 8-digit account number in the greeting"), approve(), approve()])
    drafter, reviewer = PlanDrafter(lambda: draft_model), PlanReviewer(lambda: review_model)

    plan, reviews = review_loop(acme_spec(), acme_parsed(), drafter, reviewer)

    assert [r.approved for r in reviews] == [False, True]
    assert plan.persona == "Acme support, fixed"
    assert "Mention the 8-digit account number" in draft_model.prompts[1].last_user_text()
    assert (drafter.model_calls, reviewer.model_calls) == (2, 2)
    assert review_model.pending == 1


def test_review_loop_fails_after_max_cycles_without_approval() -> None:
    draft_model = ScriptedModel([Data(plan_payload())] * 3)
    review_model = ScriptedModel([reject("Still wrong")] * 3)
    drafter, reviewer = PlanDrafter(lambda: draft_model), PlanReviewer(lambda: review_model)

    with pytest.raises(PlanNotApproved) as failed:
        review_loop(acme_spec(), acme_parsed(), drafter, reviewer, max_cycles=3)

    assert failed.value.stage is StageName.REVIEW_PLAN
    assert "not approved after 3 review cycles" in failed.value.reason
    assert "Still wrong" in failed.value.reason
    assert [r.cycle for r in failed.value.reviews] == [1, 2, 3]
    assert (drafter.model_calls, reviewer.model_calls) == (3, 3)


def test_review_loop_rejects_impossible_cycle_bounds() -> None:
    drafter, reviewer = PlanDrafter(ScriptedModel), PlanReviewer(ScriptedModel)
    with pytest.raises(ValueError):
        review_loop(acme_spec(), acme_parsed(), drafter, reviewer, min_cycles=3, max_cycles=2)


# -- model failures ------------------------------------------------------------------------------


def test_a_failing_model_is_a_creation_failure_naming_the_stage() -> None:
    parser = SopParser(lambda: ScriptedModel([Fail(RuntimeError("provider down"))]))

    with pytest.raises(CreationFailed) as failed:
        parser.run(acme_spec())

    assert failed.value.stage is StageName.PARSE_SOP
    assert "RuntimeError" in failed.value.reason
    assert failed.value.to_dict()["error"] == "creation_failed"
    assert parser.model_calls == 1


def test_a_hanging_model_times_out_as_a_creation_failure() -> None:
    drafter = PlanDrafter(lambda: ScriptedModel([Hang()]), timeout=0.05)

    with pytest.raises(CreationFailed) as failed:
        drafter.run(acme_spec(), acme_parsed(), [])

    assert failed.value.stage is StageName.DRAFT_PLAN
    assert "within 0.05s" in failed.value.reason


def test_output_that_does_not_fit_the_schema_is_a_creation_failure() -> None:
    reviewer = PlanReviewer(lambda: ScriptedModel([Data({"cycle": 1, "approved": "perhaps"})]))

    with pytest.raises(CreationFailed) as failed:
        reviewer.run(acme_spec(), acme_parsed(), AgentPlan.model_validate(plan_payload()), 1)

    assert failed.value.stage is StageName.REVIEW_PLAN
    assert "PlanReview did not fit the schema" in failed.value.reason
