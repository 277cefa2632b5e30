"""Handoff: a conversation asks for a human, and the people and systems who must act are told.

The customer is mid-turn when this runs, so only writes happen inline, in ONE store transaction:
the session becomes `handoff_requested`, the admin notification is stored, and one outbox row per
outside delivery (email to the agent's `handoff.notify_emails`, a signed webhook to
`handoff.webhook_url`) is stored with them. A crash can therefore never leave a handed-over
session without its notification or its alerts. Sending is the outbox dispatcher's job
(`oratio.services.dispatcher`): fair across tenants, capped per destination, retried with
backoff, `dead` (and an `error` event on the session) when it keeps failing. Nothing here can
fail the customer's turn because a receiver is slow or down.

A handoff is requested once per session: the transaction is conditional on the session's version,
so of two concurrent requests (two runtimes, or a model and a rule at once) exactly one wins and
tells people; the other, and any later one, does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from oratio.errors import Conflict, InvalidState, NotFound, OratioError
from oratio.notify.email import EmailSender
from oratio.notify.webhooks import WebhookSender
from oratio.services._common import UPDATE_ATTEMPTS, Backends, require
from oratio.services.brief_writer import BriefJob, BriefWriter
from oratio.services.dispatcher import OutboxDispatcher
from oratio.services.handoff_brief import brief_text, extractive_brief
from oratio.services.handoff_lifecycle import HandoffLifecycle
from oratio.services.notifications import NotificationService
from oratio.services.outbox import OutboxLimits, email_delivery, webhook_delivery
from oratio.services.session_timeouts import IdleSweeper
from oratio.services.sessions import ENDED, SessionService
from oratio.store.ports import Insert, Replace, Write
from oratio.store.tables import AGENTS, NOTIFICATIONS, OUTBOX, SESSIONS, TENANTS, TURNS
from schemas import (
    Agent,
    Channel,
    EmailContent,
    EventType,
    Handoff,
    HandoffBrief,
    HandoffState,
    Limits,
    Notification,
    NotificationType,
    OutboxDelivery,
    Principal,
    Priority,
    Session,
    SessionStatus,
    Turn,
)

logger = logging.getLogger("oratio.services.handoff")

WEBHOOK_EVENT = "handoff.requested"
ESCALATION_EVENT = "handoff.escalated"
SWEEP_PAGE = 200
BRIEF_TURNS = 100
REASON_MAX = 1000


class HandoffService:
    """Requests handoffs; their email and webhook go through the durable outbox.

    `outbox` is the platform's dispatcher; without one, the service builds its own over the given
    senders (tests, tools). Either way it is woken after each handoff, and starts on first use.
    """

    def __init__(
        self,
        backends: Backends,
        sessions: SessionService,
        notifications: NotificationService,
        email: EmailSender | None = None,
        webhooks: WebhookSender | None = None,
        *,
        outbox: OutboxDispatcher | None = None,
        limits: OutboxLimits | None = None,
        briefs: BriefWriter | None = None,
    ) -> None:
        self._b = backends
        self.briefs = briefs
        """Writes the model brief after the turn (when the agent's model can); None: briefs stay extractive."""
        self._sessions = sessions
        self._notifications = notifications
        self._email_on = email is not None
        self._webhooks_on = webhooks is not None
        self.outbox = outbox or OutboxDispatcher(backends, email=email, webhooks=webhooks, limits=limits)
        self._lifecycle = HandoffLifecycle(backends, self._acknowledge_notification_of)

    # -- the request, on the customer's turn ------------------------------------------------------

    def request(self, tenant_id: str, session_id: str, reason: str) -> None:
        """Hand the session to a human. Idempotent: does nothing if the session already asked.

        Raises NotFound for an unknown session and InvalidState for one that has ended. Email and
        webhook problems never raise here; they are retried, and recorded as `error` events on the
        session when they give up.
        """
        reason = " ".join(reason.split())[:REASON_MAX] or "no reason given"
        turns: list[Turn] | None = None
        for _ in range(UPDATE_ATTEMPTS):
            session = require(self._b.store.get(SESSIONS, tenant_id, session_id), "session", session_id)
            if session.status is SessionStatus.HANDOFF_REQUESTED:
                logger.info("session %s already asked for a human; nothing to do", session_id)
                return
            if session.status in ENDED:
                raise InvalidState(f"session '{session_id}' has already ended ({session.status.value})")
            if turns is None:  # one page of the newest turns, once: the brief never reads the whole transcript
                page = self._b.store.query(TURNS, f"{tenant_id}#{session_id}", descending=True, limit=BRIEF_TURNS)
                turns = page.items[::-1]
            brief = extractive_brief(reason, turns, session.collected)
            agent = self._b.store.get(AGENTS, tenant_id, session.agent_id)
            notification = self._notification(session, agent, reason, brief)
            deliveries = self._deliveries(agent, session, notification, reason, brief) if agent is not None else []
            now = self._b.clock()
            handoff = Handoff(
                state=HandoffState.REQUESTED,
                reason=reason,
                requested_at=now,
                notification_id=notification.id,
                brief=brief,
                pause=agent.spec.handoff.pause_on_handoff if agent is not None else True,
            )
            moved = session.model_copy(
                update={
                    "status": SessionStatus.HANDOFF_REQUESTED,
                    "last_activity_at": now,
                    "handoff": handoff,
                    "handoff_reason": reason[:500],
                }
            )
            writes: list[Write] = [Replace(SESSIONS, moved), Insert(NOTIFICATIONS, notification)]
            writes += [Insert(OUTBOX, delivery) for delivery in deliveries]
            try:
                stored = self._b.store.transact(writes)
            except Conflict:
                latest = self._b.store.get(SESSIONS, tenant_id, session_id)
                if latest is not None and latest.version == session.version:
                    raise  # not a lost race: the write itself was refused
                continue  # the session moved under us: look again (it may have asked already)
            break
        else:
            raise Conflict(f"session '{session_id}' is being changed by others; try again")
        self._b.emit(
            tenant_id, EventType.SESSION_STATUS, session_id, status=SessionStatus.HANDOFF_REQUESTED.value, reason=reason
        )
        self._b.emit(
            tenant_id,
            EventType.SESSION_HANDOFF,
            session_id,
            state=HandoffState.REQUESTED.value,
            by=None,
            at=now.isoformat(),
            reason=reason,
            status=SessionStatus.HANDOFF_REQUESTED.value,
            agent_id=session.agent_id,
        )
        self._notifications.announce(stored[1])
        if deliveries:
            self.outbox.wake()
        if agent is not None:
            self._record_unconfigured(agent, session, notification)
        if self.briefs is not None:  # a put on a queue: the model writes after this turn has returned
            self.briefs.submit(BriefJob(tenant_id, session_id, session.agent_id, now))

    def _notification(self, session: Session, agent: Agent | None, reason: str, brief: HandoffBrief) -> Notification:
        agent_name = agent.name if agent is not None else "(deleted agent)"
        # A caller on a voice line is holding on right now; a chat customer can wait a little.
        priority = Priority.URGENT if session.channel is Channel.VOICE else Priority.HIGH
        return self._notifications.new(
            session.tenant_id,
            NotificationType.HANDOFF,
            f"Handoff requested: {agent_name}"[:200],
            body=_body(session, agent_name, reason, brief)[: Limits.NOTIFICATION_TEXT_MAX],
            priority=priority,
            agent_id=session.agent_id,
            session_id=session.id,
        )

    def _deliveries(
        self, agent: Agent, session: Session, notification: Notification, reason: str, brief: HandoffBrief
    ) -> list[OutboxDelivery]:
        about: dict[str, Any] = {"notification_id": notification.id, "session_id": session.id}
        more = {"priority": notification.priority.value, "brief": brief.model_dump(mode="json")}
        return self._alerts(agent, session, reason, WEBHOOK_EVENT, "Handoff requested", about, brief=brief, more=more)

    # -- the lifecycle, for admins (HANDOFF_TRANSITIONS) -----------------------------------------

    def acknowledge(self, principal: Principal, session_id: str) -> Session:
        """A person is picking the conversation up; its handoff notification is acknowledged with it."""
        return self._lifecycle.move(principal, session_id, HandoffState.ACKNOWLEDGED)

    def take_over(self, principal: Principal, session_id: str) -> Session:
        """A person has the conversation now: the agent stops replying (any live session, asked or not)."""
        return self._lifecycle.move(principal, session_id, HandoffState.TAKEN_OVER)

    def say(self, principal: Principal, session_id: str, text: str) -> Turn:
        """A message from the person who took the session over, to the customer (a `human` turn)."""
        return self._lifecycle.say(principal, session_id, text)

    def return_to_agent(self, principal: Principal, session_id: str) -> Session:
        """The agent replies again, with the whole conversation (the person's part included) as history."""
        return self._lifecycle.move(principal, session_id, HandoffState.RETURNED)

    def close_session(self, principal: Principal, session_id: str) -> Session:
        """The person ends the conversation: the session is `completed`, "closed by <who>"."""
        return self._lifecycle.move(principal, session_id, HandoffState.CLOSED)

    def acknowledge_notification(self, principal: Principal, notification_id: str) -> Notification:
        """Acknowledge a notification; a handoff's also moves its session's handoff to `acknowledged`.

        The notification's rules decide (acknowledging twice is refused, naming who did). The session
        moves only if this notification is its current handoff's and that handoff is still `requested`.
        """
        notification = self._notifications.acknowledge(principal, notification_id)
        if notification.type is not NotificationType.HANDOFF or notification.session_id is None:
            return notification
        session = self._b.store.get(SESSIONS, notification.tenant_id, notification.session_id)
        handoff = session.handoff if session is not None else None
        if handoff is not None and handoff.notification_id == notification.id:
            if handoff.state is HandoffState.REQUESTED and session is not None and session.status not in ENDED:
                try:
                    self._lifecycle.move(principal, session.id, HandoffState.ACKNOWLEDGED)
                except (InvalidState, NotFound) as exc:  # moved on meanwhile (taken over, closed): nothing to do
                    logger.info("session %s handoff not acknowledged: %s", session.id, exc.message)
        return notification

    def _acknowledge_notification_of(self, principal: Principal, session: Session) -> None:
        notification_id = session.handoff.notification_id if session.handoff is not None else None
        if notification_id is None:
            return
        try:
            self._notifications.acknowledge(principal, notification_id)
        except (InvalidState, NotFound):
            pass  # acknowledged already (the notification was the door), or deleted: the session's move stands

    # -- escalation: nobody acknowledged in time (the sweeper of `oratio serve`) -------------------

    def escalate_due(self, now: datetime | None = None) -> int:
        """Escalate every handoff still `requested` after its agent's `escalate_after_seconds`; returns how many.

        Once per handoff: `Handoff.escalated_at` is set in the same transaction as the outbox rows,
        conditional on the session's version, so of two replicas sweeping at once exactly one sends,
        and a handoff acknowledged meanwhile is not escalated. Tenants are walked through their
        cross-tenant index and each tenant's handed-off sessions through `by_status`.
        """
        now = self._b.clock() if now is None else now
        escalated = 0
        for tenant_id in self._tenant_ids():
            cursor: str | None = None
            while True:
                page = self._b.store.query(
                    SESSIONS, f"{tenant_id}#{SessionStatus.HANDOFF_REQUESTED.value}", index="by_status",
                    limit=SWEEP_PAGE, cursor=cursor,
                )  # fmt: skip
                escalated += sum(1 for session in page.items if self._escalate(session, now))
                cursor = page.next_cursor
                if cursor is None:
                    break
        if escalated:
            logger.info("escalated %d unacknowledged handoff(s)", escalated)
            self.outbox.wake()
        return escalated

    def escalation_sweeper(self, interval_s: float) -> IdleSweeper:
        return IdleSweeper(self.escalate_due, interval_s)

    def _tenant_ids(self) -> Iterator[str]:
        cursor: str | None = None
        while True:
            page = self._b.store.query(TENANTS, "tenants", index="all", limit=SWEEP_PAGE, cursor=cursor)
            yield from (tenant.tenant_id for tenant in page.items)
            cursor = page.next_cursor
            if cursor is None:
                return

    def _escalate(self, session: Session, now: datetime) -> bool:
        handoff = session.handoff
        if handoff is None or handoff.state is not HandoffState.REQUESTED or handoff.escalated_at is not None:
            return False
        agent = self._b.store.get(AGENTS, session.tenant_id, session.agent_id)
        if agent is None:
            return False
        after = agent.spec.handoff.escalate_after_seconds
        if now - handoff.requested_at < timedelta(seconds=after):
            return False
        reason = f"not acknowledged after {after // 60} min {after % 60} s: {handoff.reason}"
        about: dict[str, Any] = {"notification_id": handoff.notification_id, "session_id": session.id}
        deliveries = self._alerts(agent, session, reason, ESCALATION_EVENT, "Handoff NOT acknowledged", about)
        marked = session.model_copy(update={"handoff": handoff.model_copy(update={"escalated_at": now})})
        try:
            self._b.store.transact([Replace(SESSIONS, marked), *(Insert(OUTBOX, d) for d in deliveries)])
        except Conflict:
            return False  # acknowledged, taken over or escalated by another replica meanwhile
        self._b.emit(
            session.tenant_id,
            EventType.SESSION_HANDOFF,
            session.id,
            state=HandoffState.REQUESTED.value,
            by=None,
            at=now.isoformat(),
            reason=reason,
            status=session.status.value,
            agent_id=session.agent_id,
            escalated=True,
        )
        return True

    def _alerts(
        self,
        agent: Agent,
        session: Session,
        reason: str,
        event: str,
        subject: str,
        about: dict[str, Any],
        *,
        brief: HandoffBrief | None = None,
        more: dict[str, Any] | None = None,
    ) -> list[OutboxDelivery]:
        """The email and webhook rows of a handoff alert (its request, or its escalation), as the agent's
        handoff config asks. `brief` goes in the email (default: the session's); `more` joins the webhook data."""
        config, tenant_id, attempts = agent.spec.handoff, session.tenant_id, self.outbox.limits.max_attempts
        about = {**about, "agent_id": agent.id}
        rows: list[OutboxDelivery] = []
        if config.notify_emails and self._email_on:
            if brief is None and session.handoff is not None:
                brief = session.handoff.brief
            content = EmailContent(
                to=list(config.notify_emails),
                subject=f"[Oratio] {subject}: {agent.name}"[:200],
                body=_body(session, agent.name, reason, brief),
            )
            rows.append(email_delivery(self._b, tenant_id, content, max_attempts=attempts, **about))
        if config.webhook_url and self._webhooks_on:
            data = {
                "session_id": session.id,
                "agent_id": agent.id,
                "agent_name": agent.name,
                "channel": session.channel.value,
                "reason": reason,
                "notification_id": about.get("notification_id"),
                **(more or {}),
            }
            rows.append(
                webhook_delivery(self._b, tenant_id, config.webhook_url, event, data, max_attempts=attempts, **about)
            )
        return rows

    # -- background delivery ----------------------------------------------------------------------

    def flush(self, timeout: float) -> bool:
        """Wait until nothing is due and nothing is being sent (tests; shutdown). False on timeout."""
        return self.outbox.drain(timeout)

    def close_briefs(self, timeout: float = 5.0) -> None:
        """Stop the brief writer (briefs not written yet stay extractive)."""
        if self.briefs is not None:
            self.briefs.close(timeout)

    def close(self, timeout: float = 10.0) -> bool:
        """Stop the dispatcher; rows not sent yet stay stored and go out after the next start."""
        return self.outbox.close(timeout)

    def _record_unconfigured(self, agent: Agent, session: Session, notification: Notification) -> None:
        """The agent asks for email or webhooks this platform cannot send: say so on the session."""
        config = agent.spec.handoff
        if config.notify_emails and not self._email_on:
            why = "email is not configured on this platform (ORATIO_EMAIL)"
            self._record(session, agent, notification, "email", why)
        if config.webhook_url and not self._webhooks_on:
            self._record(session, agent, notification, "webhook", "webhooks are not configured on this platform")

    def _record(self, session: Session, agent: Agent, notification: Notification, kind: str, message: str) -> None:
        logger.warning("handoff %s for session %s not sent: %s", kind, session.id, message)
        try:
            self._b.emit(
                session.tenant_id,
                EventType.ERROR,
                session.id,
                source=f"handoff.{kind}",
                message=message,
                agent_id=agent.id,
                notification_id=notification.id,
            )
        except OratioError as exc:  # the event log itself is down: the log line above is all we can do
            logger.error("could not record the unsent handoff %s: %s", kind, exc.message)


def _body(session: Session, agent_name: str, reason: str, brief: HandoffBrief | None = None) -> str:
    brief_lines = ["", "Brief:", brief_text(brief)] if brief is not None else []
    return "\n".join(
        [
            f"A conversation with agent {agent_name} asks for a human.",
            "",
            f"Reason: {reason}",
            f"Session: {session.id}",
            f"Agent id: {session.agent_id}",
            f"Channel: {session.channel.value}",
            f"Started: {session.started_at.isoformat()}",
            "",
            "Open the session in the Oratio console to read the transcript and take over.",
            *brief_lines,
        ]
    )
