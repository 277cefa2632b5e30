"""A handoff's lifecycle after it is requested: acknowledged, taken over, returned to the agent or closed.

The handoff is kept on the session record (`Session.handoff`), so the turn path, which reads the
session anyway, knows without another read whether a person has the conversation (and the agent
must stay quiet: `Session.paused`). Each move is checked against `HANDOFF_TRANSITIONS` (anything
else is InvalidState, saying what state the handoff is in and who moved it there) and is written in
ONE transaction with a system turn in the transcript ("Handoff acknowledged by ...") and its events
(`session.handoff`, the turn's `session.turn`, and `session.status` when the session's status
changes): the live card, MCP subscriptions and the transcript can never disagree. The write is a
compare-and-set on the session's version and on the turn's seq, so a customer turn landing at the
same moment makes this read again and retry: no turn is lost or overwritten.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from oratio.errors import Conflict, InvalidInput, InvalidState
from oratio.services._common import UPDATE_ATTEMPTS, Backends, authorize, require
from oratio.services.sessions import ENDED
from oratio.store.ports import Insert, Replace, Write
from oratio.store.tables import SESSIONS, TURNS
from schemas import (
    HANDOFF_OPEN,
    HANDOFF_TRANSITIONS,
    EventType,
    Handoff,
    HandoffState,
    Limits,
    NewEvent,
    Principal,
    Role,
    Scope,
    Session,
    SessionStatus,
    Turn,
)

logger = logging.getLogger("oratio.services.handoff")

CLOSED_REASON = "closed by {who}"
_VERBS = {
    HandoffState.ACKNOWLEDGED: "acknowledged",
    HandoffState.TAKEN_OVER: "taken over",
    HandoffState.RETURNED: "returned to the agent",
    HandoffState.CLOSED: "closed",
}
_SCOPES = {
    # Picking up an alert is a reader's job, as acknowledging its notification is.
    HandoffState.ACKNOWLEDGED: Scope.SESSIONS_READ,
    HandoffState.TAKEN_OVER: Scope.SESSIONS_WRITE,
    HandoffState.RETURNED: Scope.SESSIONS_WRITE,
    HandoffState.CLOSED: Scope.SESSIONS_WRITE,
}


def moved(handoff: Handoff | None, to: HandoffState, who: str, now: datetime) -> Handoff:
    """`handoff` moved to `to` by `who`, or InvalidState naming the state it is in (and who put it there).

    A session with no open handoff can only be taken over (an admin steps in at will).
    """
    current = handoff.state if handoff is not None and handoff.state in HANDOFF_OPEN else None
    if current is None or handoff is None:
        if to is not HandoffState.TAKEN_OVER:
            raise InvalidState(f"this session has no open handoff to mark {_VERBS[to]}")
        return Handoff(state=to, reason=f"taken over by {who}", requested_at=now, taken_over_by=who, taken_over_at=now)
    if to not in HANDOFF_TRANSITIONS[current]:
        raise InvalidState(f"the handoff is already {_VERBS.get(current, current.value)}{_by(handoff, current)}")
    update: dict[str, object] = {"state": to}
    if to is HandoffState.ACKNOWLEDGED:
        update |= {"acknowledged_by": who, "acknowledged_at": now}
    elif to is HandoffState.TAKEN_OVER:
        update |= {"taken_over_by": who, "taken_over_at": now}
    else:
        update |= {"finished_by": who, "finished_at": now}
    return handoff.model_copy(update=update)


def _by(handoff: Handoff, state: HandoffState) -> str:
    who = {
        HandoffState.ACKNOWLEDGED: handoff.acknowledged_by,
        HandoffState.TAKEN_OVER: handoff.taken_over_by,
    }.get(state)
    return f" by {who}" if who else ""


class HandoffLifecycle:
    """Moves a session's handoff along `HANDOFF_TRANSITIONS` for an admin (MCP tools, dashboard buttons)."""

    def __init__(self, backends: Backends, on_acknowledged: Callable[[Principal, Session], None]) -> None:
        self._b = backends
        self._on_acknowledged = on_acknowledged
        """Also acknowledges the handoff's notification (the notification service's own rules)."""

    def move(self, principal: Principal, session_id: str, to: HandoffState) -> Session:
        """Move the session's handoff to `to` as `principal`; returns the stored session.

        NotFound for an unknown session (another tenant's included), InvalidState for an ended session
        or a move `HANDOFF_TRANSITIONS` does not allow, Forbidden without the scope.
        """
        tenant_id = authorize(principal, _SCOPES[to])
        who = principal.subject
        for _ in range(UPDATE_ATTEMPTS):
            session = require(self._b.store.get(SESSIONS, tenant_id, session_id), "session", session_id)
            if session.status in ENDED:
                raise InvalidState(f"session '{session_id}' has already ended ({session.status.value})")
            now = self._b.clock()
            handoff = moved(session.handoff, to, who, now)
            updated = session.model_copy(update=_session_changes(session, handoff, who, now))
            last = self._b.store.query(TURNS, f"{tenant_id}#{session_id}", descending=True, limit=1).items
            seq = max(session.message_count, last[0].seq if last else 0) + 1
            text = f"Handoff {_VERBS[to]} by {who}."
            turn = Turn(
                tenant_id=tenant_id, session_id=session_id, seq=seq, role=Role.SYSTEM, text=text, started_at=now
            )
            updated = updated.model_copy(update={"message_count": seq})
            writes: list[Write] = [Replace(SESSIONS, updated), Insert(TURNS, turn)]
            try:
                stored_session, _ = self._b.transact(writes, _events(updated, turn, handoff, who, session.status))
            except Conflict:
                continue  # a customer turn or another admin got there first: read again and decide again
            break
        else:
            raise Conflict(f"session '{session_id}' is being changed by others; try again")
        logger.info("session=%s handoff=%s by=%s", session_id, to.value, who)
        if to is HandoffState.ACKNOWLEDGED:
            self._on_acknowledged(principal, stored_session)
        result: Session = stored_session
        return result

    def say(self, principal: Principal, session_id: str, text: str) -> Turn:
        """The person who took the session over says `text` to the customer; returns the stored turn.

        Only while the handoff is `taken_over` (InvalidState otherwise: take the session over first), by
        anyone with `sessions:write` in the tenant. Written like a move: the human turn (`Role.HUMAN`,
        `author` = the principal's subject) and its `session.turn` event in one transaction, conditional on
        the session's version and the turn's seq, so it interleaves with the customer's turns without loss.
        Delivery to the customer's channel follows that event (text: the runtime's receive path; voice: the
        bridge speaks it).
        """
        tenant_id = authorize(principal, Scope.SESSIONS_WRITE)
        text = text.strip()
        if not text:
            raise InvalidInput("the message is empty")
        if len(text) > Limits.TURN_TEXT_MAX:
            raise InvalidInput(f"the message is longer than {Limits.TURN_TEXT_MAX} characters")
        for _ in range(UPDATE_ATTEMPTS):
            session = require(self._b.store.get(SESSIONS, tenant_id, session_id), "session", session_id)
            if session.status in ENDED:
                raise InvalidState(f"session '{session_id}' has already ended ({session.status.value})")
            if session.handoff is None or session.handoff.state is not HandoffState.TAKEN_OVER:
                raise InvalidState("take the session over before sending it messages")
            now = self._b.clock()
            last = self._b.store.query(TURNS, f"{tenant_id}#{session_id}", descending=True, limit=1).items
            seq = max(session.message_count, last[0].seq if last else 0) + 1
            turn = Turn(
                tenant_id=tenant_id,
                session_id=session_id,
                seq=seq,
                role=Role.HUMAN,
                text=text,
                author=principal.subject,
                started_at=now,
                ended_at=now,
            )
            updated = session.model_copy(update={"message_count": seq, "last_activity_at": now})
            event = NewEvent(
                tenant_id=tenant_id,
                type=EventType.SESSION_TURN,
                subject=session_id,
                data={"seq": seq, "role": Role.HUMAN.value, "text": text, "author": principal.subject, "sources": []},
            )
            try:
                _, stored = self._b.transact([Replace(SESSIONS, updated), Insert(TURNS, turn)], [event])
            except Conflict:
                continue
            break
        else:
            raise Conflict(f"session '{session_id}' is being changed by others; try again")
        logger.info("session=%s human message seq=%s by=%s", session_id, seq, principal.subject)
        result: Turn = stored
        return result


def _session_changes(session: Session, handoff: Handoff, who: str, now: datetime) -> dict[str, object]:
    changes: dict[str, object] = {"handoff": handoff, "last_activity_at": now}
    if handoff.state is HandoffState.RETURNED:
        # The agent starts afresh: its count of turns it could not help does not hand off again at once.
        changes |= {"status": SessionStatus.ACTIVE, "failed_turns": 0}
    elif handoff.state is HandoffState.CLOSED:
        changes |= {"status": SessionStatus.COMPLETED, "ended_at": now, "end_reason": CLOSED_REASON.format(who=who)}
    else:
        changes["status"] = SessionStatus.HANDOFF_REQUESTED  # a person has it: no idle timeout either
    return changes


def _events(session: Session, turn: Turn, handoff: Handoff, who: str, before: SessionStatus) -> list[NewEvent]:
    tenant_id, subject = session.tenant_id, session.id
    events = [
        NewEvent(
            tenant_id=tenant_id,
            type=EventType.SESSION_HANDOFF,
            subject=subject,
            data={
                "state": handoff.state.value,
                "by": who,
                "at": turn.started_at.isoformat(),
                "reason": handoff.reason,
                "status": session.status.value,
                "agent_id": session.agent_id,
            },
        ),
        NewEvent(
            tenant_id=tenant_id,
            type=EventType.SESSION_TURN,
            subject=subject,
            data={"seq": turn.seq, "role": turn.role.value, "text": turn.text, "sources": []},
        ),
    ]
    if session.status is not before:
        events.append(
            NewEvent(
                tenant_id=tenant_id,
                type=EventType.SESSION_STATUS,
                subject=subject,
                data={"status": session.status.value, "reason": session.end_reason or f"handoff {handoff.state.value}"},
            )
        )
    return events
