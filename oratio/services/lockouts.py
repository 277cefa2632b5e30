"""Sign-in failure lockouts every replica shares (ORATIO_RATE_LIMIT_STATE=store).

`FailureLockout` (oratio.auth.lockout) counts failed sign-ins in process memory, so behind N replicas a
password guesser gets N times `ORATIO_SIGNIN_MAX_FAILURES` tries per lockout. `StoreFailureLockout`
keeps the same count (same window, same lock, same 429 with the seconds left) in one `FAILURE_COUNTS`
row per key, updated with a conditional write on its version, so a failure counted on any replica
counts on all. Failures are rare, so every call reads the row: no local copy to go stale.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from datetime import UTC, datetime

from oratio.errors import Conflict, RateLimited
from oratio.services._common import Backends
from oratio.store.tables import FAILURE_COUNTS, RATE_BUCKET_SHARDS
from schemas.rate_limits import FailureCount

WRITE_ATTEMPTS = 16
"""Conditional writes tried to count one failure; past them the failure is counted as a lock (fail closed)."""


class StoreFailureLockout:
    """`Lockout` over the store: `max_failures` failures within `window_s` lock a key for `lockout_s`."""

    def __init__(
        self,
        backends: Backends,
        scope: str,
        max_failures: int,
        window_s: float,
        lockout_s: float,
        *,
        what: str = "sign-in",
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._b = backends
        self.scope = scope
        self.max_failures = max_failures
        self.window_s = window_s
        self.lockout_s = lockout_s
        self._what = what
        self._clock = clock or (lambda: backends.clock().timestamp())

    def check(self, key: str) -> None:
        """RateLimited while `key` is locked out (on any replica); nothing is counted."""
        partition, key_hash = self._key(key)
        row = self._b.store.get(FAILURE_COUNTS, partition, key_hash)
        now = self._clock()
        if row is not None and row.locked_until > now:
            wait = row.locked_until - now
            raise RateLimited(
                f"too many failed {self._what} attempts; try again in {max(1, math.ceil(wait))} s", retry_after=wait
            )

    def failed(self, key: str) -> None:
        """Count one failure; the `max_failures`-th within the window locks the key for `lockout_s`."""
        partition, key_hash = self._key(key)
        for _ in range(WRITE_ATTEMPTS):
            row = self._b.store.get(FAILURE_COUNTS, partition, key_hash)
            now = self._clock()
            failures, first_at, locked_until = 0, now, 0.0
            if row is not None and not (now - row.first_at > self.window_s and row.locked_until <= now):
                failures, first_at, locked_until = row.failures, row.first_at, row.locked_until
            failures += 1
            if failures >= self.max_failures:
                failures, first_at, locked_until = 0, now, now + self.lockout_s
            count = FailureCount(
                scope=self.scope,
                shard=int(partition.rsplit("#", 1)[1]),
                key_hash=key_hash,
                failures=failures,
                first_at=first_at,
                locked_until=locked_until,
                expires_at=datetime.fromtimestamp(max(first_at + self.window_s, locked_until), UTC),
                version=row.version if row is not None else 0,
            )
            try:
                self._b.store.compare_and_set(FAILURE_COUNTS, count)
            except Conflict:
                continue  # another replica counted a failure of this key meanwhile: count on top of it
            return
        raise RateLimited(f"too many failed {self._what} attempts at once; try again shortly", retry_after=1.0)

    def succeeded(self, key: str) -> None:
        """Forget the key's failures (a successful sign-in)."""
        partition, key_hash = self._key(key)
        self._b.store.delete(FAILURE_COUNTS, partition, key_hash)

    def _key(self, key: str) -> tuple[str, str]:
        key_hash = hashlib.sha256(f"{self.scope}\0{key}".encode()).hexdigest()[:32]
        return f"{self.scope}#{int(key_hash[:8], 16) % RATE_BUCKET_SHARDS}", key_hash


__all__ = ["StoreFailureLockout"]
