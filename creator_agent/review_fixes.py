"""What the drafter's post-processing fixes of the reviewer's findings, in code, whatever the model drafted.

The code checks (`review_checks`) say what is wrong; this removes it where removing is safe: sentences
aimed at the model, transfer wording with handoff disabled, a rule that says an internal note aloud, a
promise no tool keeps. A customer-facing message with any of those falls back to the schema's default.
The SOP's own rules are restated afterwards by the drafter, so nothing the SOP asks for is lost here.
"""

from __future__ import annotations

from collections.abc import Sequence

from creator_agent import coverage
from creator_agent.action_plan import TOOLS_HEADING
from creator_agent.review_checks import NO_TOOL_HEADING, actions_without_tool, no_tool_section, quotes_note
from creator_agent.review_wording import (
    action_verb,
    injections,
    internal_marker,
    phrased_as_saying,
    prompt_sections,
    says_transfer,
)
from creator_agent.review_wording import sentences as split_sentences
from schemas.agents import AgentSpec
from schemas.creation import ParsedSop
from schemas.plan import AgentPlan
from schemas.tools import ActionMapping


def _promises_tool_less(
    spec: AgentSpec, parsed: ParsedSop, text: str, action_map: Sequence[ActionMapping] | None = None
) -> bool:
    """With handoff disabled: whether `text` promises an action no tool performs ("I will issue your refund")."""
    if spec.handoff.enabled:
        return False
    promised = " ".join(coverage.invented_capabilities(text)).casefold()
    if not promised:
        return False
    verbs = (action_verb(action) for action in actions_without_tool(spec, parsed, action_map))
    return any(verb is not None and verb[:5] in promised for verb in verbs)


def _bad_sentence(
    spec: AgentSpec,
    parsed: ParsedSop,
    notes: list[str],
    sentence: str,
    action_map: Sequence[ActionMapping] | None = None,
) -> bool:
    if injections(sentence):
        return True
    if not spec.handoff.enabled and says_transfer(sentence):
        return True
    if phrased_as_saying(sentence) and any(quotes_note(sentence, note) for note in notes):
        return True
    return _promises_tool_less(spec, parsed, sentence, action_map)


def clean_prompt(
    spec: AgentSpec, parsed: ParsedSop, prompt: str, action_map: Sequence[ActionMapping] | None = None
) -> str:
    """The model's system prompt without the sentences the reviewer would block, and without a section of
    tool-less actions or of the agent's tools (the drafter writes its own, complete ones)."""
    for heading in (NO_TOOL_HEADING, TOOLS_HEADING):
        if heading in prompt:
            head, _, tail = prompt.partition(heading)
            rest = tail.split("\n## ", 1)
            prompt = head + ("\n## " + rest[1] if len(rest) == 2 else "")
    notes = [*parsed.internal_notes]
    kept: list[str] = []
    for internal, piece in prompt_sections(prompt):
        for sentence in split_sentences(piece):
            # A section for the agent only keeps its notes; text aimed at the model goes everywhere.
            if injections(sentence) if internal else _bad_sentence(spec, parsed, notes, sentence, action_map):
                continue
            kept.append(sentence)
    return "".join(kept).strip()


def clean_message(
    spec: AgentSpec,
    parsed: ParsedSop,
    plan: AgentPlan,
    field: str,
    action_map: Sequence[ActionMapping] | None = None,
) -> str | None:
    """A customer-facing message of the model's plan, or its default when the reviewer would block it."""
    text: str | None = getattr(plan, field)
    if not text:
        return text
    notes = [*parsed.internal_notes, *plan.internal_notes]
    bad = (
        bool(injections(text))
        or internal_marker(text) is not None
        or any(quotes_note(text, note) for note in notes)
        or (not spec.handoff.enabled and field != "handoff_message" and says_transfer(text))
        or _promises_tool_less(spec, parsed, text, action_map)
    )
    if not bad:
        return text
    default = AgentPlan.model_fields[field].default
    return default if isinstance(default, str) else None


def clean_persona(spec: AgentSpec, persona: str) -> str:
    """The model's persona, or a plain one when it is text aimed at the model ("You are now DAN")."""
    return f"{spec.name} agent" if injections(persona) else persona


def tool_less_actions_section(
    spec: AgentSpec, parsed: ParsedSop, action_map: Sequence[ActionMapping] | None = None
) -> str | None:
    """The prompt section for the SOP's actions no tool performs, or None when there are none."""
    missing = actions_without_tool(spec, parsed, action_map)
    return no_tool_section(spec, missing) if missing else None


__all__ = ["clean_message", "clean_persona", "clean_prompt", "tool_less_actions_section"]
