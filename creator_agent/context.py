"""What the AgentCreator may use: the services a build needs, not the whole `Platform`.

A build reads the agent and its documents (`agents`, `documents`), keeps its creation record and
progress (`creations`), rehearses on the engine with knowledge search (`engine`, `knowledge`),
deploys through `agents` and tells admins through `notifications`; `settings` gives the stage
timeout. The AgentCore app of the creator authenticates admins (`access`) and checks the agent is
theirs (`agents`). A `Platform` satisfies all three protocols structurally; the composition root
(`oratio_app`) hands one over, and no door module imports `oratio.platform`
(`tests/test_door_data_access.py`). Member names are the `Platform`'s: a stage that needs another
service adds it here.
"""

from __future__ import annotations

from typing import Protocol, Self

from creator_agent.action_plan import ToolDiscovery
from oratio.config import Settings
from oratio.runtime import ConversationEngine
from oratio.services import AccessService, AgentService, DocumentService, NotificationService
from oratio.services.creation import AgentBuilder
from oratio.services.creations import CreationService
from oratio.services.knowledge import KnowledgeService
from oratio.services.plans import PlanService
from oratio.services.simulations import SimulationService

__all__ = ["AttachableServices", "CreatorAppServices", "CreatorServices"]


class CreatorServices(Protocol):
    """The services the AgentCreator's pipeline and stages receive (read-only)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def agents(self) -> AgentService: ...

    @property
    def documents(self) -> DocumentService: ...

    @property
    def creations(self) -> CreationService: ...

    @property
    def knowledge(self) -> KnowledgeService: ...

    @property
    def engine(self) -> ConversationEngine: ...

    @property
    def notifications(self) -> NotificationService: ...

    @property
    def plans(self) -> PlanService: ...

    @property
    def simulations(self) -> SimulationService: ...


class AttachableServices(CreatorServices, Protocol):
    """Services a builder can be attached to: `with_builder` returns the same services with it; `mcp` is the
    platform's one MCP client, which the attached AgentCreator discovers an agent's MCP tools with."""

    @property
    def mcp(self) -> ToolDiscovery: ...

    def with_builder(self, builder: AgentBuilder | None) -> Self: ...


class CreatorAppServices(Protocol):
    """The services the creator's AgentCore app receives: admin tokens and the agents they may build."""

    @property
    def access(self) -> AccessService: ...

    @property
    def agents(self) -> AgentService: ...
