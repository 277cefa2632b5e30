"""What the dashboard door may use: the services its page API and live feed call, not the whole `Platform`.

The JSON API reads agents, sessions and notifications, lists and retries deliveries (waking the
`outbox`), mints and revokes keys, and exports sessions with their analyses (`analyses`); every
request and the WebSocket authenticate an admin (`access` for bearer tokens, `signin` for people's
cookie sessions); the agent page reads and edits plans, runs simulations, rebuilds
(`builder`) and test-chats (`engine`); the live feed follows the shared
event-log tailer (`tailer`). A `Platform` satisfies
this structurally; the composition root (`oratio_app`) hands one over, and no door module imports
`oratio.platform` (`tests/test_door_data_access.py`). Member names are the `Platform`'s.
"""

from __future__ import annotations

from typing import Protocol

from oratio.config import Settings
from oratio.runtime import ConversationEngine
from oratio.services import (
    AccessService,
    AgentService,
    DocumentService,
    KeyService,
    NotificationService,
    SessionService,
)
from oratio.services.agent_tools import ToolService
from oratio.services.analysis import AnalysisService
from oratio.services.creation import AgentBuilder
from oratio.services.creations import CreationService
from oratio.services.dispatcher import OutboxDispatcher
from oratio.services.handoff import HandoffService
from oratio.services.live import EventTail
from oratio.services.oauth import OAuthService
from oratio.services.oidc_signin import OidcSignIn
from oratio.services.outbox import OutboxService
from oratio.services.plans import PlanService
from oratio.services.secrets import SecretService
from oratio.services.service_accounts import ServiceAccountService
from oratio.services.signin import SignInService
from oratio.services.simulations import SimulationService
from oratio.services.stats import StatsService
from oratio.services.tenants import TenantService

__all__ = ["DashboardServices"]


class DashboardServices(Protocol):
    """The services the dashboard receives (read-only: the door never rewires them)."""

    @property
    def access(self) -> AccessService: ...

    @property
    def tenants(self) -> TenantService: ...  # the sign-in check's answer names the tenant (dashboard.signin)

    @property
    def agents(self) -> AgentService: ...

    @property
    def documents(self) -> DocumentService: ...

    @property
    def creations(self) -> CreationService: ...  # a build's record and owner, for the progress view

    @property
    def builder(self) -> AgentBuilder | None: ...  # starts builds of agents created in the page

    @property
    def sessions(self) -> SessionService: ...

    @property
    def notifications(self) -> NotificationService: ...

    @property
    def handoff(self) -> HandoffService: ...

    @property
    def analyses(self) -> AnalysisService: ...

    @property
    def stats(self) -> StatsService: ...

    @property
    def deliveries(self) -> OutboxService: ...

    @property
    def outbox(self) -> OutboxDispatcher: ...

    @property
    def keys(self) -> KeyService: ...

    @property
    def signin(self) -> SignInService: ...

    @property
    def oidc(self) -> OidcSignIn | None: ...  # sign-in through the configured OIDC issuer (dashboard.oidc)

    @property
    def service_accounts(self) -> ServiceAccountService: ...

    @property
    def oauth(self) -> OAuthService: ...
    # The agent page (`dashboard.agent_page`, `dashboard.agent_access`).
    @property
    def settings(self) -> Settings: ...

    @property
    def plans(self) -> PlanService: ...

    @property
    def simulations(self) -> SimulationService: ...

    @property
    def agent_tools(self) -> ToolService: ...

    @property
    def secrets(self) -> SecretService: ...

    @property
    def engine(self) -> ConversationEngine: ...

    def tailer(self, poll_interval: float | None = None) -> EventTail: ...
