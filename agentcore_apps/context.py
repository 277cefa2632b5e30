"""What the AgentCore runtime door may use: two services, not the whole `Platform`.

The door authenticates a key (`keys`, which decides 401/403/404) and runs a turn (`engine`); it
has no other way to data. A `Platform` satisfies this structurally, and so does any frozen object
with these two attributes, so a test (or another composition) can hand the door exactly these.
"""

from __future__ import annotations

from typing import Protocol

from oratio.runtime import ConversationEngine
from oratio.services.keys import KeyService

__all__ = ["RuntimeServices"]


class RuntimeServices(Protocol):
    """The services the runtime door receives (read-only: the door never rewires them)."""

    @property
    def keys(self) -> KeyService: ...

    @property
    def engine(self) -> ConversationEngine: ...
