"""Settling a turn's outcome: the one place a handoff is requested, collected fields stored and a session ended.

Text turns (`ConversationEngine`), both voice backends (cascade through the engine, Nova Sonic on its
own event stream) and the creator's simulations all decide the same things during a turn: a handoff
rule fired or a tool asked for a person, the agent collected fields, the agent ended the
conversation. `settle` applies those decisions in one order with one set of rules, through a small
`SessionEffects` port: the stored session (`StoredSession`) for real conversations, an in-memory
record for a simulation, which stores nothing.

The rules: a handoff wins over an end; a handoff is requested at most once per session (a session
already `handoff_requested` is not asked again, whatever the outcome says); collected fields are
stored once (the outcome's copy is cleared, so an outcome that lives across a whole voice call does
not store them twice); an ended session is not ended again. The agent's last words (when a
`store_reply` callback is given) are stored after the handoff and collected fields and before the
end, so an ended session's transcript ends with the agent's goodbye.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from oratio.runtime import handoff as rules
from oratio.runtime.handoff import HandoffRequester
from oratio.runtime.outcome import TurnOutcome
from oratio.services.sessions import ENDED, SessionService
from schemas import AgentPlan, SessionStatus

ENDED_BY_AGENT = "ended by the agent"


class SessionEffects(Protocol):
    """What settling a turn may do to a session."""

    def request_handoff(self, reason: str) -> None: ...

    def record_collected(self, values: Mapping[str, str]) -> None: ...

    def end(self, reason: str) -> SessionStatus:
        """End the session; returns its status afterwards."""
        ...


@dataclass(frozen=True)
class StoredSession:
    """`SessionEffects` on a stored session: the handoff service alerts people, the session service stores."""

    sessions: SessionService
    handoffs: HandoffRequester
    tenant_id: str
    session_id: str

    def request_handoff(self, reason: str) -> None:
        self.handoffs.request(self.tenant_id, self.session_id, reason)

    def record_collected(self, values: Mapping[str, str]) -> None:
        self.sessions.record_collected(self.tenant_id, self.session_id, values)

    def end(self, reason: str) -> SessionStatus:
        return self.sessions.end(self.tenant_id, self.session_id, reason).status


@dataclass
class Rehearsed:
    """`SessionEffects` that store nothing: a simulation only needs to know what would have happened."""

    handoffs: list[str] = field(default_factory=list)
    collected: dict[str, str] = field(default_factory=dict)
    ended: bool = False

    def request_handoff(self, reason: str) -> None:
        self.handoffs.append(reason)

    def record_collected(self, values: Mapping[str, str]) -> None:
        self.collected.update(values)

    def end(self, reason: str) -> SessionStatus:
        self.ended = True
        return SessionStatus.COMPLETED


@dataclass(frozen=True)
class Settlement:
    """What settling one turn decided and did."""

    status: SessionStatus
    """The session's status afterwards."""
    handoff_reason: str | None
    """Why the conversation goes to a person, when it does (now or already asked for in this turn's outcome)."""
    handoff_requested: bool
    """A handoff was requested by this call (people were alerted now); False if the session had already asked."""
    ended: bool
    """The session was ended by this call."""
    collected: Mapping[str, str]
    """The fields stored by this call."""
    failures: int | None = None
    """Consecutive turns the agent could not help, this one included (None: no model ran, the count stands);
    whoever stores the reply keeps it with the session (`Session.failed_turns`)."""

    @property
    def handoff(self) -> bool:
        return self.status is SessionStatus.HANDOFF_REQUESTED

    def final_words(self, plan: AgentPlan) -> str | None:
        """The plan's scripted last words for this outcome (handoff or closing message), if any."""
        if self.handoff_reason is not None:
            return plan.handoff_message
        if self.ended:
            return plan.closing_message
        return None


def settle(
    effects: SessionEffects,
    status: SessionStatus,
    outcome: TurnOutcome,
    *,
    rule_reason: str | None = None,
    failures: int | None = None,
    plan: AgentPlan | None = None,
    store_reply: Callable[[Settlement], None] | None = None,
) -> Settlement:
    """Apply what a turn decided to a session whose status the caller last saw as `status`.

    `rule_reason` is a handoff rule that fired on the customer's message (checked in code before any
    model ran); it wins over the model's own handoff reason. `failures` is how many turns in a row the
    agent could not help, this one included (`oratio.runtime.handoff.could_not_help`); when it reaches a
    repeated_failures rule of `plan`, that rule hands off. `store_reply`, when given, is called with
    the settlement once the handoff and collected fields are applied and before the session is ended.
    Blocking (it stores): call from a worker thread inside an event loop.
    """
    if rule_reason is None and plan is not None and failures is not None:
        rule = rules.failures_rule(plan, failures)
        rule_reason = rules.rule_reason(rule) if rule is not None else None
    handoff_reason = rule_reason or outcome.handoff_reason
    requested = False
    if handoff_reason is not None and status is not SessionStatus.HANDOFF_REQUESTED:
        # Marks the session and alerts people (idempotent, should two turns race here).
        effects.request_handoff(handoff_reason)
        status = SessionStatus.HANDOFF_REQUESTED
        requested = True
    collected = dict(outcome.collected)
    if collected:
        outcome.collected.clear()
        effects.record_collected(collected)
    ending = handoff_reason is None and outcome.end_requested and status not in ENDED
    settlement = Settlement(
        status=status,
        handoff_reason=handoff_reason,
        handoff_requested=requested,
        ended=ending,
        collected=collected,
        failures=failures,
    )
    if store_reply is not None:
        store_reply(settlement)
    if ending:
        status = effects.end(ENDED_BY_AGENT)
        settlement = Settlement(
            status=status,
            handoff_reason=handoff_reason,
            handoff_requested=requested,
            ended=True,
            collected=collected,
            failures=failures,
        )
    return settlement
