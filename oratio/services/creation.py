"""The seam between the platform and the AgentCreator that builds agents.

The core does not import the AgentCreator (it is a door, like MCP); the process entry point
attaches one (`oratio.platform.Platform.with_builder`) and doors that create or update agents
(MCP tools, the CLI) start builds through this Protocol.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from schemas import CreationRecord

Progress = Callable[[int, int, str], Awaitable[None]]
"""(stages done, stages in all, what happened): MCP progress notifications, CLI lines."""


class AgentBuilder(Protocol):
    async def create(self, tenant_id: str, agent_id: str, progress: Progress | None = None) -> CreationRecord:
        """Build, review, test and deploy the agent's current spec; the record says how it went."""
        ...

    def records(self, tenant_id: str, agent_id: str) -> list[CreationRecord]:
        """Every creation run of the agent, oldest first."""
        ...
