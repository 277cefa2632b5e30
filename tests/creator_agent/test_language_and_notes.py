"""The plan carries the SOP's language and internal notes (issue 17 item 1).

The parser keeps the language measured in code and takes out internal notes a model filed as rules;
the drafter says its fixed messages in that language when the admin gave none, and puts the notes in
the system prompt under a marked section, never among the rules the agent may quote.
"""

from __future__ import annotations

from creator_agent.stages.draft_plan import INTERNAL_HEADING, PlanDrafter
from creator_agent.stages.parse_sop import PARSER_SYSTEM, SopParser
from oratio.languages import messages
from schemas import AgentPlan, AgentSpec, HandoffConfig, ParsedSop

FRENCH_SOP = (
    "## Réservations\n\nDemandez le numéro de réservation. Vérifiez toujours le nom du client.\n"
    "Ne promettez jamais un remboursement sur un tarif non remboursable.\n\n"
    "Note interne : le code de geste commercial est LUMIERE10.\n"
)


def french_spec() -> AgentSpec:
    return AgentSpec(name="Lumiere", sop=FRENCH_SOP, handoff=HandoffConfig(enabled=True))


def bare_plan(**changes: object) -> AgentPlan:
    return AgentPlan.model_validate(
        {"persona": "Lumiere agent", "system_prompt": "Tu es l'agent de l'hôtel Lumière.", **changes}
    )


def test_the_parser_keeps_the_sops_language_and_moves_leaked_notes_out_of_the_rules() -> None:
    # A model that answered "en" and filed the internal note as a must rule.
    answer = ParsedSop(
        must_rules=["Vérifiez toujours le nom du client.", "le code de geste commercial est LUMIERE10."],
        language="en",
    )
    parsed = SopParser.postprocess(french_spec(), answer)
    assert parsed.language == "fr"
    assert parsed.must_rules == ["Vérifiez toujours le nom du client."]
    assert parsed.internal_notes == ["le code de geste commercial est LUMIERE10."]


def test_the_drafter_speaks_the_sops_language_and_marks_internal_notes() -> None:
    spec = french_spec()
    parsed = SopParser.postprocess(spec, ParsedSop(must_rules=["Vérifiez toujours le nom du client."]))
    plan = PlanDrafter.postprocess(spec, parsed, bare_plan())

    assert plan.language == "fr"
    assert (plan.handoff_message, plan.closing_message) == (messages("fr").handoff, messages("fr").closing)
    assert plan.internal_notes == ["le code de geste commercial est LUMIERE10."]
    public, marker, internal = plan.system_prompt.partition(INTERNAL_HEADING)
    assert marker and "LUMIERE10" in internal and "LUMIERE10" not in public
    assert "in French" in public  # reply in the customer's language, French by default


def test_messages_the_model_wrote_are_kept() -> None:
    spec = french_spec()
    parsed = SopParser.postprocess(spec, ParsedSop())
    plan = PlanDrafter.postprocess(spec, parsed, bare_plan(handoff_message="Un instant, je vous passe Marie."))
    assert plan.handoff_message == "Un instant, je vous passe Marie."
    assert plan.closing_message == messages("fr").closing


def test_an_english_sop_keeps_the_english_defaults_and_has_no_internal_section() -> None:
    spec = AgentSpec(name="Desk", sop="Answer from the knowledge base. Never guess a price.")
    plan = PlanDrafter.postprocess(spec, SopParser.postprocess(spec, ParsedSop()), bare_plan())
    defaults = AgentPlan.model_fields
    assert plan.language == "en"
    assert plan.handoff_message == defaults["handoff_message"].default
    assert plan.closing_message == defaults["closing_message"].default
    assert INTERNAL_HEADING not in plan.system_prompt


def test_the_prompts_tell_a_real_model_about_structure_notes_actions_and_language() -> None:
    prompt = SopParser.prompt(french_spec())
    for word in ("internal_notes", "actions", "language"):
        assert word in prompt
    for word in ("headings", "table", "numbered", "Internal", "not rules"):
        assert word in PARSER_SYSTEM
    drafted = PlanDrafter.prompt(french_spec(), SopParser.postprocess(french_spec(), ParsedSop()), [])
    assert "French" in drafted and INTERNAL_HEADING in drafted
