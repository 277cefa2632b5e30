"""Chart figures: one day's running totals per tenant (and per agent), and the report an admin reads.

A `StatDay` is folded in by the post-call analysis (`oratio.services.analysis`) in the same commit that
stores a session's analysis, so a chart over a range reads one record per day instead of every session
and transcript of the range (`oratio.services.stats`). Every map in it is bounded (`MAP_KEYS_MAX`): a
day of free-text handoff reasons or many tools cannot grow a record past what a store item holds.

Latency is kept as a sparse log-scale histogram per channel (`oratio.analysis.daily`): histograms add
up across days and agents, where percentiles do not.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import Field

from schemas._base import Identifier, Model, Record

MAP_KEYS_MAX = 24
"""Distinct handoff reasons (or failing tools) one day keeps; more fold into `OTHER`."""
OTHER = "(other)"
ALL_AGENTS = "all"
"""The `scope` of a tenant's totals over every agent."""


class StatDay(Record):
    """The figures of the sessions that started on `day` (UTC) and have been analysed, for one scope."""

    scope: str = Field(min_length=1, max_length=64, description="An agent id, or ALL_AGENTS")
    day: date
    conversations: int = Field(default=0, ge=0)
    outcomes: dict[str, int] = Field(default_factory=dict, description="Sessions per analysis outcome")
    handoffs: int = Field(default=0, ge=0, description="Sessions in which a handoff was requested")
    handoff_reasons: dict[str, int] = Field(default_factory=dict)
    handling_seconds: float = Field(default=0, ge=0, description="Sum of the sessions' durations")
    latency: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="Per channel: latency histogram bucket -> agent turns"
    )
    tool_calls: int = Field(default=0, ge=0)
    tool_failures: int = Field(default=0, ge=0)
    failing_tools: dict[str, int] = Field(default_factory=dict, description="Failures per tool name")


class Count(Model):
    name: str
    count: int


class Latency(Model):
    channel: str
    turns: int
    p50_ms: float | None
    p95_ms: float | None


class DayFigures(Model):
    day: date
    conversations: int
    handoffs: int
    resolved: int
    tool_calls: int
    tool_failures: int
    latency: list[Latency]


class StatsReport(Model):
    """What GET /api/v1/stats answers: a range's figures, a series per day and what the empty state needs."""

    since: date
    until: date
    agent_id: Identifier | None
    conversations: int
    outcomes: dict[str, int]
    resolution_rate: float | None = Field(description="Resolved / conversations")
    handoff_rate: float | None = Field(description="Conversations with a handoff / conversations")
    top_handoff_reasons: list[Count]
    latency: list[Latency] = Field(description="Per channel: text request to reply; voice end of speech to audio")
    tool_calls: int
    tool_failures: int
    top_failing_tools: list[Count]
    avg_handling_s: float | None
    days: list[DayFigures]
    has_agents: bool = Field(description="The tenant has at least one agent (else: create one)")
    has_sessions: bool = Field(description="The tenant (or agent) has at least one session (else: test-chat it)")
    reads: int = Field(description="Store reads this report took (bounded by the range's days)")


class StatsRange(StrEnum):
    TODAY = "today"
    WEEK = "7d"
    MONTH = "30d"


class StatsQuery(Model):
    """A range by name, or `since` and `until` (UTC days, both included); optionally one agent's."""

    range: StatsRange | None = None
    since: date | None = None
    until: date | None = None
    agent_id: Identifier | None = None
