"""Verified API keys, remembered for a few seconds so a conversation's turns do not re-read the key store.

Checking a key costs three store operations (the hash index, the base record to confirm it is not
revoked, and the write that counts the use); on a runtime that serves a turn in a few milliseconds
they were a quarter of the turn. `KeyCache` keeps the verified record for `ttl` seconds (monotonic
clock, `ORATIO_KEY_CACHE_SECONDS`), keyed by the SHA-256 of the secret (the secret itself is never
kept), and counts uses in memory until the entry is refreshed or the counts are read.

What still holds, and how:

* Revocation: `KeyService.revoke` drops the key from this process's cache before it returns, so a
  revoked key is refused by the next request here. Another process (a second runtime, the MCP
  server revoking while the runtime serves) refuses it at the latest `ttl` seconds later, when its
  entry expires and the store is read again. `ttl=0` turns the cache off: every request reads.
* Expiry: checked against the record on every hit with the service's clock, exactly as before.
* Usage counts (`usage_count`, `last_used_at`): written when an entry is refreshed and whenever
  keys are listed in this process, so they lag by at most `ttl` elsewhere; a process killed with
  uses pending loses those counts (they are informational; authorization never depends on them).
* Memory: at most `max_entries` keys (least recently used dropped first; a dropped entry's
  pending uses are handed back to be written).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from schemas import StoredApiKey

KEY_CACHE_MAX = 10_000
"""Verified keys one process remembers; a few hundred bytes each."""


@dataclass
class Pending:
    """Uses counted in memory and not yet written to the key's record."""

    stored: StoredApiKey
    uses: int = 0
    last_used_at: datetime | None = None


@dataclass
class _Entry:
    pending: Pending
    fresh_until: float


class KeyCache:
    """A bounded, thread-safe map from a secret's digest to its verified key record and pending uses."""

    def __init__(
        self, ttl: float, *, max_entries: int = KEY_CACHE_MAX, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._now = monotonic
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._ttl > 0

    def fresh(self, digest: str) -> StoredApiKey | None:
        """The verified record for this digest if it was read from the store less than `ttl` ago."""
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None or entry.fresh_until <= self._now():
                return None
            self._entries.move_to_end(digest)
            return entry.pending.stored

    def count_use(self, digest: str, at: datetime) -> bool:
        """Count one use of a cached key; False if it is no longer cached (the caller writes the use itself)."""
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return False
            entry.pending.uses += 1
            entry.pending.last_used_at = at
            return True

    def remember(self, digest: str, stored: StoredApiKey) -> list[Pending]:
        """Cache a record just read from the store (and written with its counted uses); returns uses of
        entries pushed out by the size bound, for the caller to write."""
        if not self.enabled:
            return []
        with self._lock:
            self._entries[digest] = _Entry(Pending(stored), self._now() + self._ttl)
            self._entries.move_to_end(digest)
            dropped: list[Pending] = []
            while len(self._entries) > self._max:
                _, old = self._entries.popitem(last=False)
                dropped.append(old.pending)
            return [p for p in dropped if p.uses]

    def take(self, digest: str) -> Pending | None:
        """Remove an entry (expired, or about to be refreshed) and return its pending uses."""
        with self._lock:
            entry = self._entries.pop(digest, None)
            return None if entry is None or not entry.pending.uses else entry.pending

    def forget_key(self, key_id: str) -> list[Pending]:
        """Drop every entry of one key (revoked): its next request reads the store and is refused.
        Returns the dropped entries' pending uses, for the caller to write."""
        with self._lock:
            dropped = [d for d, e in self._entries.items() if e.pending.stored.key.id == key_id]
            return [p for p in (self._entries.pop(d).pending for d in dropped) if p.uses]

    def drain(self) -> list[Pending]:
        """Every entry's pending uses, reset to zero (the entries stay cached), for writing now."""
        with self._lock:
            out: list[Pending] = []
            for entry in self._entries.values():
                if entry.pending.uses:
                    out.append(Pending(entry.pending.stored, entry.pending.uses, entry.pending.last_used_at))
                    entry.pending.uses, entry.pending.last_used_at = 0, None
            return out
