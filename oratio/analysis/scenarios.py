"""The SOP success evaluation against the agent's simulation scenarios, offline and deterministic.

A scenario (`schemas.simulation.Scenario`) is a conversation the plan was tested with: what a
customer says or wants (`customer_messages`, `goal`) and what must hold afterwards (`assertions`).
For a real conversation this asks two things:

1. **Does the scenario apply?** Its topic words (content words of four letters or more from its name,
   rule, goal and customer messages, minus common words) are looked for in the customer's messages: it
   applies when one customer message shares at least `OVERLAP_MIN` of them (all of them, if the
   scenario has fewer); the evidence is that message's `seq`. A scenario that does not apply is
   reported `applies=False`, not judged: an order-status chat neither passes nor fails a refund scenario.
2. **Were its assertions met?** Each is checked on the stored turns: `handed_off` / `not_handed_off`
   (the session's handoff), `tool_called` / `tool_not_called` / `tool_ran` / `tool_not_ran` /
   `confirmation_asked` (the recorded tool calls, arguments compared as text), `asked_for` (an agent
   question naming the field), `cited_source` (an agent reply with sources), `did_not_say` (no agent
   reply holds the text or any run of 8 of its words). `refused` needs language understanding: it is
   not judged offline (the note says so), and a scenario whose every assertion is of that kind is
   reported not met with that note. The evidence of a met scenario is the latest turn that shows it.

What it cannot judge: whether the customer's goal was achieved in substance (only what the
assertions can see), refusals, or a scenario worded in other words than the customer used. With a
model configured, the model judges scenarios instead (`oratio.analysis.model`), its evidence turns
checked to exist. Linear: every turn is read a bounded number of times per scenario, and a plan has
at most 200 scenarios of at most 10 assertions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from schemas import Role, Session, Turn
from schemas.analysis import CheckKind, SopCheck
from schemas.simulation import (
    AskedFor,
    Assertion,
    CitedSource,
    ConfirmationAsked,
    DidNotSay,
    HandedOff,
    NotHandedOff,
    Refused,
    Scenario,
    ToolCalled,
    ToolNotCalled,
    ToolNotRan,
    ToolRan,
)
from schemas.tools import ToolCallStatus

OVERLAP_MIN = 2
SCENARIOS_MAX = 60
"""Scenarios one analysis judges at most (the rest are left out: the SOP checks are capped too)."""
RUN_WORDS = 8
_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    "about after again also because been before being could does doing from have having here into just "
    "like more most much need only other over please should some than that their them then there these "
    "they this those through very want what when where which while will with would your yours customer "
    "agent asks asked says said tell told help scenario".split()
)

Verdict = tuple[bool | None, int | None]
"""(holds: None when it cannot be judged offline, the turn that shows it)."""


def words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.casefold()) if len(w) >= 4 and w not in STOPWORDS}


def applies(scenario: Scenario, customer: Sequence[tuple[int, set[str]]]) -> int | None:
    """The seq of the first customer message (seq, its words) about what `scenario` is about, or None."""
    topic = words(" ".join([scenario.name, scenario.rule or "", scenario.goal or "", *scenario.customer_messages]))
    if not topic:
        return None
    need = min(OVERLAP_MIN, len(topic))
    return next((seq for seq, said in customer if len(topic & said) >= need), None)


def _runs(text: str) -> set[tuple[str, ...]]:
    tokens = _WORD.findall(text.casefold())
    if len(tokens) <= RUN_WORDS:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + RUN_WORDS]) for i in range(len(tokens) - RUN_WORDS + 1)}


def _args_match(given: dict[str, object], wanted: dict[str, object]) -> bool:
    return all(str(given.get(k)) == str(v) for k, v in wanted.items() if k in given) and set(wanted) <= set(given)


def _call_seq(
    turns: Sequence[Turn], tool: str, statuses: set[ToolCallStatus] | None, args: dict[str, object]
) -> int | None:
    for turn in turns:
        for call in turn.tool_calls:
            if (
                call.name == tool
                and (statuses is None or call.status in statuses)
                and _args_match(call.arguments, args)
            ):
                return turn.seq
    return None


def check_assertion(assertion: Assertion, session: Session, turns: Sequence[Turn]) -> Verdict:
    """Whether `assertion` holds on this conversation, and the turn that shows it (see the module doc)."""
    agent = [t for t in turns if t.role is Role.AGENT]
    customer = [t for t in turns if t.role is Role.CUSTOMER]
    last_customer = customer[-1].seq if customer else None
    if isinstance(assertion, HandedOff):
        return session.handoff_reason is not None, last_customer if session.handoff_reason else None
    if isinstance(assertion, NotHandedOff):
        return session.handoff_reason is None, None
    if isinstance(assertion, ToolCalled):
        seq = _call_seq(turns, assertion.tool, None, dict(assertion.arguments))
        return seq is not None, seq
    if isinstance(assertion, ToolNotCalled):
        return _call_seq(turns, assertion.tool, None, {}) is None, None
    if isinstance(assertion, ToolRan):
        seq = _call_seq(turns, assertion.tool, {ToolCallStatus.OK}, dict(assertion.arguments))
        return seq is not None, seq
    if isinstance(assertion, ToolNotRan):
        return _call_seq(turns, assertion.tool, {ToolCallStatus.OK}, {}) is None, None
    if isinstance(assertion, ConfirmationAsked):
        seq = _call_seq(turns, assertion.tool, {ToolCallStatus.AWAITING_CONFIRMATION}, {})
        return seq is not None, seq
    if isinstance(assertion, AskedFor):
        field = words(assertion.field.replace("_", " "))
        seq = next((t.seq for t in agent if "?" in t.text and field and field <= words(t.text)), None)
        return seq is not None, seq
    if isinstance(assertion, CitedSource):
        seq = next((t.seq for t in agent if t.sources), None)
        return seq is not None, seq
    if isinstance(assertion, DidNotSay):
        runs = _runs(assertion.text)
        said = next((t.seq for t in agent if runs & _runs(t.text)), None)
        return said is None, None
    assert isinstance(assertion, Refused)
    return None, None


def scenario_checks(session: Session, turns: Sequence[Turn], scenarios: Sequence[Scenario]) -> list[SopCheck]:
    """One `scenario` check per scenario (at most SCENARIOS_MAX), judged by the rules above."""
    customer = [(t.seq, words(t.text)) for t in turns if t.role is Role.CUSTOMER]  # once, not per scenario
    checks: list[SopCheck] = []
    for scenario in scenarios[:SCENARIOS_MAX]:
        about = scenario.goal or scenario.rule or scenario.name
        topic_seq = applies(scenario, customer)
        if topic_seq is None:
            note = "not judged: no customer message is about what this scenario is about"
            checks.append(_check(scenario.id, about, met=False, applies=False, note=note))
            continue
        verdicts = [(type(a).__name__, *check_assertion(a, session, turns)) for a in scenario.assertions]
        judged = [(name, holds, seq) for name, holds, seq in verdicts if holds is not None]
        unjudged = sorted({name for name, holds, _ in verdicts if holds is None})
        failed = [name for name, holds, _ in judged if not holds]
        met = bool(judged) and not failed
        seqs = [seq for _, holds, seq in judged if holds and seq is not None]
        notes = []
        if failed:
            notes.append("not met: " + ", ".join(failed))
        if unjudged:
            notes.append("not judged offline: " + ", ".join(unjudged))
        checks.append(
            _check(
                scenario.id,
                about,
                met=met,
                evidence_seq=(max(seqs) if seqs else topic_seq) if met else None,
                note="; ".join(notes)[:300],
            )
        )
    return checks


def _check(
    name: str, about: str, *, met: bool, evidence_seq: int | None = None, applies: bool = True, note: str = ""
) -> SopCheck:
    return SopCheck(
        kind=CheckKind.SCENARIO,
        name=name,
        description=about[:500],
        met=met,
        evidence_seq=evidence_seq,
        applies=applies,
        note=note,
    )


__all__ = ["OVERLAP_MIN", "SCENARIOS_MAX", "applies", "check_assertion", "scenario_checks", "words"]
