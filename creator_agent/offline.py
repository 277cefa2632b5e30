"""The AgentCreator without a language model: what the `scripted` provider answers at each stage.

So that `oratio demo` can create and run an agent on a machine with no model at all, the scripted
model answers the creator's structured questions deterministically: it reads the SOP's Markdown
structure (creator_agent.sop_reader: sections under any heading, prose rules, tables, numbered
policies, notes, in en/fr/es/de) for the parser, drafts a bare plan that the
drafter's own post-processing completes from the parsed SOP (steps, rules and one handoff rule per
condition are enforced in code anyway), and approves as a reviewer, leaving the verdict to the
reviewer's code checks. A real model does all of this better; this keeps the pipeline honest offline.
"""

from __future__ import annotations

import re

from creator_agent.sop_reader import parsed_fields, read_sop
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
_NAME = re.compile(r"^Agent name: (?P<name>.+)$", re.MULTILINE)


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


def parse_sop(sop: str) -> dict[str, object]:
    """The SOP's structure as `ParsedSop` fields: creator_agent.sop_reader reads it (docs/creator.md)."""
    return parsed_fields(read_sop(sop))


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
