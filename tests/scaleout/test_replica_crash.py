"""kill -9 of one replica in the middle of load, then its restart: nothing acknowledged is lost or doubled.

Six customers keep talking through the proxy while replica 0 is killed with SIGKILL and started again.
A request cut off with the replica is not acknowledged (the customer sends its next message); a session
the crash interrupted answers 409 and the customer starts a new one. Afterwards, from the shared store:

* every acknowledged message is stored exactly once, answered by the next turn with the reply given;
* the killed replica's live sessions were taken care of by the others within the lease time (each one
  interrupted, or continued on a survivor, which then owns it);
* only the killed replica's sessions were interrupted: no replica ended a live replica's session, not the
  survivors while it was dead, nor the restarted replica at its start-up; in particular a session a
  survivor went on serving after the kill is not ended (before the turn made its replica the session's
  owner, recovery ended every session the dead replica had started, wherever it was being served).
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Callable

import anyio
import anyio.to_thread
import httpx
import pytest

from oratio.services._common import all_items
from oratio.store.tables import SESSIONS
from schemas import Session, SessionStatus
from tests.scaleout.customers import customer, say, transcript
from tests.scaleout.world import World
from tests.support.replicas import LEASE_TTL_S, Cluster

pytestmark = pytest.mark.anyio

CUSTOMERS = 6
BEFORE_KILL = 8
"""Acknowledged turns before the kill, and again while the replica is dead, and after its restart."""
RUN_S = 180.0
"""Bounds the whole load, a guard against a hang: ~25 s on a loaded 2-core machine, 90+ s when it is overloaded."""
VICTIM = 0
RECOVERY_BOUND_S = LEASE_TTL_S
"""Recovery within the lease time: the dead replica's pid is gone at once (same host), and when it held the
recovery duty (one replica recovers for all) a survivor takes the duty over at its next heartbeat (a third
of a TTL later), since the holder's lease is known dead (`LeaseService.known_dead`)."""


class Load:
    """Customers talking until told to stop; each acknowledged turn wakes whoever waits on progress."""

    def __init__(self, http: httpx.AsyncClient, world: World) -> None:
        self.http = http
        self.world = world
        self.acknowledged: dict[str, dict[str, str]] = defaultdict(dict)
        self.count = 0
        self.stopping = False
        self.killed = False
        self.served_after_kill: set[str] = set()
        """Sessions a survivor answered a message of that was sent after the kill: live, never to be ended."""
        self._progress = anyio.Event()
        self._messages = itertools.count()

    async def customer(self) -> None:
        session_id: str | None = None
        while not self.stopping:
            message = f"do you ship to Norway, message {next(self._messages)}?"
            after_kill = self.killed
            try:
                response = await say(self.http, self.world, message, session_id)
            except httpx.TransportError:  # cut off with the killed replica: not acknowledged
                continue
            if response.status_code == 409 and response.json()["error"] == "invalid_state":
                session_id = None  # the crash interrupted the session: start a new one
                continue
            if response.status_code == 409 and response.json()["error"] == "session_busy":
                continue
            assert response.status_code == 200, response.text
            body = response.json()
            session_id = body["session_id"]
            self.acknowledged[session_id][message] = body["reply"]
            if after_kill:
                self.served_after_kill.add(session_id)
            self.count += 1
            self._progress.set()
            self._progress = anyio.Event()

    async def until(self, done: Callable[[], bool]) -> None:
        """Wait (on acknowledged turns, no polling clock) until `done()` holds."""
        while not done():
            await self._progress.wait()

    async def turns(self, more: int) -> None:
        target = self.count + more
        await self.until(lambda: self.count >= target)


def active_of(replicas: Cluster, owner: str) -> list[Session]:
    """The active sessions `owner` serves, of every tenant (the store's `open` index, as recovery reads it)."""
    active = all_items(replicas.platform.backends.store, SESSIONS, "active", index="open")
    return [s for s in active if s.owner == owner]


async def test_kill_9_of_a_replica_under_load_loses_and_doubles_no_acknowledged_turn(
    replicas: Cluster, world: World
) -> None:
    victim = replicas.owner_of(VICTIM)
    survivors = {replicas.owner_of(i) for i in range(len(replicas.replicas)) if i != VICTIM}
    async with customer(replicas) as http, anyio.create_task_group() as group:
        load = Load(http, world)
        for _ in range(CUSTOMERS):
            group.start_soon(load.customer)
        with anyio.fail_after(RUN_S):
            await load.turns(BEFORE_KILL)
            assert active_of(replicas, victim), "the victim served no session"
            await anyio.to_thread.run_sync(replicas.kill, VICTIM)
            load.killed = True
            killed_at = time.monotonic()
            with anyio.fail_after(RECOVERY_BOUND_S):
                await load.until(lambda: not active_of(replicas, victim))
            recovered_s = time.monotonic() - killed_at
            await load.turns(BEFORE_KILL)
            await anyio.to_thread.run_sync(replicas.start, VICTIM)
            restarted = replicas.owner_of(VICTIM)
            await load.turns(BEFORE_KILL)
            load.stopping = True
    print(f"the killed replica's sessions were recovered {recovered_s:.2f} s after the kill (lease {LEASE_TTL_S} s)")

    platform = replicas.platform
    stored = 0
    for session_id, answers in load.acknowledged.items():
        turns = transcript(platform, world, session_id)
        texts = [turn.text for turn in turns]
        for message, reply in answers.items():
            assert texts.count(message) == 1, f"{message!r} stored {texts.count(message)} times"
            at = texts.index(message)
            assert texts[at + 1] == reply, f"{message!r} is not answered by the next turn"
            stored += 1
    assert stored == load.count >= 3 * BEFORE_KILL
    sessions = [platform.sessions.record(world.tenant_id, session_id) for session_id in load.acknowledged]
    interrupted = [s for s in sessions if s.status is SessionStatus.INTERRUPTED]
    assert {s.owner for s in interrupted} <= {victim}, "a live replica's session was marked interrupted"
    assert not {s.id for s in interrupted} & load.served_after_kill, "a session a survivor served was interrupted"
    assert all(s.status is SessionStatus.ACTIVE for s in sessions if s.owner in survivors | {restarted})
