"""The reviewer's code checks of the admin's tools (issue 18): what code can decide about them, code decides.

- `literal_secret` (blocker, in the admin's settings: the creation fails at once): a header value or URL of an
  HTTP tool holds a credential itself instead of a `{{secret:NAME}}` reference. The message names the tool
  and the header, never the value.
- `action_without_tool` (major, field `actions`, reported without blocking): an SOP action no tool carries
  out; the agent is still built and that action is handled by handoff. Shown to the admin so they can add one.
- `write_tool_not_marked` (major): an action that changes something ("cancel", "refund", "change") is carried
  out by a tool not marked `write`, which would run without the customer's confirmation.
- `unknown_action_tool` (blocker): the plan's `action_map` names a tool the plan does not have.
"""

from __future__ import annotations

import re

from creator_agent import action_plan, review_checks
from creator_agent.review_wording import action_verb
from oratio.redaction import is_secret_name, redact_text
from schemas.agents import AgentSpec
from schemas.creation import ParsedSop, ReviewIssue
from schemas.plan import AgentPlan
from schemas.tools import SECRET_REF_PATTERN, HttpTool

_REFERENCE = re.compile(SECRET_REF_PATTERN)
_SCHEMES = frozenset({"bearer", "basic", "token", "apikey", "api-key", "digest"})
"""Authorization schemes: the word before a credential, not a credential."""


def literal_credential(header: str, value: str) -> bool:
    """Whether a header value carries a credential outside `{{secret:...}}` references."""
    rest = _REFERENCE.sub(" ", value)
    if redact_text(rest) != rest:  # credential-shaped: Bearer tokens, JWTs, sk-..., AWS key ids, key=value
        return True
    if not is_secret_name(header):
        return False
    # A secret-named header (Authorization, X-Api-Key): anything but the scheme word is a literal credential.
    return any(word.casefold() not in _SCHEMES for word in rest.split())


def literal_secrets(spec: AgentSpec) -> list[ReviewIssue]:
    """Blocker for each HTTP tool header (or URL) that holds a credential pasted in place of a reference."""
    issues: list[ReviewIssue] = []
    for tool in spec.tools:
        if not isinstance(tool, HttpTool):
            continue
        places = [f"header '{name}'" for name, value in tool.headers.items() if literal_credential(name, value)]
        if redact_text(_REFERENCE.sub(" ", tool.url)) != _REFERENCE.sub(" ", tool.url):
            places.append("URL")
        for place in places:
            message = (
                f"The tool '{tool.name}' has a credential written into its {place}: store it with set_secret and "
                "refer to it as {{secret:NAME}} (the value is not shown here)."
            )
            issues.append(ReviewIssue(severity="blocker", code="literal_secret", field="actions", message=message))
    return issues


def unmapped_actions(spec: AgentSpec, parsed: ParsedSop, plan: AgentPlan) -> list[ReviewIssue]:
    """Major, reported without blocking: each SOP action no tool of the plan carries out."""
    instead = "explains the policy and hands off" if spec.handoff.enabled else "explains how it gets done"
    issues = []
    for action in review_checks.actions_without_tool(spec, parsed, plan.action_map or None):
        message = (
            f"The SOP asks for '{review_checks.quote(action)}' but no tool of the agent carries it out: the agent "
            f"{instead} instead. Add a tool (add_agent_tool) to let the agent do it."
        )
        issues.append(ReviewIssue(severity="major", code="action_without_tool", field="actions", message=message))
    return issues


def action_map_issues(plan: AgentPlan) -> list[ReviewIssue]:
    """A mapping to a tool the plan lacks (blocker); a write-like action on a tool not marked write (major)."""
    tools = {tool.name: tool for tool in action_plan.tools_of(plan)}
    issues: list[ReviewIssue] = []
    for item in plan.action_map:
        if item.tool is None:
            continue
        tool = tools.get(item.tool)
        action = review_checks.quote(item.action)
        if tool is None:
            message = f"The action '{action}' is mapped to '{item.tool}', which is not one of the agent's tools."
            issue = ReviewIssue(severity="blocker", code="unknown_action_tool", field="action_map", message=message)
            issues.append(issue)
        elif not tool.write and action_verb(item.action) is not None:
            message = (
                f"The action '{action}' changes something, but its tool '{tool.name}' is not marked write, so it "
                "would run without the customer's confirmation: mark the tool write (update_agent_tool)."
            )
            issues.append(ReviewIssue(severity="major", code="write_tool_not_marked", field="actions", message=message))
    return issues


__all__ = ["action_map_issues", "literal_credential", "literal_secrets", "unmapped_actions"]
