"""Folding one analysed session into its day's totals, and reading percentiles back out.

Why histograms: p50 and p95 over a range cannot be computed from per-day percentiles, and keeping
every turn's latency would make a day's record grow with its traffic. A sparse histogram with
log-scale buckets (`RATIO` wide: each bucket's upper edge is 8% above its lower) adds up across days
and agents and answers any percentile within about 4%, in a record of at most a few hundred numbers.

A session's latency samples are its agent turns: the turn's recorded `latency_ms` (voice: end of
speech to first audio) or, for text, the time from the customer's turn to the agent turn after it (the
agent turn is stored once the reply is complete). Tool calls are counted as `dashboard/stats.py` always
has: the confirmation gate's records are steps of the gate, not calls.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from schemas import Channel, Role, Session, Turn
from schemas.analysis import Outcome, SessionAnalysis
from schemas.stats import MAP_KEYS_MAX, OTHER, Latency, StatDay
from schemas.tools import ToolCallStatus

RATIO = 1.08
BUCKET_MAX = 200
"""The last bucket (about 4.8e6 ms: 80 minutes) holds everything slower."""
REASON_CHARS = 120
GATE_STEPS = frozenset({ToolCallStatus.AWAITING_CONFIRMATION, ToolCallStatus.DECLINED, ToolCallStatus.NOT_CONFIRMED})


def bucket(ms: float) -> int:
    """The histogram bucket of a latency: [RATIO**i, RATIO**(i+1)) ms; below 1 ms is bucket 0."""
    if ms < 1:
        return 0
    return min(BUCKET_MAX, int(math.log(ms) / math.log(RATIO)))


def bucket_value(index: int) -> float:
    """The bucket's geometric middle: within RATIO**0.5 (4%) of any latency in it."""
    value: float = RATIO ** (index + 0.5)
    return round(value, 1)


def percentile(histogram: Mapping[str, int], q: float) -> float | None:
    """The q-quantile (0 < q <= 1, nearest rank) of a histogram; None when it is empty."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index in sorted(int(k) for k in histogram):
        seen += histogram[str(index)]
        if seen >= rank:
            return bucket_value(index)
    return None  # unreachable: the counts add up to total


def add_histograms(into: dict[str, int], more: Mapping[str, int]) -> None:
    for key, count in more.items():
        into[key] = into.get(key, 0) + count


def latency_figures(by_channel: Mapping[str, Mapping[str, int]]) -> list[Latency]:
    """p50/p95 per channel, text then voice, each listed even when it has no turns (the chart says so)."""
    return [
        Latency(
            channel=channel.value,
            turns=sum((hist := by_channel.get(channel.value, {})).values()),
            p50_ms=percentile(hist, 0.5),
            p95_ms=percentile(hist, 0.95),
        )
        for channel in (Channel.TEXT, Channel.VOICE)
    ]


def latencies(session: Session, turns: Sequence[Turn]) -> Iterable[float]:
    """The session's agent-turn latencies (see the module docstring)."""
    for before, turn in zip([None, *turns], turns, strict=False):
        if turn.role is not Role.AGENT:
            continue
        if turn.latency_ms is not None:
            yield turn.latency_ms
        elif session.channel is Channel.TEXT and before is not None and before.role is Role.CUSTOMER:
            yield max(0.0, (turn.started_at - before.started_at).total_seconds() * 1000)


def fold(day: StatDay, session: Session, turns: Sequence[Turn], analysis: SessionAnalysis) -> StatDay:
    """`day` with one more analysed session in it (a new record; `day`'s version is kept for the write)."""
    outcomes = dict(day.outcomes)
    outcomes[analysis.outcome.value] = outcomes.get(analysis.outcome.value, 0) + 1
    reasons = dict(day.handoff_reasons)
    handed = session.handoff_reason is not None or analysis.outcome is Outcome.HANDED_OFF
    if session.handoff_reason is not None:
        _count(reasons, session.handoff_reason.strip()[:REASON_CHARS] or OTHER)
    latency = {channel: dict(hist) for channel, hist in day.latency.items()}
    hist = latency.setdefault(session.channel.value, {})
    for ms in latencies(session, turns):
        key = str(bucket(ms))
        hist[key] = hist.get(key, 0) + 1
    if not hist:
        del latency[session.channel.value]
    calls = failures = 0
    failing = dict(day.failing_tools)
    for turn in turns:
        for call in turn.tool_calls:
            if call.status in GATE_STEPS:
                continue
            calls += 1
            if call.status is not ToolCallStatus.OK:
                failures += 1
                _count(failing, call.name)
    duration = session.duration_seconds or 0.0
    return day.model_copy(
        update={
            "conversations": day.conversations + 1,
            "outcomes": outcomes,
            "handoffs": day.handoffs + handed,
            "handoff_reasons": reasons,
            "handling_seconds": day.handling_seconds + max(0.0, duration),
            "latency": latency,
            "tool_calls": day.tool_calls + calls,
            "tool_failures": day.tool_failures + failures,
            "failing_tools": failing,
        }
    )


def _count(counts: dict[str, int], key: str) -> None:
    """One more of `key`, or of OTHER once the map holds MAP_KEYS_MAX keys (the record stays bounded)."""
    if key not in counts and len(counts) >= MAP_KEYS_MAX - 1:
        key = OTHER
    counts[key] = counts.get(key, 0) + 1
