"""Stage 1, parse the SOP: SOP text -> `ParsedSop`, with the admin's handoff conditions kept verbatim."""

from __future__ import annotations

import anyio

from creator_agent import coverage
from creator_agent.list_caps import cap_list, with_notes
from creator_agent.review_wording import phrased_as_saying
from creator_agent.sop_reader import read_sop
from creator_agent.stages.base import Stage, bullets, list_limit
from schemas.agents import AgentSpec
from schemas.creation import ParsedSop, StageName

PARSER_SYSTEM = (
    "You read standard operating procedures (SOPs) for customer-facing support agents and extract what "
    "they require, faithfully and completely. Quote the SOP's own wording where you can; invent nothing. "
    'Rules are found anywhere: under headings named after topics ("Baggage", "Cancellations"), in '
    "prose sentences (must, always, never, only, do not; doit, jamais; debe, nunca; muss, nie), in table "
    "rows (keep the column headers with the values) and in numbered policies. Dates, versions and owners "
    'of the document are not rules. Text meant for staff only ("Internal:", "Note for agents", "do '
    'not share with customers", HTML comments) goes to internal_notes and nowhere else. When the SOP is '
    "unclear, contradictory or silent on something an agent would need, say so in `ambiguities` instead "
    "of guessing."
)


NOTES_CHECKED = 40
"""Internal notes (the model's and the reader's) that rules are checked against; the plan keeps 20."""


class SopParser(Stage):
    """SOP text -> `ParsedSop`. The admin's handoff conditions are added verbatim if the model missed any."""

    stage = StageName.PARSE_SOP

    def run(self, spec: AgentSpec) -> ParsedSop:
        """Blocking form of `run_async`, for worker threads; not for code inside an event loop."""
        return anyio.run(self.run_async, spec, backend="asyncio")

    async def run_async(self, spec: AgentSpec) -> ParsedSop:
        parsed: ParsedSop = await self._ask(ParsedSop, self.prompt(spec), PARSER_SYSTEM)
        return self.postprocess(spec, parsed)

    @staticmethod
    def prompt(spec: AgentSpec) -> str:
        conditions = bullets(spec.handoff.conditions) if spec.handoff.enabled else "- (handoff is disabled)"
        return (
            f"Agent name: {spec.name}\n"
            f"Description: {spec.description or '(none)'}\n"
            f"Channel: {spec.agent_type.value}\n\n"
            f"Handoff conditions the admin configured:\n{conditions}\n\n"
            "Extract from the SOP below:\n"
            "- goals: what the agent is for;\n"
            "- steps: the procedure's steps, in order, one per entry;\n"
            "- information_to_collect: what the agent must ask the customer for;\n"
            "- must_rules: what the agent must always do;\n"
            "- never_rules: what the agent must never do;\n"
            "- handoff_conditions: when a human must take over (escalation), including every admin condition;\n"
            "- tone: how the agent should sound;\n"
            "- internal_notes: guidance for the agent only, never to be said to a customer;\n"
            "- actions: what the SOP tells the agent to do in a back-office system (issue a refund, "
            "change a booking), in its words;\n"
            "- language: the SOP's language as an ISO 639-1 code (en, fr, es or de);\n"
            "- ambiguities: what the SOP leaves unclear.\n"
            "Keep each entry in the SOP's language. A handoff condition that needs judgement (the customer "
            "is upset, the request is outside what the agent can do) is copied as written, not reduced to "
            "keywords.\n\n"
            f"<sop>\n{spec.sop}\n</sop>"
        )

    @staticmethod
    def postprocess(spec: AgentSpec, parsed: ParsedSop) -> ParsedSop:
        """Trim and de-duplicate every list; put the admin's handoff conditions first, verbatim.

        What small models get wrong is fixed here too: "None" placeholders are dropped, a "Never ..."
        rule filed under must_rules moves to never_rules, and a condition worded "Hand off to a human
        when X" becomes X and is dropped when an admin condition already says it.
        """
        ambiguities = list(parsed.ambiguities)
        # The reader's structure check runs on every SOP: internal notes a model filed as rules are taken
        # out (they would be quoted to customers), and notes and actions it missed are added.
        reading = read_sop(spec.sop)
        notes = coverage.clean_list([*parsed.internal_notes, *reading.internal_notes], NOTES_CHECKED)
        folded = [f" {coverage.normalize(note)} " for note in notes]

        def public(item: str) -> bool:
            # A note filed as a rule is taken out. A rule that tells the agent to *say* a note stays, so the
            # reviewer blocks it (`internal_note_leak`) and the admin sees the SOP contradict itself.
            key = f" {coverage.normalize(item)} "
            if key.strip() == "" or phrased_as_saying(item):
                return True
            return not any(key in note or note in key for note in folded)

        musts = [rule for rule in parsed.must_rules if not coverage.is_never_rule(rule) and public(rule)]
        nevers = [
            rule
            for rule in [*parsed.never_rules, *(rule for rule in parsed.must_rules if coverage.is_never_rule(rule))]
            if public(rule)
        ]
        conditions = [coverage.strip_handoff_lead(c) for c in parsed.handoff_conditions]
        if spec.handoff.enabled:
            admin = spec.handoff.conditions
            conditions = [
                c for c in conditions if not any(coverage.covers(a, c) or coverage.covers(c, a) for a in admin)
            ]
            conditions = [*admin, *conditions]
        elif conditions:
            ambiguities.append(
                "The SOP describes handoff conditions, but handoff is disabled for this agent: "
                "the agent cannot hand conversations to a human."
            )

        cap_notes: list[str] = []

        def clean(field: str, items: list[str]) -> list[str]:
            # Moving "Never ..." rules can push a list over its cap again: it is cut with a note, never silently.
            kept = coverage.clean_list((item for item in items if not coverage.is_placeholder(item)), len(items))
            kept, note = cap_list(field, kept, list_limit(field, ParsedSop), source="parser")
            if note is not None:
                cap_notes.append(note)
            return kept

        lists = {
            "goals": clean("goals", parsed.goals),
            "steps": clean("steps", [step for step in parsed.steps if public(step)]),
            "information_to_collect": clean("information_to_collect", parsed.information_to_collect),
            "must_rules": clean("must_rules", musts),
            "never_rules": clean("never_rules", nevers),
            "handoff_conditions": clean("handoff_conditions", conditions),
            "internal_notes": clean("internal_notes", notes),
            "actions": clean("actions", [*parsed.actions, *reading.actions]),
        }
        own = coverage.clean_list((item for item in ambiguities if not coverage.is_placeholder(item)), 10_000)
        return parsed.model_copy(
            update={
                **lists,
                "tone": " ".join(parsed.tone.split()),
                "ambiguities": with_notes(own, cap_notes, list_limit("ambiguities", ParsedSop), "parser"),
                # The SOP's language is measured in code (oratio.languages), not taken from a model's guess.
                "language": reading.language,
            }
        )


__all__ = ["PARSER_SYSTEM", "SopParser"]
