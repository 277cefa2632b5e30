"""Verified deployed plans, kept in memory so a conversation's turns do not re-read and re-hash them.

`AgentService.artifact` reads the agent record on every turn (a pause or a new deploy applies at
once, in every process) and serves the plan that record names: (tenant, agent, version, sha256).
The stored bytes of that plan were read and hashed against the sha256 recorded at review when the
entry was filled; for `recheck_seconds` (monotonic clock, `ORATIO_PLAN_RECHECK_SECONDS`) the entry
is served as it is, after that the bytes are read and hashed again before it serves another turn.

What holds, and how:

* The reviewed plan is the one that serves: an entry holds only bytes whose hash matched the record,
  and its key carries that hash, so a new deploy (a new version and hash in the record) is never
  answered from an old entry, in this process or another.
* Bytes changed in storage after review are never served: the entry keeps the reviewed ones. They
  are found out (agent `failed`, 503) at the first recheck, at most `recheck_seconds` later, instead
  of at the very next turn; `recheck_seconds=0` reads and hashes them on every turn, as before.
* Parsing: an entry past its recheck is still used when its bytes hash the same (no parse again).
* Memory: at most `size` plans (least recently used dropped first); a plan is a few KiB.

It also remembers the last agent record each plan was served for (`remember`, `remembered`), so a
conversation's next turn need not read the record either: that turn's commit carries the condition
that the record is still that version (`oratio.store.ports.Unchanged`), so a pause, an edit or a new
deploy made anywhere still applies at the very next turn (`AgentService.serving`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from schemas import Agent, DeployedArtifact

PLAN_CACHE_SIZE = 512
"""Deployed artifacts kept in memory per process; a plan is a few KiB, so this is a few MiB at most."""

PlanKey = tuple[str, str, int, str]
"""(tenant id, agent id, version, sha256 of the stored bytes)."""


class PlanCache:
    """A small, thread-safe LRU of verified, parsed artifacts keyed by (tenant, agent, version, sha256)."""

    def __init__(
        self,
        size: int = PLAN_CACHE_SIZE,
        *,
        recheck_seconds: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._size = size
        self._recheck = recheck_seconds
        self._now = monotonic
        self._items: OrderedDict[PlanKey, tuple[DeployedArtifact, float]] = OrderedDict()
        self._records: OrderedDict[tuple[str, str], Agent] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, agent: Agent) -> None:
        """The agent record a plan was just served for (read from the store on this call)."""
        with self._lock:
            self._records[(agent.tenant_id, agent.id)] = agent
            self._records.move_to_end((agent.tenant_id, agent.id))
            while len(self._records) > self._size:
                self._records.popitem(last=False)

    def remembered(self, tenant_id: str, agent_id: str) -> Agent | None:
        """The agent record last remembered, only to be used under an `Unchanged` condition."""
        with self._lock:
            return self._records.get((tenant_id, agent_id))

    def fresh(self, key: PlanKey) -> DeployedArtifact | None:
        """The artifact if its bytes were hashed and matched less than `recheck_seconds` ago, else None."""
        if self._recheck <= 0:
            return None
        with self._lock:
            found = self._items.get(key)
            if found is None or found[1] + self._recheck <= self._now():
                return None
            self._items.move_to_end(key)
            return found[0]

    def get(self, key: PlanKey) -> DeployedArtifact | None:
        """The parsed artifact for bytes that hash to `key`'s sha256, however long ago they were checked."""
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: PlanKey, artifact: DeployedArtifact) -> None:
        """Remember `artifact`, whose stored bytes were hashed and matched just now."""
        with self._lock:
            self._items[key] = (artifact, self._now())
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def forget(self, tenant_id: str, agent_id: str) -> None:
        """Drop every cached version of one agent, and its remembered record (on deploy, or a record that moved)."""
        with self._lock:
            self._records.pop((tenant_id, agent_id), None)
            for key in [k for k in self._items if k[0] == tenant_id and k[1] == agent_id]:
                del self._items[key]
