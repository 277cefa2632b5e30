"""A model's over-long lists are merged or cut with a note, and any schema error names the field."""

from __future__ import annotations

import pytest

from creator_agent import review_checks
from creator_agent.errors import CreationFailed
from creator_agent.list_caps import lenient, merge_items
from creator_agent.stages.parse_sop import SopParser
from creator_agent.stages.review_plan import PlanReviewer
from oratio.models import Data, ScriptedModel
from schemas import AgentPlan, ParsedSop, StageName
from tests.creator_agent.test_stages import acme_parsed, acme_spec, parsed_payload, plan_payload

EIGHTY = [f"Always quote policy section {n} when it applies." for n in range(1, 71)] + [
    "Always quote policy section 1 when it applies.",  # a repeat
    "always quote policy section 2 when it applies",  # the same, in other case and punctuation
    *[f"Always quote policy section {n} when it applies to the customer's order." for n in range(3, 11)],  # longer
]


def test_a_model_returning_80_must_rules_is_merged_and_cut_with_a_note_naming_the_field() -> None:
    assert len(EIGHTY) == 80
    model = ScriptedModel([Data(parsed_payload(must_rules=EIGHTY))])

    parsed = SopParser(lambda: model).run(acme_spec())

    assert len(parsed.must_rules) == 50
    # Near-duplicates merged into the longer wording, in first place; nothing merged that differs in a word.
    assert parsed.must_rules[2] == "Always quote policy section 3 when it applies to the customer's order."
    assert parsed.must_rules[49] == "Always quote policy section 50 when it applies."
    note = next(text for text in parsed.ambiguities if text.startswith("must_rules:"))
    assert "gave 80 items, over the cap of 50" in note
    assert "10 repeated or near-duplicate items merged" in note and "20 more omitted" in note
    # The reviewer records it (minor: the creation goes on) naming the field.
    issues = review_checks.list_over_cap(parsed)
    assert [(i.severity, i.code, i.field) for i in issues] == [("minor", "list_over_cap", "must_rules")]


def test_the_model_is_shown_the_cap_but_a_longer_answer_still_validates() -> None:
    schema = lenient(ParsedSop).model_json_schema()

    assert schema["properties"]["must_rules"]["maxItems"] == 50  # a local model's grammar stays bounded
    assert "at most 50 items" in schema["properties"]["must_rules"]["description"]
    assert len(lenient(ParsedSop).model_validate({"must_rules": EIGHTY}).must_rules) == 80
    assert lenient(ParsedSop).__name__ == "ParsedSop"


def test_notes_keep_their_place_when_ambiguities_are_full() -> None:
    payload = parsed_payload(must_rules=EIGHTY, ambiguities=[f"Unclear point {n}" for n in range(20)])

    parsed = SopParser(lambda: ScriptedModel([Data(payload)])).run(acme_spec())

    assert len(parsed.ambiguities) == 20
    assert any(text.startswith("must_rules:") for text in parsed.ambiguities)
    assert any(text.startswith("ambiguities:") for text in parsed.ambiguities)


def test_items_that_differ_in_a_word_are_never_merged() -> None:
    items = ["Hand off refunds over $100", "Hand off refunds over $1000", "hand off refunds over $100."]

    assert merge_items(items) == ["Hand off refunds over $100", "Hand off refunds over $1000"]


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        (parsed_payload(tone="x" * 600), "tone: String should have at most 500 characters"),
        (parsed_payload(must_rules=["Keep replies short.", 7]), "must_rules.1: Input should be a valid string"),
        (parsed_payload(language="english"), "language: String should match pattern"),
    ],
)
def test_a_schema_error_names_the_field_and_the_constraint(payload: dict[str, object], named: str) -> None:
    parser = SopParser(lambda: ScriptedModel([Data(payload)]))

    with pytest.raises(CreationFailed) as failed:
        parser.run(acme_spec())

    assert failed.value.stage is StageName.PARSE_SOP
    assert f"the model's ParsedSop did not fit the schema: {named}" in failed.value.reason
    assert "x" * 100 not in failed.value.reason  # the input itself is never quoted


def test_a_review_error_names_the_field_too() -> None:
    reviewer = PlanReviewer(lambda: ScriptedModel([Data({"cycle": 1, "approved": "perhaps"})]))

    with pytest.raises(CreationFailed) as failed:
        reviewer.run(acme_spec(), acme_parsed(), AgentPlan.model_validate(plan_payload()), 1)

    assert "PlanReview did not fit the schema: approved: Input should be a valid boolean" in failed.value.reason
