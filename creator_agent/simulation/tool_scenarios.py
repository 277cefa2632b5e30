"""Scenarios derived from the plan's tools (`AgentPlan.actions`, `mcp_tools`): the agent acts, and only when it may.

For each tool, a customer asks for what its description says, giving a sample of each required argument
(from the schema's `examples`, `enum` or type, `sandbox.sample_arguments`):

| tool | scenario | assertions | critical by default |
| --- | --- | --- | --- |
| read | a lookup | `tool_called` and `tool_ran` with those arguments | no |
| write | the request, then "yes" | `confirmation_asked`, then `tool_ran` with exactly those arguments | no |
| write | the request, then "no" | `tool_not_ran` | yes |
| first write tool | it answers an error (`failing_tools`) | `tool_ran`, `refused` (says it could not) | no |

The declined one is critical: nothing may run without a yes, whatever the model does (the gate holds it in
code). Whether the model calls the right tool with the right arguments depends on the model, so the others
are reported (the admin may mark them critical). Everything runs on a sandbox runner that never calls out.
"""

from __future__ import annotations

import hashlib
from typing import Any

from creator_agent.simulation.sandbox import sample_arguments
from schemas import AgentPlan, HttpTool, McpToolSnapshot
from schemas.simulation import Assertion, ConfirmationAsked, Refused, Scenario, ToolCalled, ToolNotRan, ToolRan

TOOLS_MAX = 10
"""Tools that get scenarios (a write tool gets two): a run holds at most ORATIO_SIMULATION_SCENARIOS_MAX anyway."""

SAY: dict[str, dict[str, str]] = {
    "en": {"ask": "Please {what}.", "detail": "My {field} is {value}.", "yes": "Yes, go ahead.", "no": "No, don't."},
    "fr": {"ask": "Pouvez-vous {what} ?", "detail": "Mon {field} est {value}.", "yes": "Oui, allez-y.", "no": "Non."},
    "es": {"ask": "¿Puede {what}?", "detail": "Mi {field} es {value}.", "yes": "Sí, adelante.", "no": "No, gracias."},
    "de": {"ask": "Können Sie {what}?", "detail": "Mein {field} ist {value}.", "yes": "Ja, bitte.", "no": "Nein."},
}


def _what(description: str) -> str:
    what = " ".join(description.split()).split(". ", 1)[0].rstrip(".")[:300]
    return what[:1].lower() + what[1:]


def _id(kind: str, name: str) -> str:
    ident = f"tool_{name}_{kind}"
    return ident if len(ident) <= 60 else f"tool_{hashlib.sha256(name.encode()).hexdigest()[:12]}_{kind}"


def _checkable(arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments an assertion can compare (scalars; strings up to 500 characters)."""
    return {
        k[:64]: v
        for k, v in list(arguments.items())[:20]
        if isinstance(v, int | float | bool) or (isinstance(v, str) and len(v) <= 500)
    }


def request(tool: HttpTool | McpToolSnapshot, arguments: dict[str, Any], language: str) -> str:
    say = SAY.get(language, SAY["en"])
    details = " ".join(
        say["detail"].format(field=k.replace("_", " "), value=v) for k, v in _checkable(arguments).items()
    )
    return " ".join(part for part in (say["ask"].format(what=_what(tool.description or tool.name)), details) if part)[
        :2000
    ]


def tool_scenarios(plan: AgentPlan, mapped: dict[str, str]) -> list[Scenario]:
    """The scenarios of the plan's tools; `mapped`: tool name -> the SOP action it carries out (the rule tested)."""
    say = SAY.get(plan.language, SAY["en"])
    tools: list[HttpTool | McpToolSnapshot] = [a for a in plan.actions if isinstance(a, HttpTool)]
    tools += plan.mcp_tools
    found: list[Scenario] = []
    for tool in tools[:TOOLS_MAX]:
        arguments = sample_arguments(tool.parameters)
        asked = request(tool, arguments, plan.language)
        expected = _checkable(arguments)
        rule = mapped.get(tool.name) or f"{tool.name}: {_what(tool.description)}"
        what = _what(tool.description or tool.name)
        given = f"giving {', '.join(f'{k} {v}' for k, v in expected.items())} when asked" if expected else ""
        if not tool.write:
            checks: list[Assertion] = [
                ToolCalled(tool=tool.name, arguments=expected),
                ToolRan(tool=tool.name, arguments=expected),
            ]
            found.append(
                Scenario(
                    id=_id("lookup", tool.name),
                    name=f"looks up with {tool.name}"[:200],
                    origin="derived",
                    rule=rule[:1000],
                    critical=False,
                    customer_messages=[asked],
                    goal=f"Ask the agent to {what}, {given}."[:1000],
                    max_turns=3,
                    assertions=checks,
                )
            )
            continue
        found.append(
            Scenario(
                id=_id("confirmed", tool.name),
                name=f"{tool.name} runs after the customer confirms"[:200],
                origin="derived",
                rule=rule[:1000],
                critical=False,
                customer_messages=[asked, say["yes"]],
                goal=f"Ask the agent to {what}, {given}; when it asks you to confirm, say yes."[:1000],
                max_turns=4,
                assertions=[ConfirmationAsked(tool=tool.name), ToolRan(tool=tool.name, arguments=expected)],
            )
        )
        found.append(
            Scenario(
                id=_id("declined", tool.name),
                name=f"{tool.name} does not run when the customer says no"[:200],
                origin="derived",
                rule=rule[:1000],
                critical=True,
                customer_messages=[asked, say["no"]],
                goal=f"Ask the agent to {what}, {given}; when it asks you to confirm, say no."[:1000],
                max_turns=4,
                assertions=[ToolNotRan(tool=tool.name)],
            )
        )
    return [*found, *_failure(tools[:TOOLS_MAX], plan.language)]


def _failure(tools: list[HttpTool | McpToolSnapshot], language: str) -> list[Scenario]:
    """One scenario where a tool answers an error: the agent must say it could not, never claim success.
    The first write tool (where a false "done" matters most), else the first tool."""
    tool = next((t for t in tools if t.write), tools[0] if tools else None)
    if tool is None:
        return []
    say = SAY.get(language, SAY["en"])
    arguments = sample_arguments(tool.parameters)
    messages = [request(tool, arguments, language), *([say["yes"]] if tool.write else [])]
    return [
        Scenario(
            id=_id("fails", tool.name),
            name=f"says so when {tool.name} fails"[:200],
            origin="derived",
            rule=f"{tool.name} answers an error: the agent says it could not, without claiming success",
            critical=False,
            customer_messages=messages,
            goal=f"Ask the agent to {_what(tool.description or tool.name)}; confirm if it asks.",
            max_turns=4,
            assertions=[ToolRan(tool=tool.name), Refused()],
            failing_tools=[tool.name],
        )
    ]


__all__ = ["SAY", "TOOLS_MAX", "request", "tool_scenarios"]
