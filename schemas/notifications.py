"""Notifications an admin sees: handoff alerts first of all."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from schemas._base import Identifier, Limits, Record, UtcDatetime, utcnow


class NotificationType(StrEnum):
    HANDOFF = "handoff"
    AGENT_READY = "agent_ready"
    AGENT_FAILED = "agent_failed"
    SYSTEM = "system"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class NotificationStatus(StrEnum):
    UNREAD = "unread"
    READ = "read"
    ACKNOWLEDGED = "acknowledged"


class Notification(Record):
    id: Identifier
    type: NotificationType
    priority: Priority = Priority.NORMAL
    status: NotificationStatus = NotificationStatus.UNREAD
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=Limits.NOTIFICATION_TEXT_MAX)
    agent_id: Identifier | None = None
    session_id: Identifier | None = None
    created_at: UtcDatetime = Field(default_factory=utcnow)
    read_at: UtcDatetime | None = None
    acknowledged_at: UtcDatetime | None = None
    acknowledged_by: str | None = Field(default=None, max_length=128)
