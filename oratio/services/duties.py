"""Duties: periodic jobs that one process runs for all replicas (the session sweep, the escalation check).

Every `oratio serve` starts the same periodic jobs. Run in each of N replicas, the session sweep
ends the same idle sessions N times over (conditional writes make that safe, not cheap), and the
analysis it triggers is attempted N times. A duty is a named row in `DUTIES`: the process holding it
(its `holder` is the process's lease owner id) renews it each time it runs the job, every other process
sees it held and skips the job, and when the holder stops renewing (it stopped, hung or was killed)
the row expires and the next process to try takes it over with a conditional write. A takeover
happens at most `ttl` after the holder's last run; two processes never both believe they hold it,
because each claim is a conditional write on the row's version.

`Duty.guard(job)` is the job as a periodic runner calls it: it runs only while the duty is held.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from oratio.errors import Conflict
from oratio.services._common import Backends
from oratio.services.session_timeouts import IdleSweeper
from oratio.store.tables import DUTIES
from schemas.leases import DutyLease

logger = logging.getLogger("oratio.duties")


class Duty:
    """One named duty as seen by one process (`holder`): `claim` it before each run, `release` on stop."""

    def __init__(
        self,
        backends: Backends,
        name: str,
        holder: str,
        ttl_seconds: float,
        holder_dead: Callable[[str], bool] | None = None,
    ) -> None:
        """`holder_dead` (`LeaseService.known_dead`) lets a claim take over at once from a holder whose
        process is known dead (killed -9 on this host, or its lease expired), instead of waiting out `ttl`:
        a duty such as recovery then runs within the lease time of a crash, not a duty TTL later."""
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self._b = backends
        self.name = name
        self.holder = holder
        self.ttl = timedelta(seconds=ttl_seconds)
        self._holder_dead_check = holder_dead

    def claim(self) -> bool:
        """True if this process holds the duty for the next `ttl` (taken, renewed or taken over); False
        while another process holds an unexpired claim, or won the race for it just now."""
        now = self._b.clock()
        current = self._b.store.get(DUTIES, "duties", self.name)
        try:
            if current is None:
                self._b.store.insert(DUTIES, DutyLease(name=self.name, holder=self.holder, expires_at=now + self.ttl))
            elif current.holder == self.holder or current.expires_at <= now or self._holder_dead(current.holder):
                if current.holder != self.holder:
                    logger.info("duty=%s holder=%s | taking over from %s", self.name, self.holder, current.holder)
                self._b.store.replace(
                    DUTIES, current.model_copy(update={"holder": self.holder, "expires_at": now + self.ttl})
                )
            else:
                return False
        except Conflict:
            return False  # another process claimed it between our read and our write
        return True

    def _holder_dead(self, holder: str) -> bool:
        return self._holder_dead_check is not None and self._holder_dead_check(holder)

    def holder_now(self) -> str | None:
        """Who holds the duty right now (None: nobody, or an expired claim)."""
        current = self._b.store.get(DUTIES, "duties", self.name)
        return current.holder if current is not None and current.expires_at > self._b.clock() else None

    def release(self) -> None:
        """Give the duty up at once (a clean stop), so another process takes it at its next run, not a TTL later."""
        current = self._b.store.get(DUTIES, "duties", self.name)
        if current is None or current.holder != self.holder:
            return
        try:
            self._b.store.replace(DUTIES, current.model_copy(update={"expires_at": self._b.clock()}))
        except Conflict:
            pass  # taken over meanwhile: nothing of ours to give up

    def guard(self, job: Callable[[], object]) -> Callable[[], None]:
        """`job`, run only when `claim` succeeds: what a periodic runner calls on every tick."""

        def run() -> None:
            if self.claim():
                job()

        return run


class DutySweeper:
    """A periodic job run under a duty: every `interval_s`, the job runs if this process holds the duty.

    `stop` ends the loop and releases the duty, so after a clean stop another replica takes the job over
    at its next tick instead of a TTL later.
    """

    def __init__(self, duty: Duty, job: Callable[[], object], interval_s: float) -> None:
        self.duty = duty
        self._tick = duty.guard(job)
        self._sweeper = IdleSweeper(self._tick, interval_s)

    def run_once(self) -> None:
        """One tick as the loop runs it (the job if the duty is held): how a test drives it without a thread."""
        self._tick()

    def start(self) -> None:
        self._sweeper.start()

    def stop(self, timeout: float = 10.0) -> bool:
        stopped = self._sweeper.stop(timeout)
        self.duty.release()
        return stopped


__all__ = ["Duty", "DutySweeper"]
