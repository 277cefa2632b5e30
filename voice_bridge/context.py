"""What the voice door may use: the services a call needs, not the whole `Platform`.

A call authenticates its key (`keys`), checks the deployed agent (`agents`), opens, settles and
records its session (`sessions`), runs turns (`engine`) and, on Nova Sonic, searches knowledge and
requests handoffs (`knowledge`, `handoff`). A call follows its session's events (`tailer`) so a person
can take it over, and an admin's listen socket is authenticated like the dashboard's (`access`). The phone
door (voice_bridge.twilio_door) checks a webhook's signature with the tenant's Twilio auth token (`secrets`)
against the public URL, and signs stream tickets with a key derived from the platform's secret (`settings`).
The cascade records each reply's end-of-speech-to-first-audio latency on its turn (`stats`). The phone
webhook's rate is counted where the platform's limits are (`rate_limits`: per process, or in the store).
A `Platform` satisfies this structurally.
"""

from __future__ import annotations

from typing import Protocol

from oratio.config import Settings
from oratio.runtime import ConversationEngine
from oratio.services import AccessService, AgentService, KeyService, SessionService
from oratio.services.handoff import HandoffService
from oratio.services.knowledge import KnowledgeService
from oratio.services.live import EventTail
from oratio.services.rate_limits import RateLimits
from oratio.services.secrets import SecretService
from oratio.services.stats import StatsService

__all__ = ["VoiceServices"]


class VoiceServices(Protocol):
    """The services the voice door receives (read-only: the door never rewires them)."""

    @property
    def keys(self) -> KeyService: ...

    @property
    def agents(self) -> AgentService: ...

    @property
    def sessions(self) -> SessionService: ...

    @property
    def engine(self) -> ConversationEngine: ...

    @property
    def knowledge(self) -> KnowledgeService: ...

    @property
    def handoff(self) -> HandoffService: ...

    @property
    def access(self) -> AccessService: ...

    @property
    def secrets(self) -> SecretService: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def stats(self) -> StatsService: ...

    @property
    def rate_limits(self) -> RateLimits: ...

    def tailer(self, poll_interval: float | None = None) -> EventTail: ...
