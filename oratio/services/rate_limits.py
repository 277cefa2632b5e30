"""Rate limits every replica shares: token buckets kept in the record store (ORATIO_RATE_LIMIT_STATE=store).

`TokenBucketLimiter` (oratio.auth.rate_limit) keeps its buckets in process memory, so N replicas
admit N times the configured rate. `StoreRateLimiter` keeps the same bucket (same `rate_per_minute`,
`burst`, same `RateLimited` with the seconds to wait) in one `RATE_BUCKETS` row per key, taken with a
conditional write on the row's version (`RecordStore.compare_and_set`): two replicas that saw the same
bucket cannot both take its last token, the loser reads it again. So the admitted rate is the
configured one however many processes check it (bench/scaleout_rate.py measures it). Each process
keeps the last row it saw of a key (`_seen`), so an admitted request costs one conditional write
when no other replica took from the bucket since, a read more when one did; a refusal costs nothing
while the row this process last saw holds no token (a newer row can only hold fewer: replicas only
take, and only the clock refills).

Rows stay bounded: a row is worth keeping only until its bucket is full again (`expires_at`); DynamoDB's
TTL deletes it some time after, and `RateLimits.sweep` deletes expired rows on SQLite. Time is the
platform's wall clock (epoch seconds), the one clock replicas share; a replica whose clock is behind
never drains a bucket (elapsed time is never negative).

`RateLimits` is what the platform and the doors ask for a limiter: memory or store by the setting.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from oratio.auth.lockout import FailureLockout, Lockout
from oratio.auth.rate_limit import RateLimiter, TokenBucketLimiter
from oratio.config import RateLimitState
from oratio.errors import ConfigError, Conflict, RateLimited
from oratio.services._common import Backends
from oratio.services.lockouts import StoreFailureLockout
from oratio.store.ports import Table, calls_are_brief
from oratio.store.tables import FAILURE_COUNTS, RATE_BUCKET_SHARDS, RATE_BUCKETS
from schemas.rate_limits import FailureCount, RateBucket

logger = logging.getLogger("oratio.rate_limits")
_Row = TypeVar("_Row", RateBucket, FailureCount)

_EPSILON = 1e-6
TAKE_ATTEMPTS = 16
"""Conditional writes tried per check before answering 429: each lost race means another replica took a
token, so a key this contended is at its limit anyway."""
_SEEN_KEYS_MAX = 10_000


class StoreRateLimiter:
    """`RateLimiter` over `RATE_BUCKETS`: `burst` at once per key, refilled at `rate_per_minute`, shared."""

    def __init__(
        self,
        backends: Backends,
        scope: str,
        rate_per_minute: float,
        burst: int,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not (math.isfinite(rate_per_minute) and rate_per_minute > 0):
            raise ConfigError("rate_per_minute must be a positive number", field="rate_per_minute")
        if burst < 1:
            raise ConfigError("burst must be at least 1", field="burst")
        self._b = backends
        self.brief_calls = calls_are_brief(backends.store)
        """On embedded SQLite a check may run on an event loop; on DynamoDB it goes to a worker thread."""
        self.scope = scope
        self.rate_per_minute = rate_per_minute
        self._per_second = rate_per_minute / 60.0
        self.burst = burst
        self._clock = clock or (lambda: backends.clock().timestamp())
        self._seen: OrderedDict[str, RateBucket | None] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Take one token from `key`'s shared bucket, or raise `RateLimited` (Retry-After) taking nothing."""
        key_hash = hashlib.sha256(f"{self.scope}\0{key}".encode()).hexdigest()[:32]
        partition = f"{self.scope}#{int(key_hash[:8], 16) % RATE_BUCKET_SHARDS}"
        with self._lock:
            known = key_hash in self._seen
            row = self._seen.get(key_hash)
        if not known:
            row = self._b.store.get(RATE_BUCKETS, partition, key_hash)
        for _ in range(TAKE_ATTEMPTS):
            now = self._clock()
            tokens = self._refilled(row, now)
            if tokens < 1.0 - _EPSILON:
                self._remember(key_hash, row)
                self._raise((1.0 - tokens) / self._per_second)
            taken = self._bucket(partition, key_hash, max(0.0, tokens - 1.0), now, row.version if row else 0)
            try:
                stored = self._b.store.compare_and_set(RATE_BUCKETS, taken)
            except Conflict:  # another replica took from this bucket since we saw it: read it again
                row = self._b.store.get(RATE_BUCKETS, partition, key_hash)
                continue
            self._remember(key_hash, stored)
            return
        logger.info("scope=%s | bucket contended past %d attempts: refused", self.scope, TAKE_ATTEMPTS)
        self._remember(key_hash, row)
        self._raise(1.0 / self._per_second)

    def _remember(self, key_hash: str, row: RateBucket | None) -> None:
        """Keep the last row seen of a key: the next check writes on it without reading first, and refuses
        from it while it holds no token (a newer row can only hold fewer: replicas take, only time refills;
        with replicas' clocks apart, it may hold a little more, so a refusal lasts up to that skew longer)."""
        with self._lock:
            self._seen[key_hash] = row
            self._seen.move_to_end(key_hash)
            while len(self._seen) > _SEEN_KEYS_MAX:
                self._seen.popitem(last=False)

    def _refilled(self, row: RateBucket | None, now: float) -> float:
        if row is None:
            return float(self.burst)
        elapsed = max(0.0, now - row.at)  # a replica whose clock is behind never drains a bucket
        return min(float(self.burst), row.tokens + elapsed * self._per_second)

    def _bucket(self, partition: str, key_hash: str, tokens: float, now: float, version: int) -> RateBucket:
        full_at = now + (self.burst - tokens) / self._per_second
        return RateBucket(
            scope=self.scope,
            shard=int(partition.rsplit("#", 1)[1]),
            key_hash=key_hash,
            tokens=tokens,
            at=now,
            expires_at=datetime.fromtimestamp(full_at, UTC),
            version=version,
        )

    def _raise(self, wait: float) -> None:
        raise RateLimited(
            f"rate limit of {self.rate_per_minute:g} requests per minute exceeded; "
            f"retry in {max(1, math.ceil(wait - _EPSILON))} s",
            retry_after=wait,
        )


class RateLimits:
    """Hands out the platform's limiters, in memory or in the store (`state`), one per named scope.

    A scope names one limit (`keys`, `admins`, `signin`, ...): buckets of different scopes never mix,
    and the SQLite sweep finds the rows of every scope this process made.
    """

    def __init__(self, backends: Backends, state: RateLimitState = RateLimitState.MEMORY) -> None:
        self._b = backends
        self.state = state
        self._scopes: dict[str, StoreRateLimiter] = {}
        self._lockout_scopes: set[str] = set()

    def limiter(self, scope: str, rate_per_minute: float, burst: int) -> RateLimiter:
        """A limiter of `burst` at once and `rate_per_minute` per key; shared across replicas when state=store."""
        if self.state is RateLimitState.MEMORY:
            return TokenBucketLimiter(rate_per_minute=rate_per_minute, burst=burst)
        made = self._scopes.get(scope)
        if made is not None:
            if (made.rate_per_minute, made.burst) != (rate_per_minute, burst):
                raise ConfigError(f"rate limit scope {scope!r} is taken by another limit: they would share buckets")
            return made  # the same limit asked for again (a door's app built twice): the same buckets
        made = self._scopes[scope] = StoreRateLimiter(self._b, scope, rate_per_minute, burst)
        return made

    def lockout(self, scope: str, max_failures: int, window_s: float, lockout_s: float) -> Lockout:
        """Failed sign-ins counted per key and locked out past `max_failures`: per process, or in the store."""
        if self.state is RateLimitState.MEMORY:
            return FailureLockout(max_failures, window_s, lockout_s)
        self._lockout_scopes.add(scope)
        return StoreFailureLockout(self._b, scope, max_failures, window_s, lockout_s)

    def sweep(self, limit: int = 1000) -> int:
        """Delete up to `limit` rows past their expiry (buckets full again, failure counts over); returns how many.

        On DynamoDB the tables' TTL deletes them as well; this keeps SQLite's rows bounded by the keys
        seen within a refill time (a lockout window). Run by the session sweep duty (once across replicas).
        """
        deleted = self._sweep(RATE_BUCKETS, sorted(self._scopes), limit)
        return deleted + self._sweep(FAILURE_COUNTS, sorted(self._lockout_scopes), limit - deleted)

    def _sweep(self, table: Table[_Row], scopes: list[str], limit: int) -> int:
        now = self._b.clock()
        deleted = 0
        for scope in scopes:
            for shard in range(RATE_BUCKET_SHARDS):
                cursor: str | None = None
                while deleted < limit:
                    page = self._b.store.query(table, f"{scope}#{shard}", limit=200, cursor=cursor)
                    for row in page.items:
                        # A take racing this delete finds the bucket full again: at most one token more,
                        # on a key that was idle a whole refill time.
                        if row.expires_at <= now and deleted < limit:
                            deleted += self._b.store.delete(table, f"{scope}#{shard}", row.key_hash)
                    cursor = page.next_cursor
                    if cursor is None:
                        break
        return deleted


__all__ = ["TAKE_ATTEMPTS", "RateLimitState", "RateLimits", "StoreRateLimiter"]
