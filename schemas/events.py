"""Events in the append-only log that live views and subscriptions tail by cursor."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from schemas._base import Identifier, Limits, Model, UtcDatetime, utcnow


class EventType(StrEnum):
    AGENT_CREATED = "agent.created"
    AGENT_UPDATED = "agent.updated"
    AGENT_STATUS = "agent.status"
    AGENT_DELETED = "agent.deleted"
    AGENT_PROGRESS = "agent.progress"
    DOCUMENT_ADDED = "document.added"
    DOCUMENT_STATUS = "document.status"
    DOCUMENT_DELETED = "document.deleted"
    KEY_MINTED = "key.minted"
    KEY_REVOKED = "key.revoked"
    SECRET_SET = "secret.set"
    """A tenant secret was created or replaced; data: {"name", "created"} (never the value)."""
    SECRET_DELETED = "secret.deleted"
    ADMIN_DISABLED = "admin.disabled"
    ADMIN_ENABLED = "admin.enabled"
    ADMIN_TOKENS_REVOKED = "admin.tokens_revoked"
    SESSION_STARTED = "session.started"
    SESSION_TURN = "session.turn"
    SESSION_STATUS = "session.status"
    SESSION_COLLECTED = "session.collected"
    SESSION_RECORDING = "session.recording"
    SESSION_TOOL_CALL = "session.tool_call"
    SESSION_ANALYSED = "session.analysed"
    """An ended session's analysis is stored; data: {"outcome"} (read it with get_session_analysis)."""
    SESSION_HANDOFF = "session.handoff"
    """A handoff moved along its lifecycle; data: {"state", "by", "at", "reason", "status"}."""
    NOTIFICATION_CREATED = "notification.created"
    NOTIFICATION_UPDATED = "notification.updated"
    ERROR = "error"


class NewEvent(Model):
    """An event before the log has given it a place."""

    tenant_id: Identifier
    type: EventType
    subject: str = Field(min_length=1, max_length=128, description="id of the record it is about")
    data: dict[str, Any] = Field(default_factory=dict, max_length=Limits.EVENT_DATA_KEYS_MAX)
    at: UtcDatetime = Field(default_factory=utcnow)


class Event(NewEvent):
    """A logged event: its place is (`shard`, `seq`).

    A tenant's log is split into shards (one on SQLite; a fixed number on DynamoDB) and an event's
    shard is chosen by its subject, so one record's events (a session's) are in one shard, in order.
    `seq` counts within the shard: strictly increasing, no gap ever visible out of order. Order across
    shards is not defined; a tenant-wide reader follows a cursor with one position per shard.
    """

    seq: int = Field(ge=1)
    shard: int = Field(default=0, ge=0)
