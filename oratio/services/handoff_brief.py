"""The warm brief for the person taking over: why, the conversation so far, fields collected, tools called.

Extractive and offline: the customer's first message, the last exchanges, the session's collected
fields and the tools the agent called, each clipped, from the one page of recent turns the handoff
reads (never the whole transcript), so it costs the same for a long conversation as for a short one.
When the agent's model can write, `oratio.services.brief_writer` replaces this brief after the turn
with one that adds a model-written `why` and `summary` (the facts here kept); `written_by` says which
kind a brief is: `extractive`, or the model's id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from schemas import BriefLine, HandoffBrief, Role, Turn

TEXT_MAX = 300
RECENT = 6
TOOLS_MAX = 20


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= TEXT_MAX else flat[: TEXT_MAX - 1] + "…"


def extractive_brief(why: str, turns: Sequence[Turn], collected: Mapping[str, str]) -> HandoffBrief:
    """The brief from the session's recent turns (oldest first) and its collected fields."""
    spoken = [t for t in turns if t.role in (Role.CUSTOMER, Role.AGENT)]
    first = next((t.text for t in spoken if t.role is Role.CUSTOMER), "")
    tools: list[str] = []
    for turn in turns:
        for call in turn.tool_calls:
            named = f"{call.name} ({call.status.value})"
            if named not in tools and len(tools) < TOOLS_MAX:
                tools.append(named)
    return HandoffBrief(
        why=why[:1000],
        first_request=_clip(first),
        recent=[BriefLine(role=t.role.value, text=_clip(t.text)) for t in spoken[-RECENT:]],
        collected=dict(collected),
        tools_called=tools,
    )


def brief_text(brief: HandoffBrief) -> str:
    """The brief as plain lines, for the notification and the email."""
    lines = [f"Why: {brief.why}"]
    if brief.summary:
        lines.append(f"Summary ({brief.written_by}): {brief.summary}")
    lines.append(f"First request: {brief.first_request or '(none)'}")
    if brief.collected:
        lines.append("Collected: " + ", ".join(f"{k}={v}" for k, v in sorted(brief.collected.items())))
    if brief.tools_called:
        lines.append("Tools called: " + ", ".join(brief.tools_called))
    if brief.recent:
        lines.append("Last exchanges:")
        lines += [f"  {line.role}: {line.text}" for line in brief.recent]
    written = "extractive (quoted from the conversation; no model wrote it)"
    lines.append(f"Brief written by: {written if brief.written_by == 'extractive' else brief.written_by}")
    return "\n".join(lines)
