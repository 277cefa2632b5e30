"""The `scripted` provider's behaviour: a rule-following agent that needs no model at all.

It lets the platform be tried end to end on a machine with no provider configured, and gives
benchmarks a model whose cost is zero: it searches the knowledge base for every question and
answers from the best passage with its source, hands off when a person is asked for, declines a
request that most of a "Never ..." line of its system prompt describes, and ends the session on
goodbye. It reads the knowledge tool's JSON result (see `oratio.runtime.tools`). Given an admin's
tools (an order lookup, a return), it calls the one the customer's message is about with arguments
read from the message, and reports the answer (`oratio.models.demo_actions`).
"""

from __future__ import annotations

import json
import re

from oratio.models.demo_actions import act, declined, report_action
from oratio.models.scripted import CallTool, Prompt, Rule, Say, ScriptedModel, Step, when_user_says

NOT_FOUND = "I couldn't find that in our documents. Would you like me to connect you with a member of our team?"
NOT_FOUND_ALONE = "I couldn't find that in our documents. Is there anything else I can help with?"
"""`NOT_FOUND` for an agent without `request_handoff` (handoff disabled): it must not offer a person it cannot
reach, which is what its own reviewer refuses in a plan's wording."""
FALLBACK = "I'm a demo agent running without a language model. Ask me about what is in our documents."
ANSWER_CHARS = 300


def _cite_search(prompt: Prompt) -> Step | None:
    """Once `knowledge_search` has answered: its best passage, or that nothing was found."""
    for outcome in prompt.tool_outcomes():
        if outcome.name == "knowledge_search":
            return _cite(outcome.text, NOT_FOUND if "request_handoff" in prompt.tool_names else NOT_FOUND_ALONE)
    return None


def _cite(result: str, not_found: str) -> Step:
    try:
        passages = json.loads(result).get("passages", [])
    except (ValueError, AttributeError):
        passages = []
    if not passages:
        return Say(not_found)
    best = passages[0]
    location = str(best.get("location", ""))
    lines = [line.strip() for line in str(best.get("text", "")).splitlines()]
    # A chunk opens with its heading (the location); the answer is what follows it.
    lines = [line for line in lines if line and not line.startswith("#") and line != location.rpartition(" > ")[2]]
    answer = " ".join(" ".join(lines).split())[:ANSWER_CHARS] or not_found
    where = ", ".join(part for part in (str(best.get("document", "")), location) if part)
    return Say(f"{answer} (source: {where})" if where else answer)


def _offered(tool: str, rule: Rule) -> Rule:
    """Apply `rule` only when the agent's plan gives it `tool`."""

    def gated(prompt: Prompt) -> Step | None:
        return rule(prompt) if tool in prompt.tool_names else None

    return gated


def _search(prompt: Prompt) -> Step | None:
    if prompt.tool_outcomes() or "knowledge_search" not in prompt.tool_names:
        return None
    question = " ".join(re.sub(r"[^\w\s'-]", " ", prompt.last_user_text()).split())[:1000]
    return CallTool("knowledge_search", {"query": question}) if question else None


REFUSAL = "I'm sorry, I can't do that: it is against our policy. Is there anything else I can help with?"
_NEVER_LINE = re.compile(r"^[\s*+-]*(?:never|do not|don't)\b[\s:]*", re.IGNORECASE)
_WORD = re.compile(r"\w{4,}")
_SENTENCE = re.compile(r"\n|(?<=[.!?;])\s+")


def forbidden_stems(system_prompt: str) -> list[set[str]]:
    """The stems (first 5 letters of each word of 4+ letters) of each "Never ..." line or sentence of a prompt."""
    found = []
    for line in _SENTENCE.split(system_prompt):
        if match := _NEVER_LINE.match(line):
            stems = {word[:5] for word in _WORD.findall(line[match.end() :].casefold())}
            if len(stems) >= 2:
                found.append(stems)
    return found


def _refuse(prompt: Prompt) -> Step | None:
    """Decline when the customer's message holds at least 60% of a never-rule's words (by stem)."""
    if prompt.tool_outcomes():
        return None
    said = {word[:5] for word in _WORD.findall(prompt.last_user_text().casefold())}
    for stems in forbidden_stems(prompt.system_prompt or ""):
        if len(stems & said) * 5 >= len(stems) * 3:
            return Say(REFUSAL)
    return None


def demo_rules() -> list[Rule]:
    handoff = CallTool("request_handoff", {"reason": "the customer asked to talk to a person"})
    goodbye = CallTool("end_session", {})
    return [
        _cite_search,
        report_action,
        _offered(
            "request_handoff",
            when_user_says("human", "a person", "real person", "representative", "someone", then=handoff),
        ),
        _offered("end_session", when_user_says("bye", "goodbye", "that's all", "that is all", then=goodbye)),
        declined,
        _refuse,
        act,
        _search,
        lambda prompt: Say(FALLBACK),
    ]


def demo_model(delay: float = 0.0) -> ScriptedModel:
    return ScriptedModel(rules=demo_rules(), delay=delay)
