"""The plan's tools: the admin's definitions, the MCP tools discovered for them, and which tool does which action.

The AgentCreator copies the admin's tools (`AgentSpec.tools`) into `AgentPlan.actions` unchanged, so the
tools that serve are the ones the review saw; each MCP server's allowed tools are discovered once per
build (`ToolDiscovery`, implemented by `oratio.actions.mcp_client`) and kept in `AgentPlan.mcp_tools`.
Each action the SOP asks for (`review_checks.required_actions`) is mapped to the tool that carries it out
(`AgentPlan.action_map`): a model may propose the mapping, but only a tool the plan really has is kept;
offline, and for what the model left out, the mapping is by word overlap of the action with the tool's
name and description (the SOP language's stopwords left out), with a threshold so that sharing only
"order" with a lookup tool does not make it the tool that cancels orders.

Everything here is linear in its input: word sets and prefix lookups.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from oratio import languages
from schemas import ActionMapping, AgentPlan, HttpTool, McpServerTool, McpToolSnapshot
from schemas.tools import ToolDefinition

STEM = 5
"""Words compare by their first letters ("refunds", "refund" -> "refun"; "cancellation", "cancel" -> "cance")."""
OVERLAP_MIN = 0.5
"""Share of the action's words a tool's name and description must hold for it to carry the action."""
TOOLS_HEADING = "## Your tools for actions"
"""The system-prompt section that says which tool does which SOP action (`tools_section`)."""
_LIGHT_VERBS = frozenset(
    w[:STEM]
    for w in "issue make process do give handle perform provide faire effectuer hacer realizar tramitar "
    "durchführen vornehmen machen".split()
)
"""Verbs that say little of what is done: the word after them names the action ("issue a refund")."""
_GENERIC = frozenset({"customer", "client", "clients", "kunde", "kunden", "cliente", "clientes", "please", "the"})


class ToolDiscovery(Protocol):
    """Lists an MCP server's tools for a plan (`tools/list`), keeping only the admin's allowed ones.

    Raises `oratio.errors.OratioError` (e.g. the server cannot be reached) with a reason an admin can act on.
    """

    async def discover(self, tenant_id: str, server: McpServerTool) -> list[McpToolSnapshot]: ...


@dataclass(frozen=True)
class PlanTool:
    """One tool the model can call, whatever its kind: what mapping and review need to know."""

    name: str
    description: str
    write: bool


def plan_tools(actions: Sequence[ToolDefinition], mcp_tools: Sequence[McpToolSnapshot]) -> list[PlanTool]:
    """Every tool the model will see for `actions`: the HTTP tools and each discovered MCP tool."""
    found = [PlanTool(a.name, a.description, a.write) for a in actions if isinstance(a, HttpTool)]
    return found + [PlanTool(t.name, t.description, t.write) for t in mcp_tools]


def tools_of(plan: AgentPlan) -> list[PlanTool]:
    return plan_tools(plan.actions, plan.mcp_tools)


@lru_cache(maxsize=1024)
def _stem_list(text: str, language: str) -> tuple[str, ...]:
    """The text's content words, stemmed; cached, as one build compares every action with every tool."""
    stop = languages.stopwords(language) | languages.stopwords("en")
    found = languages.words(text.replace("_", " "))
    return tuple(word[:STEM] for word in found if word not in stop and word not in _GENERIC)


def _stems(text: str, language: str) -> set[str]:
    return set(_stem_list(text, language))


def key_word(action: str, language: str) -> str | None:
    """What the action does: its first word (the verb), or the word after a light verb ("issue a refund")."""
    stems = _stem_list(action, language)
    for index, stem in enumerate(stems):
        if stem not in _LIGHT_VERBS:
            return stem
        if index + 1 < len(stems):
            return stems[index + 1]
    return None


def overlap(action: str, tool: PlanTool, language: str) -> float:
    """The share of the action's words (stems) the tool's name and description hold; 0 when the tool does not
    name what the action does (`key_word`): a lookup tool that shares "order" and "delivery" with "change the
    delivery address of the order" does not change anything."""
    wanted = _stems(action, language)
    held = _stems(f"{tool.name} {tool.description}", language)
    key = key_word(action, language)
    if not wanted or key not in held:
        return 0.0
    return len(wanted & held) / len(wanted)


def best_tool(action: str, tools: Sequence[PlanTool], language: str) -> str | None:
    """The tool whose words cover the action best, if it covers at least `OVERLAP_MIN`; ties go to the
    tool whose own name shares more words with the action, then to the first listed."""
    best: tuple[float, float, int] | None = None
    chosen: str | None = None
    for index, tool in enumerate(tools):
        score = overlap(action, tool, language)
        if score < OVERLAP_MIN:
            continue
        by_name = overlap(action, PlanTool(tool.name, "", tool.write), language)
        key = (score, by_name, -index)
        if best is None or key > best:
            best, chosen = key, tool.name
    return chosen


def map_actions(
    actions: Sequence[str],
    tools: Sequence[PlanTool],
    language: str,
    proposed: Sequence[ActionMapping] = (),
) -> list[ActionMapping]:
    """Each action -> the tool that carries it out, or None (handoff covers it).

    A proposed mapping (a model's) is kept for an action only when its tool is one the plan has; an
    action it leaves out, or maps to a tool that does not exist, is mapped by word overlap.
    """
    names = {tool.name for tool in tools}
    given = {item.action: item.tool for item in proposed if item.tool is None or item.tool in names}
    mapped = []
    for action in (item.strip() for item in actions):
        if not action:
            continue
        tool = given[action] if action in given else best_tool(action, tools, language)
        mapped.append(ActionMapping(action=action[:500], tool=tool))
    return mapped[:30]


def tools_section(tools: Sequence[PlanTool], action_map: Sequence[ActionMapping]) -> str | None:
    """What the system prompt says about the admin's tools: which does which SOP action, and that a write
    action runs only after the customer confirms (the engine enforces it; this keeps the model honest)."""
    if not tools:
        return None
    by_tool: dict[str, list[str]] = {}
    for item in action_map:
        if item.tool is not None:
            by_tool.setdefault(item.tool, []).append(item.action)
    lines = []
    for tool in tools:
        kind = "changes something: needs the customer's explicit yes first" if tool.write else "changes nothing"
        does = by_tool.get(tool.name)
        line = f"- {tool.name} ({kind}): {' '.join(tool.description.split())[:300]}"
        lines.append(line + (f" Use it to: {'; '.join(does)}." if does else ""))
    return (
        f"{TOOLS_HEADING}\n"
        "Call these tools to do what the SOP asks, with arguments the customer gave you; never invent them. "
        "Before a tool that changes something runs, the customer must confirm exactly what will happen: state "
        "it, ask for a yes, and never say it is done until the tool's result says so. If a tool answers with "
        "an error, say so plainly and do not claim success.\n" + "\n".join(lines)
    )


__all__ = [
    "OVERLAP_MIN",
    "TOOLS_HEADING",
    "PlanTool",
    "ToolDiscovery",
    "best_tool",
    "key_word",
    "map_actions",
    "overlap",
    "plan_tools",
    "tools_of",
    "tools_section",
]
