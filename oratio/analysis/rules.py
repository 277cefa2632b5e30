"""The offline analysis of a finished session: extractive, rule-based, linear in the transcript.

Nothing here calls a model: the summary quotes the conversation, the SOP checks re-run the plan's
handoff rules (the same code the runtime runs, `oratio.runtime.handoff`) on the stored customer
turns, and sentiment counts words from a small lexicon. Every step is linear in the turns it reads
(at most `ANALYSIS_TURNS_MAX`, each bounded by the turn schema), so a hostile transcript costs
no more than a long one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from oratio.analysis.outcome import decide_outcome
from oratio.analysis.scenarios import scenario_checks
from oratio.runtime.handoff import rule_matches, rule_reason
from schemas import AgentPlan, Role, Session, Turn
from schemas.analysis import (
    CHECKS_MAX,
    SUMMARY_MAX,
    CheckKind,
    Outcome,
    Sentiment,
    SessionAnalysis,
    SopCheck,
    ToolUsage,
)
from schemas.simulation import Scenario
from schemas.tools import ToolCallStatus

ANALYSIS_TURNS_MAX = 1000
"""Turns of one session the analysis reads; a longer transcript is analysed on its first 1000."""
QUOTE_MAX = 300
EVIDENCE_VALUE_MIN = 2
"""A collected value shorter than this is not searched for in the transcript (it would match anywhere)."""

POSITIVE = frozenset(
    "thanks thank great perfect excellent awesome helpful appreciate appreciated wonderful good nice happy "
    "love solved fixed works working resolved brilliant fantastic merci gracias danke".split()
)
NEGATIVE = frozenset(
    "angry annoyed terrible awful useless ridiculous worst bad frustrated frustrating unacceptable disappointed "
    "horrible hate broken waste complaint furious upset rubbish poor slow never wrong".split()
)
_WORD = re.compile(r"[a-z]+")
"""Runs of ASCII letters on casefolded text: linear, no backtracking."""

FAILED_STATUSES = frozenset(
    {ToolCallStatus.ERROR, ToolCallStatus.TIMEOUT, ToolCallStatus.INVALID_ARGUMENTS, ToolCallStatus.REFUSED}
)


def analyse(
    session: Session,
    turns: Sequence[Turn],
    plan: AgentPlan | None,
    now: datetime,
    scenarios: Sequence[Scenario] = (),
) -> SessionAnalysis:
    """The `rules` analysis of an ended `session` from its first turns, the plan it ran on (if still known)
    and the simulation scenarios the agent is held to."""
    turns = list(turns[:ANALYSIS_TURNS_MAX])
    checks = sop_checks(session, turns, plan) if plan is not None else []
    checks += scenario_checks(session, turns, scenarios)
    outcome = decide_outcome(session, turns)
    score = sentiment_score(turns)
    return SessionAnalysis(
        tenant_id=session.tenant_id,
        id=session.id,
        agent_id=session.agent_id,
        method="rules",
        outcome=outcome,
        summary=summarise(session, turns, outcome),
        handoff_reason=session.handoff_reason,
        sop=checks[:CHECKS_MAX],
        collected=dict(session.collected),
        sentiment=sentiment_label(score),
        sentiment_score=score,
        tools=tool_usage(turns),
        turns=len(turns),
        handling_seconds=session.duration_seconds,
        ended_at=session.ended_at,
        created_at=now,
    )


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= QUOTE_MAX else flat[: QUOTE_MAX - 1] + "…"


def summarise(session: Session, turns: Sequence[Turn], outcome: Outcome) -> str:
    """What the customer first asked, the agent's last words, and how it ended: quoted, never invented."""
    customer = [t for t in turns if t.role is Role.CUSTOMER]
    agent = [t for t in turns if t.role is Role.AGENT]
    parts = [f"{session.channel.value.capitalize()} session, {len(customer)} customer message(s)."]
    if customer:
        parts.append(f'The customer asked: "{_quote(customer[0].text)}".')
    if agent:
        parts.append(f'The agent last said: "{_quote(agent[-1].text)}".')
    if session.collected:
        parts.append("Collected: " + ", ".join(sorted(session.collected)) + ".")
    ending = outcome.value.replace("_", " ")
    if session.handoff_reason:
        ending += f" ({_quote(session.handoff_reason)})"
    elif session.end_reason:
        ending += f" ({_quote(session.end_reason)})"
    parts.append(f"Outcome: {ending}.")
    return " ".join(parts)[:SUMMARY_MAX]


def sop_checks(session: Session, turns: Sequence[Turn], plan: AgentPlan) -> list[SopCheck]:
    """Each handoff rule (did it fire, on which customer turn) and each field to collect (was it recorded)."""
    customer = [t for t in turns if t.role is Role.CUSTOMER]
    checks: list[SopCheck] = []
    for rule in plan.handoff_rules:
        if rule.kind == "repeated_failures":
            met = session.handoff_reason == rule_reason(rule)[:500]
            seq = _last_agent_seq(turns) if met else None
        else:
            seq = next((t.seq for t in customer if rule_matches(rule, t.text)), None)
            met = seq is not None
        checks.append(
            SopCheck(
                kind=CheckKind.HANDOFF_RULE, name=rule.id, description=rule.description[:500], met=met, evidence_seq=seq
            )
        )
    for name in plan.information_to_collect:
        value = session.collected.get(name)
        seq = _mentioned(turns, str(value)) if value is not None else None
        checks.append(SopCheck(kind=CheckKind.COLLECT, name=name[:100], met=value is not None, evidence_seq=seq))
    return checks


def _last_agent_seq(turns: Sequence[Turn]) -> int | None:
    return next((t.seq for t in reversed(turns) if t.role is Role.AGENT), None)


def _mentioned(turns: Sequence[Turn], value: str) -> int | None:
    """The first turn that contains `value` (casefolded substring search: linear per turn)."""
    needle = value.strip().casefold()
    if len(needle) < EVIDENCE_VALUE_MIN:
        return None
    return next((t.seq for t in turns if needle in t.text.casefold()), None)


def sentiment_score(turns: Sequence[Turn]) -> float:
    """(positive - negative) / (positive + negative) over the customer's words; 0.0 when none count."""
    positive = negative = 0
    for turn in turns:
        if turn.role is not Role.CUSTOMER:
            continue
        for word in _WORD.findall(turn.text.casefold()):
            positive += word in POSITIVE
            negative += word in NEGATIVE
    total = positive + negative
    return 0.0 if total == 0 else round((positive - negative) / total, 3)


def sentiment_label(score: float) -> Sentiment:
    if score >= 0.25:
        return Sentiment.POSITIVE
    if score <= -0.25:
        return Sentiment.NEGATIVE
    return Sentiment.NEUTRAL


def tool_usage(turns: Sequence[Turn]) -> ToolUsage:
    names: Counter[str] = Counter()
    failures = confirmed = 0
    for turn in turns:
        for call in turn.tool_calls:
            names[call.name] += 1
            failures += call.status in FAILED_STATUSES
            confirmed += call.write and call.confirmed
    return ToolUsage(
        calls=sum(names.values()),
        failures=failures,
        writes_confirmed=confirmed,
        by_name=dict(names.most_common(100)),
    )
