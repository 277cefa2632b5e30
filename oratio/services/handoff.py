"""Handoff: a conversation asks for a human, and the people and systems who must act are told.

The customer is mid-turn when this runs, so only what must be true before the turn goes on is done
inline: the session becomes `handoff_requested` and an admin notification is stored (both durable,
both emitted as events for live views). Telling the outside world (email to the agent's
`handoff.notify_emails`, a signed webhook to `handoff.webhook_url`) can take seconds or fail
outright, and must never fail the customer's turn. It is queued for a small pool of background
workers: a bounded queue (a burst cannot pile up without limit; when it is full the delivery is
dropped and recorded), retries inside the webhook sender, and every failure recorded as a log line
and an `error` event on the session, where the admin console shows it. `flush` lets tests and a
shutting-down process wait for the queue to drain.

A handoff is requested once per session: the status moves with a compare-and-set on the session's
version, so of two concurrent requests (two runtimes, or a model and a rule at once) exactly one
wins and tells people; the other, and any later one, does nothing. The claim comes first for that
reason; the price is that a crash (or a store failure) between the claim and the notification
leaves the session `handoff_requested`, visible in live views, without a notification. Deliveries
live in memory only, so a process that dies drops those still queued. Closing both gaps takes a
durable outbox, which this deliberately is not.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from oratio.errors import OratioError
from oratio.notify.email import EmailSender
from oratio.notify.webhooks import WebhookSender
from oratio.services._common import Backends
from oratio.services.notifications import NotificationService
from oratio.services.sessions import SessionService
from oratio.store.tables import AGENTS
from schemas import Agent, Channel, EventType, Limits, Notification, NotificationType, Priority, Session, SessionStatus

logger = logging.getLogger("oratio.services.handoff")

WEBHOOK_EVENT = "handoff.requested"
REASON_MAX = 1000
DEFAULT_WORKERS = 4
DEFAULT_QUEUE_SIZE = 256


@dataclass(frozen=True)
class _Job:
    """One outbound delivery: what to run, and what to say if it fails."""

    kind: str  # "email" or "webhook"
    tenant_id: str
    session_id: str
    agent_id: str
    notification_id: str
    send: Callable[[], object]


class HandoffService:
    """Requests handoffs and delivers their email and webhook in the background.

    Workers start on the first delivery, so a platform that never hands off runs no threads.
    """

    def __init__(
        self,
        backends: Backends,
        sessions: SessionService,
        notifications: NotificationService,
        email: EmailSender | None = None,
        webhooks: WebhookSender | None = None,
        *,
        workers: int = DEFAULT_WORKERS,
        queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        self._b = backends
        self._sessions = sessions
        self._notifications = notifications
        self._email = email
        self._webhooks = webhooks
        self._worker_count = workers
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._threads: list[threading.Thread] = []
        self._closed = False

    # -- the request, on the customer's turn ------------------------------------------------------

    def request(self, tenant_id: str, session_id: str, reason: str) -> None:
        """Hand the session to a human. Idempotent: does nothing if the session already asked.

        Raises NotFound for an unknown session and InvalidState for one that has ended. Email and
        webhook problems never raise here; they are recorded as `error` events on the session.
        """
        reason = " ".join(reason.split())[:REASON_MAX] or "no reason given"
        session = self._sessions.set_status_once(tenant_id, session_id, SessionStatus.HANDOFF_REQUESTED, reason)
        if session is None:
            logger.info("session %s already asked for a human; nothing to do", session_id)
            return
        agent = self._b.store.get(AGENTS, tenant_id, session.agent_id)
        agent_name = agent.name if agent is not None else "(deleted agent)"
        # A caller on a voice line is holding on right now; a chat customer can wait a little.
        priority = Priority.URGENT if session.channel is Channel.VOICE else Priority.HIGH
        notification = self._notifications.notify(
            tenant_id,
            NotificationType.HANDOFF,
            f"Handoff requested: {agent_name}"[:200],
            body=_body(session, agent_name, reason)[: Limits.NOTIFICATION_TEXT_MAX],
            priority=priority,
            agent_id=session.agent_id,
            session_id=session.id,
        )
        if agent is not None:
            self._dispatch(agent, session, notification, reason)

    def _dispatch(self, agent: Agent, session: Session, notification: Notification, reason: str) -> None:
        config = agent.spec.handoff
        tenant_id = session.tenant_id

        def job(kind: str, send: Callable[[], object]) -> _Job:
            return _Job(kind, tenant_id, session.id, agent.id, notification.id, send)

        if config.notify_emails:
            if self._email is None:
                self._record(job("email", _nothing), "email is not configured on this platform (ORATIO_EMAIL)")
            else:
                email, to = self._email, list(config.notify_emails)
                subject = f"[Oratio] Handoff requested: {agent.name}"
                body = _body(session, agent.name, reason)
                self._enqueue(job("email", lambda: email.send(to, subject, body)))
        if config.webhook_url:
            if self._webhooks is None:
                self._record(job("webhook", _nothing), "webhooks are not configured on this platform")
            else:
                webhooks, url = self._webhooks, config.webhook_url
                data = {
                    "session_id": session.id,
                    "agent_id": agent.id,
                    "agent_name": agent.name,
                    "channel": session.channel.value,
                    "reason": reason,
                    "notification_id": notification.id,
                    "priority": notification.priority.value,
                }

                def post() -> object:
                    # The notification id is the delivery id: one handoff, one id, however many retries.
                    return webhooks.deliver(tenant_id, url, WEBHOOK_EVENT, data, delivery_id=notification.id)

                self._enqueue(job("webhook", post))

    # -- background delivery ----------------------------------------------------------------------

    def flush(self, timeout: float) -> bool:
        """Wait until every queued delivery has finished (delivered or recorded as failed). False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 10.0) -> bool:
        """Stop taking deliveries, let queued ones finish for up to `timeout`; False if some were left."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        deadline = time.monotonic() + timeout
        drained = self.flush(timeout)
        for _ in threads:
            try:
                self._queue.put_nowait(None)
            except queue.Full:  # not drained in time: the workers are daemons and go with the process
                break
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if not drained:
            logger.warning("handoff deliveries still pending at shutdown were abandoned")
        return drained

    def _enqueue(self, job: _Job) -> None:
        with self._lock:
            if self._closed:
                closed = True
            else:
                closed = False
                self._start_workers()
                try:
                    self._queue.put_nowait(job)
                except queue.Full:
                    pass
                else:
                    self._pending += 1
                    return
        self._record(job, "the platform is shutting down" if closed else "too many deliveries queued; dropped")

    def _start_workers(self) -> None:
        """Called with the lock held."""
        if self._threads:
            return
        for n in range(self._worker_count):
            thread = threading.Thread(target=self._work, name=f"oratio-handoff-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            try:
                job.send()
                logger.info("handoff %s for session %s delivered", job.kind, job.session_id)
            except OratioError as exc:
                self._record(job, exc.message)
            except Exception:
                # The one broad handler: the outermost frame of a background worker. Whatever went
                # wrong with one delivery is logged and recorded; the worker lives on for the next.
                logger.exception("handoff %s for session %s failed unexpectedly", job.kind, job.session_id)
                self._record(job, "unexpected error; see the platform logs")
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _record(self, job: _Job, message: str) -> None:
        """Log a failed delivery and put it on the session's event stream, without ever raising."""
        logger.warning("handoff %s for session %s failed: %s", job.kind, job.session_id, message)
        try:
            self._b.emit(
                job.tenant_id,
                EventType.ERROR,
                job.session_id,
                source=f"handoff.{job.kind}",
                message=message,
                agent_id=job.agent_id,
                notification_id=job.notification_id,
            )
        except OratioError as exc:  # the event log itself is down: the log line above is all we can do
            logger.error("could not record the failed handoff %s: %s", job.kind, exc.message)


def _nothing() -> None:
    return None


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
