"""Agents that act: running an admin's tools (HTTP endpoints, MCP servers) on a model's request.

The seam between the conversation engine and the outside world. The engine (and the AgentCreator's
simulations, and the voice bridge's Nova Sonic tools) hand a `ToolRequest` to an `ActionRunner`; the
runner validates the arguments against the tool's JSON Schema, applies the per-tool and per-tenant
limits, and dispatches to the runner for the tool's kind (`http_tool`, `mcp_client`). Nothing here
decides whether a write action may run: that is the confirmation gate's job
(`oratio.runtime.confirmation`), which calls the runner only with arguments the customer confirmed.

Every outcome is data (`ToolOutcome`), never an exception: a slow, failing or refused tool gives the
model an error it can act on and the transcript a status, and the turn goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from schemas import HttpTool, McpServerTool, McpToolSnapshot, ToolCallStatus


class SecretResolver(Protocol):
    """Reads a tenant's secret value for an outbound call (`oratio.services.secrets`). Raises NotFound."""

    def resolve(self, tenant_id: str, name: str) -> str: ...


@dataclass(frozen=True)
class ToolRequest:
    """One call the model (or the gate, with confirmed arguments) asks for."""

    tenant_id: str
    agent_id: str
    session_id: str | None
    tool: HttpTool | McpToolSnapshot
    arguments: Mapping[str, Any]
    server: McpServerTool | None = None
    """For an MCP tool: the server definition from the plan (`AgentPlan.actions`)."""
    deadline_s: float | None = None
    """Seconds left in the turn: the call is cut at min(tool timeout, this)."""


@dataclass(frozen=True)
class ToolOutcome:
    status: ToolCallStatus
    content: Any
    """What the model reads: the result (cut to the size cap, with a note), or {"error": "..."} it can act on."""
    summary: str
    """At most 500 characters for the transcript: what came back, or why it failed. No secrets."""
    duration_ms: float


class ToolRunner(Protocol):
    """Runs one validated request of one kind (HTTP or MCP)."""

    async def run(self, request: ToolRequest) -> ToolOutcome: ...


class ActionRunner(Protocol):
    """What the engine calls: validation, limits, then the runner for the tool's kind."""

    async def run(self, request: ToolRequest) -> ToolOutcome: ...
