"""Client-chosen runtime session ids that hold across replicas: a memory cache in front of the store.

`SessionBindings` (agentcore_apps.contract) answers from process memory; on a miss the store's
aliases (`oratio.services.runtime_sessions`) are asked once, in a worker thread, and the answer is
cached. A first turn's binding is stored before it is cached, first bind winning, so a client whose
next turn lands on another replica, a new microVM or a restarted process continues its session.
"""

from __future__ import annotations

from typing import Protocol

import anyio.to_thread

from agentcore_apps.contract import SessionBindings, check_runtime_session_id, session_from_runtime_id


class SessionLookup(Protocol):
    """The durable side (`RuntimeSessionAliases` satisfies it). Blocking calls."""

    def get(self, tenant_id: str, agent_id: str, runtime_id: str) -> str | None: ...

    def bind(self, tenant_id: str, agent_id: str, runtime_id: str, session_id: str) -> str: ...


class DurableBindings:
    """`load` before resolving a turn's session, `remember` after it ran; `memory` for `resolve_session`."""

    def __init__(self, memory: SessionBindings, durable: SessionLookup) -> None:
        self.memory = memory
        self._durable = durable

    async def load(self, tenant_id: str, agent_id: str, header: str | None) -> None:
        """Bring a client-chosen id's stored session into memory (no-op for none, or the `oratio-` form)."""
        if header is None or session_from_runtime_id(header) is not None:
            return
        check_runtime_session_id(header)  # refuse a bad id before any store read
        if self.memory.get(tenant_id, agent_id, header) is not None:
            return
        found = await anyio.to_thread.run_sync(self._durable.get, tenant_id, agent_id, header)
        if found is not None:
            self.memory.bind(tenant_id, agent_id, header, found)

    async def remember(self, tenant_id: str, agent_id: str, header: str | None, session_id: str) -> None:
        """Bind a client-chosen id to the session its turn ran in (stored first; the first stored wins)."""
        if header is None or session_from_runtime_id(header) is not None:
            return
        if self.memory.get(tenant_id, agent_id, header) == session_id:
            return  # bound (and stored) already: the common case, every turn after the first
        winner = await anyio.to_thread.run_sync(self._durable.bind, tenant_id, agent_id, header, session_id)
        self.memory.bind(tenant_id, agent_id, header, winner)
