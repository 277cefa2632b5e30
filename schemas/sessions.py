"""Customer conversations: sessions and their transcript turns."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from schemas._base import Identifier, Limits, Metadata, Model, Record, UtcDatetime, utcnow


class Channel(StrEnum):
    VOICE = "voice"
    TEXT = "text"


class SessionStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    HANDOFF_REQUESTED = "handoff_requested"
    INTERRUPTED = "interrupted"
    ERROR = "error"


class Session(Record):
    id: Identifier
    agent_id: Identifier
    channel: Channel
    status: SessionStatus = SessionStatus.ACTIVE
    started_at: UtcDatetime = Field(default_factory=utcnow)
    last_activity_at: UtcDatetime = Field(default_factory=utcnow)
    ended_at: UtcDatetime | None = None
    end_reason: str | None = Field(default=None, max_length=500)
    message_count: int = Field(default=0, ge=0)
    customer: Metadata = Field(default_factory=dict)
    collected: Metadata = Field(default_factory=dict, description="What the agent recorded with collect_info")
    owner: Identifier | None = Field(
        default=None, description="The serving process (its lease owner id) that holds this session while active"
    )

    @property
    def duration_seconds(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


class Source(Model):
    """Where a statement in a reply came from: a chunk of a knowledge-base document."""

    document_id: Identifier
    document_name: str = Field(max_length=256)
    location: str = Field(default="", max_length=256, description="page or heading")
    snippet: str = Field(default="", max_length=1000)
    score: float | None = None


class Turn(Record):
    """One utterance in a session. `seq` orders turns within the session, from 1."""

    session_id: Identifier
    seq: int = Field(ge=1)
    role: Role
    text: str = Field(max_length=Limits.TURN_TEXT_MAX)
    sources: list[Source] = Field(default_factory=list, max_length=20)
    started_at: UtcDatetime = Field(default_factory=utcnow)
    ended_at: UtcDatetime | None = None


class SessionFilter(Model):
    agent_id: Identifier | None = None
    status: SessionStatus | None = None
    channel: Channel | None = None
    started_after: UtcDatetime | None = None
    started_before: UtcDatetime | None = None
    limit: int = Field(default=50, ge=1, le=Limits.PAGE_SIZE_MAX)
    cursor: str | None = Field(default=None, max_length=512)


class SessionWithTranscript(Model):
    session: Session
    turns: list[Turn]
    recordings: list[str] = Field(
        default_factory=list,
        description="Blob keys of the session's call recordings (WAV), one per voice call, oldest first",
    )
