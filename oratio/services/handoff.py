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
from typing import Any

from oratio.errors import Conflict, InvalidState, OratioError
from oratio.notify.email import EmailSender
from oratio.notify.webhooks import WebhookSender
from oratio.services._common import UPDATE_ATTEMPTS, Backends, require
from oratio.services.dispatcher import OutboxDispatcher
from oratio.services.notifications import NotificationService
from oratio.services.outbox import OutboxLimits, email_delivery, webhook_delivery
from oratio.services.sessions import ENDED, SessionService
from oratio.store.ports import Insert, Replace, Write
from oratio.store.tables import AGENTS, NOTIFICATIONS, OUTBOX, SESSIONS
from schemas import (
    Agent,
    Channel,
    EmailContent,
    EventType,
    Limits,
    Notification,
    NotificationType,
    OutboxDelivery,
    Priority,
    Session,
    SessionStatus,
)

logger = logging.getLogger("oratio.services.handoff")

WEBHOOK_EVENT = "handoff.requested"
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
    ) -> None:
        self._b = backends
        self._sessions = sessions
        self._notifications = notifications
        self._email_on = email is not None
        self._webhooks_on = webhooks is not None
        self.outbox = outbox or OutboxDispatcher(backends, email=email, webhooks=webhooks, limits=limits)

    # -- the request, on the customer's turn ------------------------------------------------------

    def request(self, tenant_id: str, session_id: str, reason: str) -> None:
        """Hand the session to a human. Idempotent: does nothing if the session already asked.

        Raises NotFound for an unknown session and InvalidState for one that has ended. Email and
        webhook problems never raise here; they are retried, and recorded as `error` events on the
        session when they give up.
        """
        reason = " ".join(reason.split())[:REASON_MAX] or "no reason given"
        for _ in range(UPDATE_ATTEMPTS):
            session = require(self._b.store.get(SESSIONS, tenant_id, session_id), "session", session_id)
            if session.status is SessionStatus.HANDOFF_REQUESTED:
                logger.info("session %s already asked for a human; nothing to do", session_id)
                return
            if session.status in ENDED:
                raise InvalidState(f"session '{session_id}' has already ended ({session.status.value})")
            agent = self._b.store.get(AGENTS, tenant_id, session.agent_id)
            notification = self._notification(session, agent, reason)
            deliveries = self._deliveries(agent, session, notification, reason) if agent is not None else []
            moved = session.model_copy(
                update={
                    "status": SessionStatus.HANDOFF_REQUESTED,
                    "last_activity_at": self._b.clock(),
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
        self._notifications.announce(stored[1])
        if deliveries:
            self.outbox.wake()
        if agent is not None:
            self._record_unconfigured(agent, session, notification)

    def _notification(self, session: Session, agent: Agent | None, reason: str) -> Notification:
        agent_name = agent.name if agent is not None else "(deleted agent)"
        # A caller on a voice line is holding on right now; a chat customer can wait a little.
        priority = Priority.URGENT if session.channel is Channel.VOICE else Priority.HIGH
        return self._notifications.new(
            session.tenant_id,
            NotificationType.HANDOFF,
            f"Handoff requested: {agent_name}"[:200],
            body=_body(session, agent_name, reason)[: Limits.NOTIFICATION_TEXT_MAX],
            priority=priority,
            agent_id=session.agent_id,
            session_id=session.id,
        )

    def _deliveries(
        self, agent: Agent, session: Session, notification: Notification, reason: str
    ) -> list[OutboxDelivery]:
        config = agent.spec.handoff
        tenant_id = session.tenant_id
        attempts = self.outbox.limits.max_attempts
        about: dict[str, Any] = {"notification_id": notification.id, "session_id": session.id, "agent_id": agent.id}
        rows: list[OutboxDelivery] = []
        if config.notify_emails and self._email_on:
            content = EmailContent(
                to=list(config.notify_emails),
                subject=f"[Oratio] Handoff requested: {agent.name}"[:200],
                body=_body(session, agent.name, reason),
            )
            rows.append(email_delivery(self._b, tenant_id, content, max_attempts=attempts, **about))
        if config.webhook_url and self._webhooks_on:
            data = {
                "session_id": session.id,
                "agent_id": agent.id,
                "agent_name": agent.name,
                "channel": session.channel.value,
                "reason": reason,
                "notification_id": notification.id,
                "priority": notification.priority.value,
            }
            rows.append(
                webhook_delivery(
                    self._b, tenant_id, config.webhook_url, WEBHOOK_EVENT, data, max_attempts=attempts, **about
                )
            )
        return rows

    # -- background delivery ----------------------------------------------------------------------

    def flush(self, timeout: float) -> bool:
        """Wait until nothing is due and nothing is being sent (tests; shutdown). False on timeout."""
        return self.outbox.drain(timeout)

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


def _body(session: Session, agent_name: str, reason: str) -> str:
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
        ]
    )
