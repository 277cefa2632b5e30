"""What an admin asks for (AgentSpec) and what the platform keeps (Agent)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator

from schemas._base import Email, Identifier, Limits, Model, Name, Record, UtcDatetime, utcnow
from schemas.documents import DocumentContent
from schemas.tools import TOOLS_PER_AGENT_MAX, HttpTool, McpServerTool, ToolDefinition, check_unique_names


class AgentType(StrEnum):
    VOICE = "voice"
    TEXT = "text"
    BOTH = "both"


class EndOfTurn(StrEnum):
    """How the local cascade decides the customer has finished speaking (docs/voice-latency.md).

    `silence` waits for the VAD's hangover; `smart_turn` also asks the Smart Turn model at the first short
    pause, so a finished sentence ends the turn early and a mid-sentence pause does not (a silence ceiling
    still ends the turn whatever the model says).
    """

    SILENCE = "silence"
    SMART_TURN = "smart_turn"


class VoiceConfig(Model):
    """How a voice agent sounds and listens."""

    voice: str = Field(default="default", max_length=64)
    language: str = Field(default="en-US", pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    speaking_rate: float = Field(default=1.0, ge=0.5, le=2.0)
    barge_in: bool = True
    ignore_backchannels: bool = Field(
        default=True,
        description='While the agent speaks, short acknowledgements ("mhmm", "okay", "uh-huh") do not interrupt it',
    )
    end_of_turn: EndOfTurn = EndOfTurn.SILENCE
    max_call_seconds: int = Field(default=1800, ge=30, le=4 * 3600)


class TextConfig(Model):
    """How a text agent replies."""

    streaming: bool = True
    max_reply_chars: int = Field(default=2000, ge=100, le=Limits.TURN_TEXT_MAX)
    greeting: str | None = Field(default=None, max_length=500)


Condition = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=Limits.CONDITION_MAX)]


class HandoffConfig(Model):
    """When a human takes over, and who is told."""

    enabled: bool = False
    conditions: list[Condition] = Field(default_factory=list, max_length=Limits.CONDITIONS_MAX)
    notify_emails: list[Email] = Field(default_factory=list, max_length=10)
    webhook_url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://")
    pause_on_handoff: bool = Field(
        default=True,
        description="After a handoff is requested and while a person has the conversation, the agent does not "
        "reply: customer turns are stored for the person, and the customer hears the plan's handoff message now "
        "and then (`reminder_every`)",
    )
    reminder_every: int = Field(
        default=3, ge=1, le=100, description="While paused, the handoff message is said at most once per N turns"
    )
    escalate_after_seconds: int = Field(
        default=300, ge=30, le=86400, description="An unacknowledged handoff is escalated after this long"
    )

    @model_validator(mode="after")
    def _conditions_need_enabled(self) -> HandoffConfig:
        if self.conditions and not self.enabled:
            raise ValueError("handoff conditions are given but handoff is not enabled")
        return self


class WebhookTool(Model):
    """A customer system the agent may call (e.g. look up an order): the admin's URL, never the model's."""

    url: str = Field(max_length=2048, pattern=r"^https?://")
    description: str = Field(
        min_length=10, max_length=500, description="What the endpoint does and what to send it, for the agent"
    )


class AgentSpec(Model):
    """The admin's input: everything the AgentCreator needs to build an agent."""

    name: Name
    description: str = Field(default="", max_length=Limits.DESCRIPTION_MAX)
    sop: str = Field(min_length=20, max_length=Limits.SOP_MAX)
    agent_type: AgentType = AgentType.TEXT
    voice: VoiceConfig = Field(default_factory=VoiceConfig)
    text: TextConfig = Field(default_factory=TextConfig)
    handoff: HandoffConfig = Field(default_factory=HandoffConfig)
    model: str | None = Field(
        default=None,
        max_length=200,
        description="A model name this server allows (its operator's list); unset: the platform's model. "
        "Endpoints, files and options are operator settings, never part of an agent's spec",
    )
    webhook_tool: WebhookTool | None = Field(default=None, description="Offers the agent the call_webhook tool")
    tools: list[ToolDefinition] = Field(
        default_factory=list,
        max_length=TOOLS_PER_AGENT_MAX,
        description="HTTP endpoints and MCP servers the agent may use to act (schemas.tools)",
    )

    @field_validator("tools")
    @classmethod
    def _unique_tools(cls, value: list[HttpTool | McpServerTool]) -> list[HttpTool | McpServerTool]:
        return check_unique_names(value)


class CreateAgent(Model):
    """A creation request: the spec plus the knowledge-base documents to start with."""

    spec: AgentSpec
    documents: list[DocumentContent] = Field(default_factory=list, max_length=Limits.DOCUMENTS_PER_REQUEST_MAX)


class AgentStatus(StrEnum):
    CREATING = "creating"
    ACTIVE = "active"
    FAILED = "failed"
    PAUSED = "paused"


# The lifecycle as data: the service layer refuses any other transition.
AGENT_TRANSITIONS: dict[AgentStatus, frozenset[AgentStatus]] = {
    AgentStatus.CREATING: frozenset({AgentStatus.ACTIVE, AgentStatus.FAILED}),
    # active -> active: a new version deployed while the old one kept serving.
    # active -> failed: its stored plan no longer matches the sha256 recorded at deploy.
    AgentStatus.ACTIVE: frozenset({AgentStatus.ACTIVE, AgentStatus.PAUSED, AgentStatus.CREATING, AgentStatus.FAILED}),
    AgentStatus.PAUSED: frozenset({AgentStatus.ACTIVE, AgentStatus.CREATING}),
    AgentStatus.FAILED: frozenset({AgentStatus.CREATING}),
}


class Agent(Record):
    """A stored agent. `artifact_version` points at the deployed plan that serves customers.

    `artifact_sha256` is the sha256 of that plan's stored bytes, recorded when the reviewed and tested plan
    was deployed; the runtime refuses bytes that no longer match. None only on agents deployed before it
    was recorded: their hash is pinned on the first read (`AgentService.artifact`).
    """

    id: Identifier
    spec: AgentSpec
    status: AgentStatus = AgentStatus.CREATING
    status_reason: str | None = Field(default=None, max_length=2000)
    artifact_version: int | None = Field(default=None, ge=1)
    artifact_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    created_at: UtcDatetime = Field(default_factory=utcnow)
    updated_at: UtcDatetime = Field(default_factory=utcnow)

    @property
    def name(self) -> str:
        return self.spec.name


class AgentUpdate(Model):
    """A partial change to an agent's spec; omitted fields stay as they are."""

    description: str | None = Field(default=None, max_length=Limits.DESCRIPTION_MAX)
    sop: str | None = Field(default=None, min_length=20, max_length=Limits.SOP_MAX)
    agent_type: AgentType | None = None
    voice: VoiceConfig | None = None
    text: TextConfig | None = None
    handoff: HandoffConfig | None = None
    model: str | None = Field(default=None, max_length=200, description="A model name this server allows")
    webhook_tool: WebhookTool | None = None
    tools: list[ToolDefinition] | None = Field(default=None, max_length=TOOLS_PER_AGENT_MAX)

    @field_validator("tools")
    @classmethod
    def _unique_tools(cls, value: list[HttpTool | McpServerTool] | None) -> list[HttpTool | McpServerTool] | None:
        return None if value is None else check_unique_names(value)
