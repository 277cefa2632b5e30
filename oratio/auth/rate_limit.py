"""Per-key rate limiting with token buckets, in process memory.

Doors call `check(key)` once per request (the key is usually a tenant, API key or client address).
`RateLimiter` is the seam: this in-memory limiter serves one process; a shared one (DynamoDB,
Redis) can replace it when several processes must share a budget.

Memory is bounded in two ways:

* A bucket left idle long enough to refill to `burst` is indistinguishable from a new bucket, so
  dropping it loses nothing. Buckets are kept in least-recently-used order and full ones are
  swept from the old end on every check (amortised O(1)). After a sweep, every bucket left was
  used within the last `burst / rate` seconds.
* A hard cap (`max_keys`) bounds the rest: a flood of distinct keys within that window evicts the
  least recently used bucket even if it is not full. That key then gets a fresh burst; a per-key
  limiter cannot be both bounded and exact under such a flood, and bounded is the safer failure.

The clock is injected so tests advance time by hand and never sleep.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

import anyio.to_thread

from oratio.errors import ConfigError, RateLimited

_EPSILON = 1e-6
"""Float slack, in tokens, so that waiting exactly `retry_after` is always enough."""


class Clock(Protocol):
    """Monotonic seconds; only differences matter."""

    def __call__(self) -> float: ...


class RateLimiter(Protocol):
    def check(self, key: str) -> None:
        """Consume one request for `key`, or raise `RateLimited` without consuming anything."""
        ...


async def check_on_loop(limiter: RateLimiter, key: str) -> None:
    """`limiter.check(key)` from an event loop: in place when the limiter says its calls are brief (memory,
    embedded SQLite), else in a worker thread (a limiter shared in DynamoDB makes a network call)."""
    if getattr(limiter, "brief_calls", False) is True:
        limiter.check(key)
    else:
        await anyio.to_thread.run_sync(limiter.check, key)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    """Allows `burst` requests at once per key, refilled at `rate_per_minute`. Thread-safe."""

    brief_calls = True
    """`check` never blocks (memory only): code on an event loop may call it in place (`calls_are_brief`)."""

    def __init__(
        self,
        rate_per_minute: float,
        burst: int,
        clock: Clock = time.monotonic,
        *,
        max_keys: int = 100_000,
    ) -> None:
        if not (math.isfinite(rate_per_minute) and rate_per_minute > 0):
            raise ConfigError("rate_per_minute must be a positive number", field="rate_per_minute")
        if burst < 1:
            raise ConfigError("burst must be at least 1", field="burst")
        if max_keys < 1:
            raise ConfigError("max_keys must be at least 1", field="max_keys")
        self._rate_per_minute = rate_per_minute
        self._per_second = rate_per_minute / 60.0
        self._burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Number of buckets held (for tests and metrics)."""
        with self._lock:
            return len(self._buckets)

    def check(self, key: str) -> None:
        with self._lock:
            now = self._clock()
            self._sweep(now)
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self._max_keys:
                    self._buckets.popitem(last=False)
                bucket = self._buckets[key] = _Bucket(tokens=float(self._burst), updated=now)
            else:
                bucket.tokens = self._refilled(bucket, now)
                bucket.updated = now
                self._buckets.move_to_end(key)
            if bucket.tokens >= 1.0 - _EPSILON:
                bucket.tokens = max(0.0, bucket.tokens - 1.0)
                return
            wait = (1.0 - bucket.tokens) / self._per_second
        raise RateLimited(
            f"rate limit of {self._rate_per_minute:g} requests per minute exceeded; "
            f"retry in {max(1, math.ceil(wait - _EPSILON))} s",
            retry_after=wait,
        )

    def _refilled(self, bucket: _Bucket, now: float) -> float:
        elapsed = max(0.0, now - bucket.updated)  # a clock that steps back never drains a bucket
        return min(float(self._burst), bucket.tokens + elapsed * self._per_second)

    def _sweep(self, now: float) -> None:
        """Drop full buckets from the least recently used end (see the module docstring)."""
        while self._buckets:
            oldest = next(iter(self._buckets.values()))
            if self._refilled(oldest, now) < self._burst - _EPSILON:
                return
            self._buckets.popitem(last=False)
