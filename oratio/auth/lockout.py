"""Failed sign-ins counted per key (an account's email, a client address), with a lockout.

Only failures count: `check` asks whether a key is locked without spending anything, `failed` records one
failure, `succeeded` forgets the key. After `max_failures` failures within `window_s`, the key is locked for
`lockout_s` and `check` raises `RateLimited` with the seconds left (the door's Retry-After).

Unknown emails are counted exactly like known ones, so a lockout reveals nothing about which accounts exist.
Memory is bounded: at most `max_keys` keys, least recently touched dropped first. Counts live in this
process (as the other rate limits do, `oratio.auth.rate_limit`); the clock is injected so tests never sleep.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from oratio.auth.rate_limit import Clock
from oratio.errors import RateLimited


class Lockout(Protocol):
    """What sign-in needs of a lockout: this process's `FailureLockout`, or the store's shared one
    (`oratio.services.lockouts.StoreFailureLockout`, ORATIO_RATE_LIMIT_STATE=store)."""

    def check(self, key: str) -> None: ...

    def failed(self, key: str) -> None: ...

    def succeeded(self, key: str) -> None: ...


@dataclass
class _Count:
    failures: int
    first_at: float
    locked_until: float = 0.0


class FailureLockout:
    def __init__(
        self,
        max_failures: int,
        window_s: float,
        lockout_s: float,
        clock: Clock = time.monotonic,
        *,
        what: str = "sign-in",
        max_keys: int = 100_000,
    ) -> None:
        self._max = max_failures
        self._window = window_s
        self._lockout = lockout_s
        self._clock = clock
        self._what = what
        self._max_keys = max_keys
        self._counts: OrderedDict[str, _Count] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """RateLimited while `key` is locked out; nothing is counted."""
        with self._lock:
            count = self._counts.get(key)
            now = self._clock()
            if count is None or count.locked_until <= now:
                return
            wait = count.locked_until - now
        raise RateLimited(
            f"too many failed {self._what} attempts; try again in {max(1, math.ceil(wait))} s", retry_after=wait
        )

    def failed(self, key: str) -> None:
        with self._lock:
            now = self._clock()
            count = self._counts.get(key)
            if count is None or now - count.first_at > self._window and count.locked_until <= now:
                if count is None and len(self._counts) >= self._max_keys:
                    self._counts.popitem(last=False)
                count = self._counts[key] = _Count(failures=0, first_at=now)
            self._counts.move_to_end(key)
            count.failures += 1
            if count.failures >= self._max:
                count.locked_until = now + self._lockout
                count.failures = 0
                count.first_at = now

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)
