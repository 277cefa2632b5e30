"""The durable outbox: deliveries (handoff emails and webhooks) stored with what they announce.

Why a table and not an in-process queue: a queue shared by every tenant let one tenant whose
webhook never answers fill it, and other tenants' alerts were dropped; and a process that died
lost whatever was queued. A delivery row is written in the same store transaction as the handoff
(so a crash between the two loses neither), then the dispatcher (`oratio.services.dispatcher`)
sends it with per-tenant fairness, retries and a `dead` state the admin can see and retry here.

Each row's id is its idempotency key on the wire (`X-Oratio-Delivery` for a webhook, the
Message-ID of an email): delivery is at least once, and a duplicate carries the same key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oratio.errors import InvalidState
from oratio.ids import new_id
from oratio.notify.address_policy import safe_origin
from oratio.services._common import Backends, authorize, check_limit, require, update_with_retry
from oratio.store.ports import Page
from oratio.store.tables import AGENTS, OUTBOX
from schemas import (
    DeliveryKind,
    DeliveryStatus,
    DeliveryView,
    EmailContent,
    OutboxDelivery,
    Principal,
    Scope,
    Session,
    WebhookContent,
)

KEY_DOMAIN = "oratio.invalid"
"""The right-hand side of email Message-IDs: a reserved name, so it never claims a real domain."""


@dataclass(frozen=True)
class OutboxLimits:
    """How hard the dispatcher may push; see the `ORATIO_OUTBOX_*` settings."""

    workers: int = 8
    per_destination: int = 2
    per_tenant: int = 4
    max_attempts: int = 6
    backoff_base_s: float = 2.0
    backoff_max_s: float = 900.0
    lease_s: float = 120.0
    batch_per_tenant: int = 4
    """Due rows read per tenant per round: a tenant with thousands waiting is still one turn of the round."""
    tenants_per_round: int = 200


def webhook_delivery(
    backends: Backends,
    tenant_id: str,
    url: str,
    event: str,
    data: dict[str, Any],
    *,
    max_attempts: int,
    notification_id: str | None = None,
    session_id: str | None = None,
    agent_id: str | None = None,
) -> OutboxDelivery:
    """A pending webhook row, to be stored (in a transaction with what it announces)."""
    ident = new_id("delivery")
    return OutboxDelivery(
        tenant_id=tenant_id,
        id=ident,
        kind=DeliveryKind.WEBHOOK,
        destination=safe_origin(url)[:300],
        key=ident,
        webhook=WebhookContent(url=url, event=event, data=data),
        notification_id=notification_id,
        session_id=session_id,
        agent_id=agent_id,
        max_attempts=max_attempts,
        next_at=backends.clock(),
        created_at=backends.clock(),
    )


def session_webhook(
    backends: Backends,
    session: Session,
    event: str,
    data: dict[str, Any],
    *,
    max_attempts: int,
    notification_id: str | None = None,
) -> OutboxDelivery | None:
    """A pending webhook row about `session`, to its agent's webhook URL; None when the agent has none
    (or is gone). Post-call analysis and the written handoff brief both announce a session this way."""
    agent = backends.store.get(AGENTS, session.tenant_id, session.agent_id)
    url = agent.spec.handoff.webhook_url if agent is not None else None
    if url is None:
        return None
    return webhook_delivery(
        backends,
        session.tenant_id,
        url,
        event,
        data,
        max_attempts=max_attempts,
        notification_id=notification_id,
        session_id=session.id,
        agent_id=session.agent_id,
    )


def email_delivery(
    backends: Backends,
    tenant_id: str,
    content: EmailContent,
    *,
    max_attempts: int,
    notification_id: str | None = None,
    session_id: str | None = None,
    agent_id: str | None = None,
) -> OutboxDelivery:
    """A pending email row. Email is capped per tenant: one SMTP relay serves every tenant."""
    ident = new_id("delivery")
    return OutboxDelivery(
        tenant_id=tenant_id,
        id=ident,
        kind=DeliveryKind.EMAIL,
        destination=f"email:{tenant_id}",
        key=f"<{ident}@{KEY_DOMAIN}>",
        email=content,
        notification_id=notification_id,
        session_id=session_id,
        agent_id=agent_id,
        max_attempts=max_attempts,
        next_at=backends.clock(),
        created_at=backends.clock(),
    )


def view(delivery: OutboxDelivery) -> DeliveryView:
    """What an admin sees of a delivery: no webhook path, query or payload, no email body."""
    return DeliveryView(
        id=delivery.id,
        kind=delivery.kind,
        status=delivery.status,
        destination=delivery.destination,
        idempotency_key=delivery.key,
        attempts=delivery.attempts,
        max_attempts=delivery.max_attempts,
        next_at=delivery.next_at if delivery.status is DeliveryStatus.PENDING else None,
        last_error=delivery.last_error,
        notification_id=delivery.notification_id,
        session_id=delivery.session_id,
        agent_id=delivery.agent_id,
        created_at=delivery.created_at,
        finished_at=delivery.finished_at,
    )


class OutboxService:
    """The admin's side of the outbox: list deliveries (dead letters first of all) and retry one."""

    def __init__(self, backends: Backends) -> None:
        self._b = backends

    def list(
        self,
        principal: Principal,
        *,
        status: DeliveryStatus | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[OutboxDelivery]:
        """Newest first, optionally only those with `status`."""
        tenant_id = authorize(principal, Scope.SESSIONS_READ)
        check_limit(limit)
        if status is None:
            return self._b.store.query(OUTBOX, tenant_id, descending=True, limit=limit, cursor=cursor)
        return self._b.store.query(
            OUTBOX, f"{tenant_id}#{status.value}", index="by_status", descending=True, limit=limit, cursor=cursor
        )

    def get(self, principal: Principal, delivery_id: str) -> OutboxDelivery:
        tenant_id = authorize(principal, Scope.SESSIONS_READ)
        return require(self._b.store.get(OUTBOX, tenant_id, delivery_id), "delivery", delivery_id)

    def retry(self, principal: Principal, delivery_id: str) -> OutboxDelivery:
        """Send a dead delivery again, with a fresh set of attempts and the same idempotency key."""
        tenant_id = authorize(principal, Scope.SESSIONS_READ)
        self.get(principal, delivery_id)

        def revive(d: OutboxDelivery) -> OutboxDelivery:
            if d.status is not DeliveryStatus.DEAD:
                raise InvalidState(f"delivery '{delivery_id}' is {d.status.value}; only dead deliveries are retried")
            now = self._b.clock()
            return d.model_copy(
                update={"status": DeliveryStatus.PENDING, "attempts": 0, "next_at": now, "finished_at": None}
            )

        return update_with_retry(self._b.store, OUTBOX, tenant_id, delivery_id, "delivery", revive)


__all__ = ["OutboxLimits", "OutboxService", "email_delivery", "view", "webhook_delivery"]
