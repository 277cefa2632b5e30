"""A tenant-wide position in a sharded event log: one seq per shard (a vector cursor).

Why a vector: a tenant's log is split into shards so that its sessions append in parallel (each shard
has its own head counter), and there is no longer one number that orders every event of a tenant.
Within a shard a position keeps the log's guarantee: once a reader has seen seq N of a shard, no event
below N of that shard can appear later. So a reader that remembers the last seq it saw of every shard
reads each shard after its own position and never loses or repeats an event, whatever order the shards'
appends commit in relative to each other.

Clients see a cursor only as an opaque token. A one-shard cursor's token is its seq in decimal, which
is what cursors were before shards, so a client's old cursor keeps working: a plain number is read as
a position in shard 0 (where every event written before shards lives) and nothing seen in the others.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass

from oratio.errors import InvalidInput
from schemas import Event

_TOKEN_PREFIX = "v1."
_TOKEN_MAX = 4096
"""Longest token accepted (a 64-shard cursor of 20-digit seqs fits well within it)."""


@dataclass(frozen=True)
class EventCursor:
    """The last seq seen in each shard of a tenant's log (0: nothing seen in that shard)."""

    positions: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.positions or any(p < 0 for p in self.positions):
            raise ValueError("a cursor has one non-negative position per shard")

    @classmethod
    def start(cls, shards: int) -> EventCursor:
        """Before the first event of every shard."""
        return cls((0,) * shards)

    @classmethod
    def legacy(cls, seq: int, shards: int) -> EventCursor:
        """An old single-number cursor: `seq` in shard 0, nothing seen in the others (see the module doc)."""
        return cls((max(seq, 0),) + (0,) * (shards - 1))

    @property
    def shards(self) -> int:
        return len(self.positions)

    def has_seen(self, event: Event) -> bool:
        """True when `event` is at or before this cursor's position in its shard."""
        return event.seq <= self.positions[event.shard]

    def advanced(self, events: Iterable[Event]) -> EventCursor:
        """This cursor moved past `events` (each shard's events in their order, as reads return them)."""
        positions = list(self.positions)
        for event in events:
            positions[event.shard] = max(positions[event.shard], event.seq)
        return EventCursor(tuple(positions))

    def covers(self, other: EventCursor) -> bool:
        """True when this cursor is at or past `other` in every shard."""
        return all(mine >= theirs for mine, theirs in zip(self.positions, other.positions, strict=True))

    def furthest(self, other: EventCursor) -> EventCursor:
        """The cursor past both (each shard's greater position)."""
        return EventCursor(tuple(max(a, b) for a, b in zip(self.positions, other.positions, strict=True)))

    def token(self) -> str:
        """The opaque string a client holds and sends back to resume."""
        if self.shards == 1:
            return str(self.positions[0])
        raw = ".".join(str(p) for p in self.positions).encode()
        return _TOKEN_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def parse(cls, token: str | int, shards: int, *, field: str = "after") -> EventCursor:
        """The cursor a client sent back, for a log of `shards` shards.

        Raises InvalidInput (asking the client to subscribe again without a cursor) for a token this
        log did not issue, or one issued for a different number of shards.
        """
        if isinstance(token, int) and not isinstance(token, bool):
            return cls.legacy(token, shards)
        if isinstance(token, str) and token.isascii() and token.isdigit() and len(token) <= 20:
            return cls.legacy(int(token), shards)
        positions: tuple[int, ...] | None = None
        if isinstance(token, str) and token.startswith(_TOKEN_PREFIX) and len(token) <= _TOKEN_MAX:
            body = token[len(_TOKEN_PREFIX) :]
            try:
                raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("ascii")
                parts = raw.split(".")
                if all(part.isdigit() and len(part) <= 20 for part in parts):
                    positions = tuple(int(part) for part in parts)
            except (binascii.Error, UnicodeDecodeError, ValueError):
                positions = None
        if positions is None or len(positions) != shards:
            raise InvalidInput(
                "this event cursor was not issued by this log (or by an older layout of it); "
                "subscribe again without a cursor and reload",
                field=field,
            )
        return cls(positions)


__all__ = ["EventCursor"]
