"""Time-ordered, prefixed ids (`agt_01jd5k...`).

The prefix says what an id names, which makes logs and support tickets readable and lets a
door reject an agent id passed where a session id belongs. The body is 48 bits of milliseconds
then 80 random bits in lowercase Crockford base32 (a ULID), so ids sort by creation time.
Within one process they are strictly increasing even inside one millisecond (the random part is
incremented), because lists ordered by id must show records in the order they were created.
"""

from __future__ import annotations

import secrets
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"

PREFIXES = {
    "tenant": "ten",
    "admin": "adm",
    "agent": "agt",
    "document": "doc",
    "key": "key",
    "session": "ses",
    "notification": "ntf",
    "delivery": "dlv",
}


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


class _MonotonicUlid:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = (0, 0)

    def next(self) -> tuple[int, int]:
        with self._lock:
            millis = time.time_ns() // 1_000_000
            last_millis, last_random = self._last
            if millis <= last_millis:
                # Same (or a clock step back): stay on the last millisecond, one step further.
                millis, random_part = last_millis, last_random + 1
            else:
                # 79 random bits leave room for increments before the 80-bit field overflows.
                random_part = secrets.randbits(79)
            self._last = (millis, random_part)
            return millis, random_part


_ULID = _MonotonicUlid()


def new_id(kind: str) -> str:
    """A fresh id for a record of `kind` (a key of PREFIXES)."""
    prefix = PREFIXES[kind]
    millis, random_part = _ULID.next()
    return f"{prefix}_{_base32(millis, 10)}{_base32(random_part, 16)}"
