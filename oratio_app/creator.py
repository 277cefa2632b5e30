"""Attaching the AgentCreator to the platform: the only place outside `creator_agent` that builds one.

`attach_creator` (in `creator_agent.models`) imports the creator's stages and through them Strands
and the model providers. `oratio serve` loads every door anyway, but `oratio mcp` is spawned by
Claude Desktop and IDEs on every start and must answer `initialize` fast, so it attaches a
`FirstUseCreator`: the same AgentCreator, imported and built when the first agent is built.
"""

from __future__ import annotations

import threading

from oratio.platform import Platform
from oratio.services.creation import AgentBuilder, Progress, ThinkingModels
from schemas import AgentPlan, CreationRecord
from schemas.simulation import SimulationReport


class FirstUseCreator:
    """An `AgentBuilder` that builds `creator_agent.models.attach_creator`'s AgentCreator on first use."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self._lock = threading.Lock()
        self._creator: AgentBuilder | None = None

    @property
    def has_model(self) -> bool:
        """As the AgentCreator answers: builds think on the server's model when one is configured."""
        return self._platform.settings.model is not None

    def _builder(self) -> AgentBuilder:
        with self._lock:
            if self._creator is None:
                from creator_agent.models import attach_creator

                builder = attach_creator(self._platform).builder
                assert builder is not None
                self._creator = builder
            return self._creator

    async def create(
        self,
        tenant_id: str,
        agent_id: str,
        progress: Progress | None = None,
        *,
        thinking: ThinkingModels | None = None,
    ) -> CreationRecord:
        return await self._builder().create(tenant_id, agent_id, progress, thinking=thinking)

    async def think(self, tenant_id: str, agent_id: str, thinking: ThinkingModels) -> None:
        await self._builder().think(tenant_id, agent_id, thinking)

    def records(self, tenant_id: str, agent_id: str) -> list[CreationRecord]:
        return self._builder().records(tenant_id, agent_id)

    async def revise(
        self,
        tenant_id: str,
        agent_id: str,
        plan: AgentPlan,
        progress: Progress | None = None,
        *,
        base_version: int | None = None,
    ) -> CreationRecord:
        return await self._builder().revise(tenant_id, agent_id, plan, progress, base_version=base_version)

    async def simulate(self, tenant_id: str, agent_id: str, plan: AgentPlan, version: int) -> SimulationReport:
        return await self._builder().simulate(tenant_id, agent_id, plan, version)


def attach_creator_on_first_use(platform: Platform) -> Platform:
    """The platform with a `FirstUseCreator` as its builder (nothing of the creator imported yet)."""
    return platform.with_builder(FirstUseCreator(platform))
