"""What one conversation turn returns to the door that asked for it (HTTP JSON, SSE final event, MCP tool)."""

from __future__ import annotations

from pydantic import Field

from schemas import Identifier, Limits, Model, SessionStatus, Source

SOURCES_MAX = 20
"""As many sources as a stored turn may carry (`Turn.sources`)."""


class TurnResult(Model):
    session_id: Identifier
    reply: str = Field(max_length=Limits.TURN_TEXT_MAX, description="The agent's answer, as stored in the transcript")
    sources: list[Source] = Field(
        default_factory=list, max_length=SOURCES_MAX, description="Knowledge-base passages the answer drew on"
    )
    handoff: bool = Field(default=False, description="A human has been asked to take over this session")
    ended: bool = Field(default=False, description="The session is over; a new message starts a new session")
    status: SessionStatus
    paused: bool = Field(
        default=False,
        description="A person has this conversation: the agent did not answer (the reply is empty or the plan's "
        "handoff message); the person's answer comes from them",
    )
