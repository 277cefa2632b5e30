"""Post-call analysis: what an admin learns about a finished session without reading its transcript.

A `SessionAnalysis` is written once a session has ended (`oratio.services.analysis`), in its own
record keyed by the session's id, so the turn path never writes it and reading a session stays one
get. `method` says how it was written: `rules` (offline, extractive) or `model`; `written_by` says by
what (`rules`, or the model's id). The SOP checks cover the plan's rules, its fields to collect and the
agent's simulation scenarios (docs/analysis.md).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from schemas._base import Identifier, Model, Record, StoredMetadata, UtcDatetime, utcnow

SUMMARY_MAX = 2000
CHECKS_MAX = 120


class Outcome(StrEnum):
    """How a session ended, for the admin; the rules that decide it are in `oratio.analysis.outcome`."""

    RESOLVED = "resolved"
    HANDED_OFF = "handed_off"
    ABANDONED = "abandoned"
    FAILED = "failed"


class Sentiment(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


class CheckKind(StrEnum):
    HANDOFF_RULE = "handoff_rule"
    """A plan handoff rule: met when it fired on a customer message (or the failure count)."""
    COLLECT = "collect"
    """A field of the plan's `information_to_collect`: met when the agent recorded it."""
    SCENARIO = "scenario"
    """A simulation scenario of the agent (derived from the SOP, or the admin's): did this conversation meet
    its goal (the scenario's assertions), when it was about what the scenario is about."""


class SopCheck(Model):
    """One plan rule and whether this session met it, with the turn that shows it (None if not met or unknown)."""

    kind: CheckKind
    name: str = Field(max_length=100, description="The rule id or the field name")
    description: str = Field(default="", max_length=500)
    met: bool
    evidence_seq: int | None = Field(default=None, ge=1)
    applies: bool = Field(
        default=True, description="False: a scenario about something this conversation was not (not judged)"
    )
    judged_by: Literal["rules", "model"] = "rules"
    note: str = Field(default="", max_length=300, description="What was or could not be judged, and why")


class ToolUsage(Model):
    calls: int = Field(default=0, ge=0)
    failures: int = Field(default=0, ge=0, description="Calls that ended in error, timeout, bad arguments or refusal")
    writes_confirmed: int = Field(default=0, ge=0, description="Write actions the customer confirmed before they ran")
    by_name: dict[str, int] = Field(default_factory=dict, max_length=100)


class SessionAnalysis(Record):
    """The analysis of one ended session. `id` is the session's id: one analysis per session."""

    id: Identifier
    agent_id: Identifier
    method: Literal["model", "rules"]
    written_by: str = Field(default="rules", max_length=200, description="`rules`, or the model id that wrote it")
    outcome: Outcome
    summary: str = Field(max_length=SUMMARY_MAX)
    handoff_reason: str | None = Field(default=None, max_length=500)
    sop: list[SopCheck] = Field(default_factory=list, max_length=CHECKS_MAX)
    collected: StoredMetadata = Field(default_factory=dict, description="The session's collected fields")
    extracted: StoredMetadata = Field(
        default_factory=dict,
        description="Plan fields the agent did not record, as the model read them from the transcript (model only)",
    )
    sentiment: Sentiment
    sentiment_score: float = Field(ge=-1.0, le=1.0, description="-1 (negative) .. 1 (positive)")
    tools: ToolUsage = Field(default_factory=ToolUsage)
    turns: int = Field(default=0, ge=0)
    handling_seconds: float | None = Field(default=None, ge=0)
    ended_at: UtcDatetime | None = None
    created_at: UtcDatetime = Field(default_factory=utcnow)
