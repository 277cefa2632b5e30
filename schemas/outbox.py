"""Outbound deliveries (handoff emails and webhooks) kept in the store until they are done.

A delivery row is written in the same transaction as the handoff it announces, then sent by the
outbox dispatcher with retries; one that keeps failing ends `dead`, where the admin sees it and
can send it again. Its `id` is the idempotency key the receiver sees on every attempt.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from schemas._base import Identifier, Model, Record, UtcDatetime, utcnow


class DeliveryKind(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    """Waiting for its next attempt (`next_at`), or being attempted under a lease."""
    DELIVERED = "delivered"
    DEAD = "dead"
    """Out of attempts, or refused for good (a 4xx, a URL the policy forbids): the admin decides."""


class EmailContent(Model):
    to: list[str] = Field(min_length=1, max_length=20)
    subject: str = Field(max_length=200)
    body: str = Field(max_length=20_000)
    sensitive: bool = False
    """The body holds a single-use secret (a sign-in link): the outbox blanks it once the email is
    delivered or dead, so the store keeps the link only while it is waiting to be sent."""


class WebhookContent(Model):
    url: str = Field(max_length=2048)
    event: str = Field(max_length=100)
    data: dict[str, Any]


class OutboxDelivery(Record):
    id: Identifier
    kind: DeliveryKind
    status: DeliveryStatus = DeliveryStatus.PENDING
    destination: str = Field(max_length=300)
    """What per-destination concurrency is counted on: a webhook's origin, or `email:<tenant>`."""
    key: str = Field(max_length=100)
    """The idempotency key: `X-Oratio-Delivery` of a webhook, the Message-ID of an email."""
    email: EmailContent | None = None
    webhook: WebhookContent | None = None
    notification_id: Identifier | None = None
    session_id: Identifier | None = None
    agent_id: Identifier | None = None
    attempts: int = Field(default=0, ge=0)
    max_attempts: int = Field(default=6, ge=1)
    next_at: UtcDatetime = Field(default_factory=utcnow)
    """When it may be attempted next; while claimed, when the claimer's lease runs out."""
    claimed_by: str | None = Field(default=None, max_length=100)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: UtcDatetime = Field(default_factory=utcnow)
    finished_at: UtcDatetime | None = None


class DeliveryView(Model):
    """What an admin sees of a delivery: where it goes (origin only, since webhook paths and queries
    may hold the receiver's own secret), how it went, and its idempotency key."""

    id: Identifier
    kind: DeliveryKind
    status: DeliveryStatus
    destination: str = Field(description="Webhook origin (scheme://host:port) or email:<tenant>")
    idempotency_key: str = Field(description="X-Oratio-Delivery header of a webhook; Message-ID of an email")
    attempts: int
    max_attempts: int
    next_at: UtcDatetime | None = Field(description="When it is tried next (pending only)")
    last_error: str | None
    notification_id: Identifier | None
    session_id: Identifier | None
    agent_id: Identifier | None
    created_at: UtcDatetime
    finished_at: UtcDatetime | None


def sortable(at: datetime) -> str:
    """A UTC timestamp as a fixed-width string, so string order is time order in index keys."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
