"""Leases: "is the process that owns this work still alive?", answered the same on SQLite and DynamoDB.

Each serving process holds a lease row (owner id, pid, host, expires_at) and renews it on a
heartbeat. Work a process takes on (a live session, and later a creation or an outbox delivery) is
stamped with its owner id; recovery touches only work whose owner's lease is gone or expired. So a
second `oratio serve` on the same data leaves the first one's live sessions alone, and a process that
was killed -9 has its work recovered one TTL later by whichever process is still running.

Why leases and not a lock file: a lock only works on one machine's filesystem, while leases live in
the record store and so hold across hosts on DynamoDB (the scale-out path). Writes are conditional
(insert-if-absent, replace-if-version), so two processes never both believe they hold one row.
See docs/recovery.md.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import timedelta

from oratio.errors import Conflict
from oratio.ids import new_id
from oratio.services._common import Backends, all_items
from oratio.services.duties import Duty
from oratio.store.tables import LEASES
from schemas import Lease

logger = logging.getLogger("oratio.leases")


class LeaseService:
    """acquire / renew / release this process's lease; `is_alive(owner)` for any owner id.

    One instance per process: `owner_id` is this process's identity in the store.
    """

    def __init__(self, backends: Backends, ttl_seconds: float, owner_id: str | None = None) -> None:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self._b = backends
        self.ttl = timedelta(seconds=ttl_seconds)
        self.owner_id = owner_id or new_id("owner")
        self._host = socket.gethostname()[:255]
        self._held: Lease | None = None

    @property
    def held(self) -> bool:
        return self._held is not None

    def acquire(self) -> Lease:
        """Insert our lease row (conditional: fails if the id is taken, which a fresh id never is)."""
        now = self._b.clock()
        lease = Lease(
            owner_id=self.owner_id,
            pid=os.getpid(),
            host=self._host,
            started_at=now,
            expires_at=now + self.ttl,
        )
        self._held = self._b.store.insert(LEASES, lease)
        return self._held

    def renew(self) -> Lease:
        """Push our expiry one TTL ahead. If another process declared us dead meanwhile, take a new row."""
        current = self._held
        if current is None:
            return self.acquire()
        try:
            self._held = self._b.store.replace(
                LEASES, current.model_copy(update={"expires_at": self._b.clock() + self.ttl})
            )
        except Conflict:
            logger.warning(
                "owner=%s | lease lost (presumed dead by another process); acquiring it again", self.owner_id
            )
            self._b.store.delete(LEASES, "leases", self.owner_id)
            return self.acquire()
        return self._held

    def release(self) -> None:
        """Give the lease up on a clean stop, so nobody waits a TTL to recover our (already ended) work."""
        if self._held is not None:
            self._b.store.delete(LEASES, "leases", self.owner_id)
            self._held = None

    def is_alive(self, owner_id: str | None) -> bool:
        """True while `owner_id` holds an unexpired lease. None (work no process claimed) is not alive."""
        if owner_id is None:
            return False
        lease = self._b.store.get(LEASES, "leases", owner_id)
        return lease is not None and self._live(lease)

    def known_dead(self, owner_id: str) -> bool:
        """True only when `owner_id` has a lease row that is no longer live (expired, or its process is gone
        on this host). No row proves nothing (a process that never took a lease, or one already forgotten)."""
        if owner_id == self.owner_id:
            return False
        lease = self._b.store.get(LEASES, "leases", owner_id)
        return lease is not None and not self._live(lease)

    def liveness(self) -> Callable[[str | None], bool]:
        """`is_alive` for one recovery pass: the lease rows are read once, not once per session.

        An owner missing from that read (a process that started a moment later) is looked up again,
        so a new process's first sessions are never taken for a dead one's.
        """
        live = {lease.owner_id for lease in all_items(self._b.store, LEASES, "leases") if self._live(lease)}
        return lambda owner: owner in live or self.is_alive(owner)

    def _live(self, lease: Lease) -> bool:
        """Unexpired, and (when it is on this host) its process still exists.

        The pid check lets a restart after kill -9 on the same machine recover at once instead of
        after a TTL. A reused pid only makes a dead owner look alive until its lease expires.
        """
        if lease.owner_id == self.owner_id:
            return self._held is not None
        if lease.expires_at <= self._b.clock():
            return False
        return lease.host != self._host or _pid_running(lease.pid)

    def others_alive(self) -> list[Lease]:
        """The other processes holding a live lease (to say so at start)."""
        return [
            lease
            for lease in all_items(self._b.store, LEASES, "leases")
            if lease.owner_id != self.owner_id and self._live(lease)
        ]

    def forget_expired(self) -> list[str]:
        """Delete dead owners' lease rows (after their work was recovered); returns their owner ids."""
        gone = []
        for lease in all_items(self._b.store, LEASES, "leases"):
            if lease.owner_id != self.owner_id and not self._live(lease):
                self._b.store.delete(LEASES, "leases", lease.owner_id)
                gone.append(lease.owner_id)
        return gone

    def duty(self, name: str, ttl_seconds: float) -> Duty:
        """The named periodic duty (oratio.services.duties) as this process, `owner_id`, claims it."""
        return Duty(self._b, name, self.owner_id, ttl_seconds, holder_dead=self.known_dead)

    def heartbeat(self, recover: Callable[[], object], interval_s: float | None = None) -> Heartbeat:
        """A thread that renews the lease and then runs `recover`, every third of the TTL by default."""
        return Heartbeat(self, recover, interval_s or self.ttl.total_seconds() / 3)


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class Heartbeat:
    """Renews a lease and runs recovery on a daemon thread until `stop`; waits on an Event, never sleeps."""

    def __init__(self, leases: LeaseService, recover: Callable[[], object], interval_s: float) -> None:
        self._leases = leases
        self._recover = recover
        self._interval = interval_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="oratio-lease-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self._leases.renew()
                self._recover()
            except Exception:
                # The outermost frame of a background loop: a failed beat (database busy, say) is
                # logged and the next one tries again, well within the TTL.
                logger.exception("lease heartbeat failed")
