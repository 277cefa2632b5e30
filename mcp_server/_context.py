"""What every tool module gets: the services MCP uses, the caller's principal, and error translation.

The MCP door receives `McpServices`, the services its tools, resources and prompts call, not the
whole `Platform` (no backends, leases, ingestion or session sweeper). A `Platform` satisfies it
structurally, so the composition root (`oratio_app`) hands one over; a door module never imports
`oratio.platform` (`tests/test_door_data_access.py`). Member names are the `Platform`'s, so tool
code reads `tc.platform.agents` whatever the object behind it; a tool that needs another service
adds it here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

import anyio.to_thread
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import ValidationError

from mcp_server._principal import PrincipalSource
from oratio.config import Settings
from oratio.errors import OratioError
from oratio.runtime import ConversationEngine
from oratio.services import (
    AccessService,
    AgentService,
    DocumentService,
    KeyService,
    NotificationService,
    SessionService,
    TenantService,
)
from oratio.services.agent_tools import ToolService
from oratio.services.analysis import AnalysisService
from oratio.services.creation import AgentBuilder
from oratio.services.dispatcher import OutboxDispatcher
from oratio.services.handoff import HandoffService
from oratio.services.knowledge import KnowledgeService
from oratio.services.live import EventTail
from oratio.services.oauth import OAuthService
from oratio.services.outbox import OutboxService
from oratio.services.plans import PlanService
from oratio.services.rate_limits import RateLimits
from oratio.services.secrets import SecretService
from oratio.services.service_accounts import ServiceAccountService
from oratio.services.simulations import SimulationService
from schemas import Principal

T = TypeVar("T")

__all__ = ["McpServices", "ToolContext", "describe_validation_error", "tool_errors"]


class McpServices(Protocol):
    """The services the MCP door receives (read-only: the door never rewires them)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def tenants(self) -> TenantService: ...

    @property
    def access(self) -> AccessService: ...

    @property
    def oauth(self) -> OAuthService: ...

    @property
    def service_accounts(self) -> ServiceAccountService: ...

    @property
    def agents(self) -> AgentService: ...

    @property
    def documents(self) -> DocumentService: ...

    @property
    def keys(self) -> KeyService: ...

    @property
    def sessions(self) -> SessionService: ...

    @property
    def analyses(self) -> AnalysisService: ...

    @property
    def notifications(self) -> NotificationService: ...

    @property
    def knowledge(self) -> KnowledgeService: ...

    @property
    def handoff(self) -> HandoffService: ...

    @property
    def deliveries(self) -> OutboxService: ...

    @property
    def plans(self) -> PlanService: ...

    @property
    def rate_limits(self) -> RateLimits: ...

    @property
    def simulations(self) -> SimulationService: ...

    @property
    def agent_tools(self) -> ToolService: ...

    @property
    def secrets(self) -> SecretService: ...

    @property
    def outbox(self) -> OutboxDispatcher: ...

    @property
    def engine(self) -> ConversationEngine: ...

    @property
    def builder(self) -> AgentBuilder | None: ...

    def now(self) -> datetime: ...

    def tailer(self, poll_interval: float | None = None) -> EventTail: ...


@dataclass(frozen=True)
class ToolContext:
    platform: McpServices
    """The services (named `platform` as before, so tool code reads `tc.platform.agents`)."""
    principals: PrincipalSource

    def principal(self) -> Principal:
        principal = self.principals.current()
        if principal is None:
            raise ToolError("not authenticated: connect with an admin token")
        return principal

    async def call(self, fn: Callable[[], T]) -> T:
        """Run a (blocking) service call in a worker thread, with core errors as tool errors."""
        with tool_errors():
            return await anyio.to_thread.run_sync(fn)


@contextmanager
def tool_errors() -> Iterator[None]:
    """Core and validation errors become MCP tool errors whose text a model can act on.

    Anything else is a bug: the SDK reports it as a bare failure and logs the traceback.
    """
    try:
        yield
    except OratioError as exc:
        raise ToolError(f"{exc.code}: {exc.message}") from None
    except ValidationError as exc:
        raise ToolError(f"invalid_input: {describe_validation_error(exc)}") from None


def describe_validation_error(exc: ValidationError, most: int = 5) -> str:
    """`field.path: message; ...` for the first few problems, without echoing the input values."""
    problems = []
    for error in exc.errors()[:most]:
        where = ".".join(str(part) for part in error["loc"]) or "input"
        problems.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - most
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")
