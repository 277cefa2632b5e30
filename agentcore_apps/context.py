"""What the AgentCore runtime door may use: a few services, not the whole `Platform`.

The door authenticates a key (`keys`, which decides 401/403/404), runs a turn (`engine`), and
delivers what the customer did not ask for (a person's messages after a takeover, the agent's after
a return): `feed` reads the session's customer-visible turns after a cursor and `tailer()` (the
platform's one event-log tailer, nudged by this process's writes) says when to read again. It has
no other way to data. A `Platform` satisfies this structurally, and so does any object with these
attributes, so a test (or another composition) can hand the door exactly these.
"""

from __future__ import annotations

from typing import Protocol

from oratio.config import Settings
from oratio.runtime import ConversationEngine
from oratio.services.customer_feed import CustomerFeed
from oratio.services.keys import KeyService
from oratio.services.live import EventTail
from oratio.services.runtime_sessions import RuntimeSessionAliases

__all__ = ["RuntimeServices"]


class RuntimeServices(Protocol):
    """The services the runtime door receives (read-only: the door never rewires them)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def keys(self) -> KeyService: ...

    @property
    def engine(self) -> ConversationEngine: ...

    @property
    def feed(self) -> CustomerFeed: ...

    @property
    def runtime_sessions(self) -> RuntimeSessionAliases: ...

    def tailer(self, poll_interval: float | None = None) -> EventTail: ...
