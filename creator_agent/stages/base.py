"""What every stage shares: the model-call base class, the tool catalog, and the handoff conditions a plan must honour.

Each stage asks a model for one typed answer, then enforces in code what the SOP and the admin's
spec require, because models paraphrase and drop things. Each stage counts its model calls for the record.
"""

from __future__ import annotations

from typing import Any

from creator_agent import coverage
from creator_agent._llm import ModelFactory, structured_call
from creator_agent.handoff_conditions import split_joined
from oratio import languages
from schemas import Limits
from schemas.agents import AgentSpec
from schemas.creation import ParsedSop, ReviewIssue, StageName
from schemas.plan import AgentPlan, ToolName

DEFAULT_TIMEOUT = 120.0
"""Seconds for one model call of a stage; a creation runs in the background, not in a customer turn."""
BLOCKING = frozenset({"blocker", "major"})
REPORTED_ONLY = frozenset({("action_without_tool", "actions")})
"""(code, field) of major issues that are shown to the admin but do not block the plan: an SOP action no tool
carries out is handled by handoff (the agent is still built), and the admin is told so they can add a tool."""
SYSTEM_PROMPT_MAX = 20_000

TOOL_CATALOG: dict[ToolName, str] = {
    ToolName.KNOWLEDGE_SEARCH: "search the agent's knowledge base and cite the documents used",
    ToolName.REQUEST_HANDOFF: "hand the conversation to a human member of staff, with a reason",
    ToolName.END_SESSION: "end the conversation once the customer is done",
    ToolName.COLLECT_INFO: "record a piece of information the SOP says to collect (from information_to_collect)",
    ToolName.CALL_WEBHOOK: "call the organisation's own system (only when the admin configured one)",
}
"""The only tools a plan may use, described for the model; nothing else can run in an agent."""


def list_limit(field: str, model: type[Any]) -> int:
    """A list field's `max_length` from the schema, so post-processing never builds an invalid model."""
    for meta in model.model_fields[field].metadata:
        if (value := getattr(meta, "max_length", None)) is not None:
            return int(value)
    raise AssertionError(f"{model.__name__}.{field} has no max_length")  # pragma: no cover


def catalog_text() -> str:
    return "\n".join(f"- {tool.value}: {text}" for tool, text in TOOL_CATALOG.items())


def bullets(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items) or "- (none)"


def blocks(issue: ReviewIssue) -> bool:
    """Whether an issue refuses the plan: a blocker or a major one, unless it is only reported (`REPORTED_ONLY`)."""
    return issue.severity in BLOCKING and (issue.code, issue.field) not in REPORTED_ONLY


class Stage:
    """A model-backed stage: its factory, its per-call timeout and how many model calls it made."""

    stage: StageName

    def __init__(self, model_factory: ModelFactory, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._factory = model_factory
        self._timeout = timeout
        self.model_calls = 0

    async def _ask(self, output: type[Any], prompt: str, system_prompt: str) -> Any:
        self.model_calls += 1
        return await structured_call(
            stage=self.stage,
            factory=self._factory,
            output=output,
            prompt=prompt,
            system_prompt=system_prompt,
            seconds=self._timeout,
        )


def handoff_conditions(spec: AgentSpec, parsed: ParsedSop) -> list[str]:
    """The conditions a plan must check in code: the parsed ones (admin's first), only if handoff is enabled."""
    if not spec.handoff.enabled:
        return []
    # Each at most as long as an admin may write one (a rule's description and a judgement item hold it whole).
    # A parsed condition joining two clauses ("is upset or says ...") is two conditions, maybe of two kinds.
    parsed_conditions = (part for c in parsed.handoff_conditions for part in split_joined(c[: Limits.CONDITION_MAX]))
    conditions = [*spec.handoff.conditions, *parsed_conditions]
    return coverage.clean_list(conditions, list_limit("handoff_rules", AgentPlan))


def sop_language(spec: AgentSpec, parsed: ParsedSop) -> str:
    """The SOP's language: the parser's, or detected from the SOP when the parser did not say."""
    return parsed.language if "language" in parsed.model_fields_set else languages.detect(spec.sop)


__all__ = ["DEFAULT_TIMEOUT", "REPORTED_ONLY", "TOOL_CATALOG", "blocks", "handoff_conditions", "sop_language"]
