"""Tools an admin gives an agent so it can act: HTTP endpoints and the tools of external MCP servers.

An admin lists them on the agent's spec (`AgentSpec.tools`); the AgentCreator copies the reviewed
definitions into the plan (`AgentPlan.actions`, with MCP tools discovered at build time snapshotted
in `AgentPlan.mcp_tools`), so the tools that serve are the ones that were reviewed.

These models check shape and size only. What needs the core (a JSON Schema that is valid draft
2020-12 with RE2-safe `pattern`s, a URL the address policy allows, a secret that exists, an
operator-registered stdio server) is checked by `oratio.actions` when a tool is added or a plan deployed.

Secrets are referenced, never held: a header value may contain `{{secret:NAME}}` and an MCP server
names its bearer secret; the values live encrypted in the tenant's secret store (`StoredSecret`).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, StringConstraints, Tag, field_validator, model_validator

from schemas._base import Model, Record, UtcDatetime, utcnow

TOOL_NAME_PATTERN = r"^[a-z][a-z0-9_]{1,47}$"
"""A tool's name as the model sees it: lowercase, digits, underscores (fits every provider's tool-name rules)."""
SECRET_NAME_PATTERN = r"^[A-Z][A-Z0-9_]{1,63}$"
SECRET_REF_PATTERN = r"\{\{secret:([A-Z][A-Z0-9_]{1,63})\}\}"
"""How a header value refers to a secret: `Authorization: Bearer {{secret:ORDERS_API_TOKEN}}`."""

SCHEMA_JSON_MAX = 16_000
"""Serialized size of one JSON Schema (arguments or response)."""
SCHEMA_DEPTH_MAX = 12
TOOLS_PER_AGENT_MAX = 30
MCP_TOOLS_PER_SERVER_MAX = 50
SECRET_VALUE_MAX = 8_000
ARGUMENTS_JSON_MAX = 8_000
"""Serialized size of the arguments of one call (what the model sends, what a pending action keeps)."""
TOOL_CALLS_PER_TURN_MAX = 20

ToolIdentifier = Annotated[str, StringConstraints(pattern=TOOL_NAME_PATTERN)]
SecretName = Annotated[str, StringConstraints(pattern=SECRET_NAME_PATTERN)]
RESERVED_TOOL_NAMES = frozenset({"knowledge_search", "request_handoff", "end_session", "collect_info", "call_webhook"})
"""The built-in catalog (`schemas.plan.ToolName`): an admin's tool may not take these names."""


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if depth > SCHEMA_DEPTH_MAX:
                return depth
            stack.extend((child, depth) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def check_json_size(value: dict[str, Any], *, limit: int, what: str) -> dict[str, Any]:
    """Refuse a JSON value over `limit` serialized characters or nested deeper than SCHEMA_DEPTH_MAX."""
    if _depth(value) > SCHEMA_DEPTH_MAX:
        raise ValueError(f"{what} is nested deeper than {SCHEMA_DEPTH_MAX} levels")
    if len(json.dumps(value, default=str)) > limit:
        raise ValueError(f"{what} is over {limit} characters of JSON")
    return value


class HttpMethod(StrEnum):
    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"


class HttpTool(Model):
    """An admin's HTTP endpoint as a tool.

    `url` is a template: `{name}` placeholders (in the path or the query) are filled from the top-level
    arguments of the same name, percent-encoded; the other arguments go in the query string (GET, DELETE)
    or as a JSON object body (POST, PUT, PATCH). The scheme and host always come from the admin.
    `write` marks an action that changes something (cancel, refund, book): it runs only after the
    customer's explicit confirmation (the confirmation gate, `oratio.runtime.confirmation`).
    `sensitive_arguments` are top-level argument names redacted in transcripts, events and logs.
    """

    kind: Literal["http"] = "http"
    name: ToolIdentifier
    description: str = Field(min_length=10, max_length=1000, description="What it does and when to use it")
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON Schema (draft 2020-12) of the arguments: an object",
    )
    method: HttpMethod = HttpMethod.GET
    url: str = Field(min_length=8, max_length=2048, pattern=r"^https?://[^\s{}/?#]+(/[^\s#]*)?$")
    headers: dict[
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")],
        Annotated[str, StringConstraints(max_length=1024)],
    ] = Field(default_factory=dict, max_length=20, description="Values may contain {{secret:NAME}}")
    timeout_seconds: float = Field(default=10.0, ge=0.5, le=30.0)
    max_response_bytes: int = Field(default=64_000, ge=1_000, le=1_000_000)
    response_schema: dict[str, Any] | None = Field(default=None, description="JSON Schema the answer should match")
    write: bool = Field(
        default=False,
        description="Changes something: needs the customer's confirmation (default: true unless the method is GET)",
    )
    sensitive_arguments: list[Annotated[str, StringConstraints(max_length=64)]] = Field(
        default_factory=list, max_length=20
    )

    @model_validator(mode="before")
    @classmethod
    def _write_by_method(cls, data: Any) -> Any:
        """A tool that does not say `write` is a write unless it is a GET: a forgotten flag on a POST that
        cancels orders must cost a confirmation question, not run unasked. An explicit `write: false`
        is the admin's choice and is kept (a POST search endpoint, say)."""
        if isinstance(data, dict) and data.get("write") is None:
            method = data.get("method", HttpMethod.GET)
            method = method.upper() if isinstance(method, str) else method
            return {**data, "write": method != HttpMethod.GET}
        return data

    @field_validator("parameters", "response_schema")
    @classmethod
    def _bounded_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        return check_json_size(value, limit=SCHEMA_JSON_MAX, what="the JSON Schema")

    @field_validator("parameters")
    @classmethod
    def _object_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("type") != "object":
            raise ValueError('the arguments schema must be {"type": "object", ...}')
        return value

    @field_validator("name")
    @classmethod
    def _not_builtin(cls, value: str) -> str:
        if value in RESERVED_TOOL_NAMES:
            raise ValueError(f"'{value}' is a built-in tool's name")
        return value


class McpTransport(StrEnum):
    HTTP = "http"
    """Streamable HTTP at `url`, with an optional bearer secret."""
    STDIO = "stdio"
    """A server the operator installed and registered by name (ORATIO_MCP_STDIO_SERVERS); never a tenant's command."""


class McpServerTool(Model):
    """Selected tools of an external MCP server.

    Only tools named in `allowed_tools` reach the agent. Every allowed tool is a write action (it needs
    the customer's confirmation) unless the admin lists it in `read_only_tools`: what a server says about
    its own tools (`readOnlyHint`) is not trusted. The model sees each as `{name}_{tool}` (sanitized).
    """

    kind: Literal["mcp"] = "mcp"
    name: ToolIdentifier = Field(description="A label for this server; prefixes its tools' names")
    description: str = Field(default="", max_length=1000)
    transport: McpTransport = McpTransport.HTTP
    url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://")
    bearer_secret: SecretName | None = None
    server: str | None = Field(
        default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="stdio: the operator's registered name"
    )
    allowed_tools: list[Annotated[str, StringConstraints(min_length=1, max_length=128)]] = Field(
        min_length=1, max_length=MCP_TOOLS_PER_SERVER_MAX
    )
    read_only_tools: list[Annotated[str, StringConstraints(min_length=1, max_length=128)]] = Field(
        default_factory=list, max_length=MCP_TOOLS_PER_SERVER_MAX
    )
    timeout_seconds: float = Field(default=10.0, ge=0.5, le=30.0)
    max_response_bytes: int = Field(default=64_000, ge=1_000, le=1_000_000)

    @model_validator(mode="after")
    def _transport_fields(self) -> McpServerTool:
        if self.transport is McpTransport.HTTP and (self.url is None or self.server is not None):
            raise ValueError("an http MCP server needs `url` (and no `server`)")
        if self.transport is McpTransport.STDIO and (self.server is None or self.url or self.bearer_secret):
            raise ValueError("a stdio MCP server needs `server` (an operator-registered name) and no url or secret")
        unknown = sorted(set(self.read_only_tools) - set(self.allowed_tools))
        if unknown:
            raise ValueError(f"read_only_tools not in allowed_tools: {', '.join(unknown)[:200]}")
        return self


def _tool_kind(value: Any) -> str:
    kind = value.get("kind", "http") if isinstance(value, dict) else getattr(value, "kind", "http")
    return kind if kind in ("http", "mcp") else "http"


ToolDefinition = Annotated[
    Annotated[HttpTool, Tag("http")] | Annotated[McpServerTool, Tag("mcp")], Discriminator(_tool_kind)
]
"""An admin's tool; `kind` defaults to "http"."""


class McpToolSnapshot(Model):
    """One allowed tool of an MCP server as discovered when the plan was built (`tools/list`)."""

    server: ToolIdentifier = Field(description="McpServerTool.name")
    tool: str = Field(min_length=1, max_length=128, description="The tool's name on the server")
    name: ToolIdentifier = Field(description="The name the model sees")
    description: str = Field(default="", max_length=2000)
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    write: bool = True

    @field_validator("parameters")
    @classmethod
    def _bounded_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_json_size(value, limit=SCHEMA_JSON_MAX, what="the JSON Schema")


class ActionMapping(Model):
    """Which tool carries out one action the SOP describes; `tool` None: no tool does (handoff covers it)."""

    action: str = Field(min_length=1, max_length=500)
    tool: ToolIdentifier | None = None


class ToolCallStatus(StrEnum):
    OK = "ok"
    ERROR = "error"
    """The tool answered with an error, or could not be reached."""
    TIMEOUT = "timeout"
    INVALID_ARGUMENTS = "invalid_arguments"
    REFUSED = "refused"
    """The platform refused it: address policy, unknown tool, rate or concurrency limit."""
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    """A write action held until the customer confirms (nothing ran)."""
    DECLINED = "declined"
    """The customer said no to a held write action (nothing ran)."""
    NOT_CONFIRMED = "not_confirmed"
    """The customer's next message was not an explicit confirmation: the held action was dropped."""


class ToolCallRecord(Model):
    """One tool call as the transcript keeps it. Arguments are redacted (sensitive ones, secrets)."""

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=128)
    arguments: dict[str, Any] = Field(default_factory=dict)
    status: ToolCallStatus
    write: bool = False
    confirmed: bool = Field(default=False, description="A write action the customer confirmed before it ran")
    duration_ms: float | None = Field(default=None, ge=0)
    summary: str = Field(default="", max_length=500, description="What came back, shortened, or why it failed")
    started_at: UtcDatetime = Field(default_factory=utcnow)

    @field_validator("arguments")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_json_size(value, limit=ARGUMENTS_JSON_MAX, what="the arguments")


class PendingAction(Model):
    """A write action the model asked for, held by the engine until the customer confirms it.

    `arguments` are exactly what will run (unredacted: kept on the session only until it is settled);
    `statement` is what the customer was told will happen, rendered in code from the arguments.
    """

    call_id: str = Field(min_length=1, max_length=64)
    tool: ToolIdentifier
    arguments: dict[str, Any] = Field(default_factory=dict)
    statement: str = Field(min_length=1, max_length=2000)
    proposed_at: UtcDatetime = Field(default_factory=utcnow)
    proposed_in_turn: int = Field(ge=1, description="seq of the agent turn that asked for confirmation")
    tool_digest: str | None = Field(
        default=None,
        max_length=64,
        description="sha256 of the tool's definition when it was proposed: a tool the admin changed since "
        "(URL, schema, write flag, MCP server) does not run on a yes given to the old one",
    )

    @field_validator("arguments")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_json_size(value, limit=ARGUMENTS_JSON_MAX, what="the arguments")


class StoredSecret(Record):
    """A tenant's secret, encrypted at rest (`oratio.secrets`). Never returned through any door."""

    name: SecretName
    ciphertext: str = Field(max_length=20_000, description="base64 of the cipher's output")
    key_id: str = Field(max_length=256, description="Which key encrypted it (local key id or KMS key)")
    created_at: UtcDatetime = Field(default_factory=utcnow)
    updated_at: UtcDatetime = Field(default_factory=utcnow)


class SecretInfo(Model):
    """What a door may show about a secret: its name and dates, never its value."""

    name: SecretName
    created_at: UtcDatetime
    updated_at: UtcDatetime


class ToolTestResult(Model):
    """A dry run of one tool with sample arguments (MCP `test_agent_tool`)."""

    tool: str
    valid: bool
    errors: list[str] = Field(default_factory=list)
    request: dict[str, Any] | None = Field(default=None, description="What would be sent, secrets masked")
    sent: bool = False
    status: ToolCallStatus | None = None
    result: Any = None
    duration_ms: float | None = None
    discovered: list[McpToolSnapshot] | None = Field(
        default=None, description="An MCP server's test: its allowed tools as listed, with their input schemas"
    )


__all__ = [
    "ARGUMENTS_JSON_MAX",
    "RESERVED_TOOL_NAMES",
    "SECRET_REF_PATTERN",
    "ActionMapping",
    "HttpMethod",
    "HttpTool",
    "McpServerTool",
    "McpToolSnapshot",
    "McpTransport",
    "PendingAction",
    "SecretInfo",
    "SecretName",
    "StoredSecret",
    "ToolCallRecord",
    "ToolCallStatus",
    "ToolDefinition",
    "ToolIdentifier",
    "ToolTestResult",
    "check_json_size",
    "check_unique_names",
]


def check_unique_names(tools: list[HttpTool | McpServerTool]) -> list[HttpTool | McpServerTool]:
    """Tool (and MCP server) names are unique within an agent."""
    seen: set[str] = set()
    for item in tools:
        if item.name in seen:
            raise ValueError(f"two tools are named '{item.name}'")
        seen.add(item.name)
    return tools
