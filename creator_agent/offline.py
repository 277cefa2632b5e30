"""The AgentCreator without a language model: what the `scripted` provider answers at each stage.

So that `oratio demo` can create and run an agent on a machine with no model at all, the scripted
model answers the creator's structured questions deterministically: it reads the SOP's Markdown
sections (goals, steps, rules, escalation, tone) for the parser, drafts a bare plan that the
drafter's own post-processing completes from the parsed SOP (steps, rules and one handoff rule per
condition are enforced in code anyway), and approves as a reviewer, leaving the verdict to the
reviewer's code checks. A real model does all of this better; this keeps the pipeline honest offline.
"""

from __future__ import annotations

import re

from creator_agent.stages.draft_plan import DRAFTER_SYSTEM
from creator_agent.stages.parse_sop import PARSER_SYSTEM
from creator_agent.stages.review_plan import REVIEWER_SYSTEM
from oratio.models.demo import demo_rules
from oratio.models.scripted import Data, Prompt, Rule, ScriptedModel, Step

# SOP text is tenant input: titles and items are taken whole (`.+`) and stripped in code, since a lazy
# `.+?` followed by `\s*$` is quadratic on a long run of spaces; the <sop> block is found with find/rfind.
_SOP_OPEN, _SOP_CLOSE = "<sop>\n", "\n</sop>"
_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+)$")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?P<text>.+)$")
_ASK_FOR = re.compile(
    r"\bask(?:s|ing)? (?:the customer )?for (?:their|the|your|an?) (?P<what>[a-z][a-z ]{2,40}?)"
    r"(?=\s*(?:\(|,|\.|;|$| before\b| and\b| so\b))",
    re.IGNORECASE,
)
_NAME = re.compile(r"^Agent name: (?P<name>.+)$", re.MULTILINE)
_HANDOFF_LEAD = re.compile(
    r"^(?:hand ?off|escalate|transfer)\s+(?:to\s+(?:a\s+)?(?:human|person|agent)\s+)?(?:when|if)\s+", re.I
)


def sections(sop: str) -> dict[str, list[str]]:
    """Heading (lower case) -> its list items, or its paragraph lines when it has no list."""
    found: dict[str, list[str]] = {}
    current = ""
    for line in sop.splitlines():
        if heading := _HEADING.match(line):
            current = heading["title"].strip().lower()
            found.setdefault(current, [])
        elif item := _ITEM.match(line):
            found.setdefault(current, []).append(item["text"].strip())
        elif line.strip() and not found.get(current):
            found.setdefault(current, []).append(line.strip())
    return found


def _pick(found: dict[str, list[str]], *keys: str) -> list[str]:
    return [item for title, items in found.items() if any(k in title for k in keys) for item in items]


def parse_sop(sop: str) -> dict[str, object]:
    found = sections(sop)
    rules = _pick(found, "rule", "policy", "polic")
    steps = _pick(found, "step", "procedure", "flow")
    collect = [m["what"].strip().lower() for step in steps for m in _ASK_FOR.finditer(step)]
    escalation = [_HANDOFF_LEAD.sub("", item).rstrip(".") for item in _pick(found, "escalat", "handoff", "hand off")]
    return {
        "goals": _pick(found, "goal", "purpose"),
        "steps": steps,
        "information_to_collect": list(dict.fromkeys(collect)),
        "must_rules": [r for r in rules if not r.lower().startswith(("never", "do not", "don't"))],
        "never_rules": [r for r in rules if r.lower().startswith(("never", "do not", "don't"))],
        "handoff_conditions": escalation,
        "tone": " ".join(_pick(found, "tone", "voice", "style"))[:500],
        "ambiguities": [],
    }


def _sop_block(text: str) -> str:
    """The text between the first "<sop>" line and the last "</sop>" line, or all of `text`."""
    start, end = text.find(_SOP_OPEN), text.rfind(_SOP_CLOSE)
    if start < 0 or end < start + len(_SOP_OPEN):
        return text
    return text[start + len(_SOP_OPEN) : end]


def _creator_step(prompt: Prompt) -> Step | None:
    if prompt.tool_names:
        return None
    text = prompt.last_user_text()
    if prompt.system_prompt == PARSER_SYSTEM:
        return Data(parse_sop(_sop_block(text)))
    if prompt.system_prompt == DRAFTER_SYSTEM:
        name = _NAME.search(text)
        persona = f"{name['name'] if name else 'Support'} agent"
        intro = f"You are the {persona}. Follow the procedure and rules below, and answer from the knowledge base."
        return Data({"persona": persona, "system_prompt": intro})
    if prompt.system_prompt == REVIEWER_SYSTEM:
        return Data({"cycle": 1, "approved": True, "issues": []})
    return None


def offline_creator_rules() -> list[Rule]:
    return [_creator_step]


def offline_model() -> ScriptedModel:
    """The scripted model for both the creator's stages and the deployed agent's demo behaviour."""
    return ScriptedModel(rules=[*offline_creator_rules(), *demo_rules()])
