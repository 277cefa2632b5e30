"""Oratio's shared language: pydantic models with no I/O and no framework imports."""

from schemas._base import Identifier, Limits, Model, Name, Record, utcnow
from schemas.agents import (
    AGENT_TRANSITIONS,
    Agent,
    AgentSpec,
    AgentStatus,
    AgentType,
    AgentUpdate,
    CreateAgent,
    HandoffConfig,
    TextConfig,
    VoiceConfig,
)
from schemas.documents import CONTENT_TYPES, Chunk, Document, DocumentContent, DocumentFormat, DocumentStatus
from schemas.events import Event, EventType, NewEvent
from schemas.keys import ApiKey, MintedKey, MintKeyRequest, StoredApiKey
from schemas.notifications import Notification, NotificationStatus, NotificationType, Priority
from schemas.plan import AgentPlan, DeployedArtifact, HandoffRule, ToolName
from schemas.sessions import (
    Channel,
    Role,
    Session,
    SessionFilter,
    SessionStatus,
    SessionWithTranscript,
    Source,
    Turn,
)
from schemas.tenancy import Admin, Principal, Scope, Tenant

__all__ = [
    "ToolName",
    "HandoffRule",
    "DeployedArtifact",
    "AgentPlan",
    "AGENT_TRANSITIONS",
    "CONTENT_TYPES",
    "Admin",
    "Agent",
    "AgentSpec",
    "AgentStatus",
    "AgentType",
    "AgentUpdate",
    "ApiKey",
    "Channel",
    "Chunk",
    "CreateAgent",
    "Document",
    "DocumentFormat",
    "DocumentStatus",
    "DocumentContent",
    "Event",
    "EventType",
    "HandoffConfig",
    "Identifier",
    "Limits",
    "MintKeyRequest",
    "MintedKey",
    "Model",
    "Name",
    "NewEvent",
    "Notification",
    "NotificationStatus",
    "NotificationType",
    "Principal",
    "Priority",
    "Record",
    "Role",
    "Scope",
    "Session",
    "SessionFilter",
    "SessionStatus",
    "SessionWithTranscript",
    "Source",
    "StoredApiKey",
    "Tenant",
    "TextConfig",
    "Turn",
    "VoiceConfig",
    "utcnow",
]
