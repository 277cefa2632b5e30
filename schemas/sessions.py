"""Customer conversations: sessions and their transcript turns."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from pydantic import (
    Field,
    GetJsonSchemaHandler,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from schemas._base import Identifier, Limits, Model, Record, StoredMetadata, UtcDatetime, for_store, utcnow
from schemas.analysis import Outcome, SessionAnalysis
from schemas.tools import TOOL_CALLS_PER_TURN_MAX, PendingAction, ToolCallRecord


class Channel(StrEnum):
    VOICE = "voice"
    TEXT = "text"


class SessionOrigin(StrEnum):
    """Who opened a session. Only the same kind of caller may continue it (see `SessionService.continued`)."""

    CUSTOMER = "customer"
    """A customer app, with the agent's API key (text runtime or voice bridge)."""
    ADMIN_TEST = "admin_test"
    """An admin's test chat (MCP `chat_with_agent`)."""


class SessionStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    HANDOFF_REQUESTED = "handoff_requested"
    INTERRUPTED = "interrupted"
    ERROR = "error"


class HandoffState(StrEnum):
    """Where a handoff is in its lifecycle (`HANDOFF_TRANSITIONS`)."""

    REQUESTED = "requested"
    ACKNOWLEDGED = "acknowledged"
    TAKEN_OVER = "taken_over"
    RETURNED = "returned"
    """Given back to the agent: it replies again (the session is `active`)."""
    CLOSED = "closed"
    """The human ended the conversation (the session is `completed`)."""


# The lifecycle as data: HandoffService refuses any other move with InvalidState. A taken-over
# handoff need not have been acknowledged first (an admin may step in at once), and an admin may
# take over a live session that never asked (the handoff then starts as taken_over).
HANDOFF_TRANSITIONS: dict[HandoffState, frozenset[HandoffState]] = {
    HandoffState.REQUESTED: frozenset(
        {HandoffState.ACKNOWLEDGED, HandoffState.TAKEN_OVER, HandoffState.RETURNED, HandoffState.CLOSED}
    ),
    HandoffState.ACKNOWLEDGED: frozenset({HandoffState.TAKEN_OVER, HandoffState.RETURNED, HandoffState.CLOSED}),
    HandoffState.TAKEN_OVER: frozenset({HandoffState.RETURNED, HandoffState.CLOSED}),
    HandoffState.RETURNED: frozenset(),
    HandoffState.CLOSED: frozenset(),
}

HANDOFF_OPEN: frozenset[HandoffState] = frozenset(
    {HandoffState.REQUESTED, HandoffState.ACKNOWLEDGED, HandoffState.TAKEN_OVER}
)
"""States in which a person has (or is about to have) the conversation: a pausing agent stays quiet."""


class BriefLine(Model):
    role: str = Field(max_length=16)
    text: str = Field(max_length=400)


class HandoffBrief(Model):
    """What the person taking over needs first: why, the conversation so far, what was collected and done."""

    why: str = Field(max_length=1000, description="The rule (id and description) or the model's reason")
    first_request: str = Field(default="", max_length=400, description="The customer's first message")
    recent: list[BriefLine] = Field(default_factory=list, max_length=6, description="The last exchanges")
    collected: StoredMetadata = Field(default_factory=dict, description="Fields the agent collected")
    tools_called: list[str] = Field(default_factory=list, max_length=20, description="Tool names, with status")
    summary: str = Field(
        default="", max_length=1500, description="The conversation so far in a few sentences (model-written only)"
    )
    written_by: str = Field(
        default="extractive", max_length=200, description="`extractive` (offline) or the model id that wrote it"
    )


class Handoff(Model):
    """A session's handoff to a person: kept on the session record, so the turn path reads it for free."""

    state: HandoffState
    reason: str = Field(default="", max_length=1000)
    requested_at: UtcDatetime
    acknowledged_by: str | None = Field(default=None, max_length=128)
    acknowledged_at: UtcDatetime | None = None
    taken_over_by: str | None = Field(default=None, max_length=128)
    taken_over_at: UtcDatetime | None = None
    finished_by: str | None = Field(default=None, max_length=128, description="Who returned or closed it")
    finished_at: UtcDatetime | None = None
    notification_id: Identifier | None = None
    brief: HandoffBrief | None = None
    escalated_at: UtcDatetime | None = Field(
        default=None, description="When the unacknowledged handoff was escalated (email/webhook), once"
    )
    pause: bool = Field(default=True, description="The agent's `pause_on_handoff` when the handoff began")


class TurnLock(Model):
    """Which turn of a session is running now, held on the session row itself (a conditional write).

    Several processes serve one store (replicas behind a load balancer), so two messages of one session
    can reach two processes at once; the engine takes this lock with the customer's turn and clears it
    with the agent's, so a session's turns never interleave. A lock whose `until` has passed was left by
    a process that died mid-turn and may be taken over.
    """

    owner: str = Field(max_length=128, description="The serving process that runs the turn (its lease owner id)")
    token: Identifier = Field(description="This turn's own id: only the turn that took the lock clears it")
    until: UtcDatetime = Field(description="When the lock lapses if its turn never clears it (a killed process)")


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
    failed_turns: int = Field(
        default=0,
        ge=0,
        description="Consecutive agent turns that could not help (oratio.runtime.handoff.could_not_help), "
        "counted for repeated_failures handoff rules",
    )
    customer: StoredMetadata = Field(default_factory=dict)
    collected: StoredMetadata = Field(default_factory=dict, description="What the agent recorded with collect_info")
    origin: SessionOrigin = SessionOrigin.CUSTOMER
    tester: str | None = Field(default=None, max_length=128, description="The admin who opened a test chat")
    owner: Identifier | None = Field(
        default=None, description="The serving process (its lease owner id) that holds this session while active"
    )
    pending_action: PendingAction | None = Field(
        default=None, description="A write action held for the customer's confirmation (the confirmation gate)"
    )
    handoff_reason: str | None = Field(
        default=None, max_length=500, description="Why a handoff was requested, if one was (kept after it ends)"
    )
    analysed: bool = Field(
        default=False, description="Its post-call analysis is stored (oratio.services.analysis); ended sessions only"
    )
    folded: bool | None = Field(
        default=None,
        description=(
            "True once the session is counted in its day's chart totals (written with them, in one "
            "transaction); None on a record stored before this marker existed (oratio.services.stats_backfill)"
        ),
    )
    handoff: Handoff | None = Field(default=None, description="The latest handoff to a person, if any")
    turn_lock: TurnLock | None = Field(
        default=None,
        description="The turn running now, if one is (the engine serialises a session's turns); stored only",
    )

    INTERNAL: ClassVar[frozenset[str]] = frozenset({"turn_lock"})
    """Fields only the store sees: the turn lock names a serving process and a turn token, which mean nothing
    to an admin and must not be shown (MCP tools, the dashboard's API and live feed, the runtime)."""

    @model_serializer(mode="wrap")
    def _outward(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        """Every dump but the store's (`schemas._base.STORE_CONTEXT`) leaves `INTERNAL` out: fail closed, so
        a door that dumps a session, or a model holding one, cannot leak them by forgetting to drop them."""
        dumped = handler(self)
        if isinstance(dumped, dict) and not for_store(info.context):
            for name in self.INTERNAL:
                dumped.pop(name, None)
        return dumped

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        """The schema of the fields, not of `_outward`'s `Any`, without `INTERNAL` in either mode: a JSON schema
        describes sessions as the outside sees them (an MCP tool's output schema is the validation one)."""
        fields = {key: value for key, value in core_schema.items() if key != "serialization"}
        schema = handler(fields)  # the same core schema, minus the wrap serializer
        properties = handler.resolve_ref_schema(schema).get("properties", {})
        for name in cls.INTERNAL:
            properties.pop(name, None)
        return schema

    @property
    def paused(self) -> bool:
        """The agent must not reply: a person has taken the conversation over, or a handoff is waiting for one
        and the agent pauses on handoff (`HandoffConfig.pause_on_handoff`, recorded as `Handoff.pause`)."""
        if self.handoff is None or self.handoff.state not in HANDOFF_OPEN:
            return False
        return self.handoff.pause or self.handoff.state is HandoffState.TAKEN_OVER

    @model_validator(mode="before")
    @classmethod
    def _legacy_test_chat(cls, data: Any) -> Any:
        """Test chats stored before `origin` existed carried the admin as `customer.tester`.

        Only a record without `origin` is read this way; every session written now states its origin,
        so a customer who sends a `tester` detail gets an ordinary customer session.
        """
        if isinstance(data, dict) and "origin" not in data:
            customer = data.get("customer")
            if isinstance(customer, dict) and isinstance(customer.get("tester"), str):
                data = {**data, "origin": SessionOrigin.ADMIN_TEST, "tester": customer["tester"][:128]}
        return data

    @property
    def duration_seconds(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"
    HUMAN = "human"
    """A person of the tenant speaking to the customer after taking the session over (`Turn.author` says who)."""


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
    tool_calls: list[ToolCallRecord] = Field(
        default_factory=list, max_length=TOOL_CALLS_PER_TURN_MAX, description="Agent turns: the tools it called"
    )
    started_at: UtcDatetime = Field(default_factory=utcnow)
    ended_at: UtcDatetime | None = None
    author: str | None = Field(
        default=None, max_length=128, description="Human turns: the admin (principal subject) who wrote or spoke it"
    )
    latency_ms: float | None = Field(
        default=None,
        ge=0,
        description="Agent turns of a voice call: end of the customer's speech to the first audio of this reply "
        "(text turns derive theirs from the stored times: request to reply)",
    )


class SessionFilter(Model):
    agent_id: Identifier | None = None
    status: SessionStatus | None = None
    channel: Channel | None = None
    started_after: UtcDatetime | None = None
    started_before: UtcDatetime | None = None
    outcome: Outcome | None = Field(default=None, description="Only ended sessions analysed with this outcome")
    limit: int = Field(default=50, ge=1, le=Limits.PAGE_SIZE_MAX)
    cursor: str | None = Field(default=None, max_length=512)


class SessionWithTranscript(Model):
    session: Session
    turns: list[Turn]
    recordings: list[str] = Field(
        default_factory=list,
        description="Blob keys of the session's call recordings (WAV), one per voice call, oldest first",
    )
    analysis: SessionAnalysis | None = Field(
        default=None, description="The post-call analysis, once the session has ended and been analysed"
    )
