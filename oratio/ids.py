"""Time-ordered, prefixed ids (`agt_01jd5k...`).

The prefix says what an id names, which makes logs and support tickets readable and lets a
door reject an agent id passed where a session id belongs. The body is 48 bits of milliseconds
then 80 random bits in lowercase Crockford base32 (a ULID), so ids sort by creation time.
"""

from __future__ import annotations

import secrets
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
}


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(kind: str) -> str:
    """A fresh id for a record of `kind` (a key of PREFIXES)."""
    prefix = PREFIXES[kind]
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{_base32(millis, 10)}{_base32(secrets.randbits(80), 16)}"
