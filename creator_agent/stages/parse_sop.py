"""Stage 1, parse the SOP: SOP text -> `ParsedSop`, with the admin's handoff conditions kept verbatim."""

from __future__ import annotations

import anyio

from creator_agent import coverage
from creator_agent.list_caps import cap_list, with_notes
from creator_agent.stages.base import Stage, bullets, list_limit
from schemas.agents import AgentSpec
from schemas.creation import ParsedSop, StageName

PARSER_SYSTEM = (
    "You read standard operating procedures (SOPs) for customer-facing support agents and extract what "
    "they require, faithfully and completely. Quote the SOP's own wording where you can; invent nothing. "
    "When the SOP is unclear, contradictory or silent on something an agent would need, say so in "
    "`ambiguities` instead of guessing."
)


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
            "- ambiguities: what the SOP leaves unclear.\n\n"
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
        musts = [rule for rule in parsed.must_rules if not coverage.is_never_rule(rule)]
        nevers = [*parsed.never_rules, *(rule for rule in parsed.must_rules if coverage.is_never_rule(rule))]
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

        notes: list[str] = []

        def clean(field: str, items: list[str]) -> list[str]:
            # Moving "Never ..." rules can push a list over its cap again: it is cut with a note, never silently.
            kept = coverage.clean_list((item for item in items if not coverage.is_placeholder(item)), len(items))
            kept, note = cap_list(field, kept, list_limit(field, ParsedSop), source="parser")
            if note is not None:
                notes.append(note)
            return kept

        lists = {
            "goals": clean("goals", parsed.goals),
            "steps": clean("steps", parsed.steps),
            "information_to_collect": clean("information_to_collect", parsed.information_to_collect),
            "must_rules": clean("must_rules", musts),
            "never_rules": clean("never_rules", nevers),
            "handoff_conditions": clean("handoff_conditions", conditions),
        }
        own = coverage.clean_list((item for item in ambiguities if not coverage.is_placeholder(item)), 10_000)
        return parsed.model_copy(
            update={
                **lists,
                "tone": " ".join(parsed.tone.split()),
                "ambiguities": with_notes(own, notes, list_limit("ambiguities", ParsedSop), "parser"),
            }
        )


__all__ = ["PARSER_SYSTEM", "SopParser"]
