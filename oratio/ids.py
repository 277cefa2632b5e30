"""Time-ordered, prefixed, unguessable ids (`ses_01jd5k...`).

The prefix says what an id names, which makes logs and support tickets readable and lets a
door reject an agent id passed where a session id belongs. The body, in lowercase Crockford
base32, is three fields:

* 48 bits of milliseconds (10 characters), so ids sort by creation time;
* a 20-bit sequence within that millisecond (4 characters), so ids made by one process are
  strictly increasing even inside one millisecond: lists ordered by id (newest-first pages,
  DynamoDB sort keys) show records in the order they were created;
* 80 fresh random bits from `secrets` (16 characters), drawn for every id.

Why not a monotonic ULID: it increments the random part within a millisecond, so two ids minted
back to back differ by one and a customer who holds one session id can guess its neighbours.
Here the ordering comes from the sequence field and the secret comes from bits that are never
derived from another id, so knowing any number of ids says nothing about the next one's last 80 bits.
"""

from __future__ import annotations

import secrets
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"

TIME_CHARS = 10
SEQUENCE_CHARS = 4
RANDOM_CHARS = 16
RANDOM_BITS = RANDOM_CHARS * 5
"""80: the part of an id nobody can predict."""
BODY_CHARS = TIME_CHARS + SEQUENCE_CHARS + RANDOM_CHARS

_SEQUENCE_MAX = (1 << (SEQUENCE_CHARS * 5)) - 1

PREFIXES = {
    "tenant": "ten",
    "admin": "adm",
    "agent": "agt",
    "document": "doc",
    "key": "key",
    "session": "ses",
    "notification": "ntf",
    "owner": "own",
    "delivery": "dlv",
    "service_account": "svc",
    "turn": "trn",
}


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


class _Clock:
    """(millisecond, sequence) pairs that only grow within this process, also across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = (0, 0)

    def next(self) -> tuple[int, int]:
        with self._lock:
            millis = time.time_ns() // 1_000_000
            last_millis, last_sequence = self._last
            if millis > last_millis:
                stamp = (millis, 0)
            elif last_sequence < _SEQUENCE_MAX:
                # Same millisecond (or the clock stepped back): stay on the last one, one step further.
                stamp = (last_millis, last_sequence + 1)
            else:
                # A million ids in one millisecond: borrow the next millisecond rather than wrap.
                stamp = (last_millis + 1, 0)
            self._last = stamp
            return stamp


_CLOCK = _Clock()


def new_id(kind: str) -> str:
    """A fresh id for a record of `kind` (a key of PREFIXES)."""
    prefix = PREFIXES[kind]
    millis, sequence = _CLOCK.next()
    secret = secrets.randbits(RANDOM_BITS)
    return f"{prefix}_{_base32(millis, TIME_CHARS)}{_base32(sequence, SEQUENCE_CHARS)}{_base32(secret, RANDOM_CHARS)}"
