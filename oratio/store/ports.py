"""The seams between the core and its record/event backends.

The store is a small generic item store in the shape of DynamoDB (partition + sort key, secondary
indexes, uniqueness within a partition, optimistic concurrency), because that is the narrowest
interface both SQLite and DynamoDB serve well. Typed tables (`oratio.store.tables`) say which keys
and indexes each record kind has; services never build keys by hand.

Tenant isolation is structural: every table's partition key starts with the tenant id, so a query
can only reach one tenant's records. The one exception is the API-key hash index, which is how a
presented secret finds its tenant in the first place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from oratio.errors import InvalidInput
from oratio.store.event_cursor import EventCursor
from schemas import Event, NewEvent, Record

R = TypeVar("R", bound=Record)


@dataclass(frozen=True)
class Index(Generic[R]):
    """A secondary index. `partition` returning None leaves the record out (a sparse index)."""

    name: str
    partition: Callable[[R], str | None]
    sort: Callable[[R], str]


@dataclass(frozen=True)
class Table(Generic[R]):
    """A record kind: its model, primary key, secondary indexes and optional unique value.

    `unique` returns a value that must be unique within the record's partition (e.g. an agent's
    case-folded name within its tenant), or None for "no constraint on this record".
    """

    name: str
    model: type[R]
    partition: Callable[[R], str]
    sort: Callable[[R], str]
    indexes: tuple[Index[R], ...] = ()
    unique: Callable[[R], str | None] | None = None
    expires: Callable[[R], datetime] | None = None
    """When a record stops mattering, for a table whose rows would otherwise pile up (rate buckets).

    DynamoDB writes it as the table's TTL attribute (`expires_at`, epoch seconds), so AWS deletes the
    row some time after; readers must still treat a row past its expiry as absent. SQLite keeps no
    such attribute: the service that owns the table deletes expired rows on its sweep."""

    def index(self, name: str) -> Index[R]:
        for candidate in self.indexes:
            if candidate.name == name:
                return candidate
        raise KeyError(f"table {self.name} has no index {name}")


@dataclass(frozen=True)
class Page(Generic[R]):
    """One page of a query. Pass `next_cursor` back to get the next page; None means the end."""

    items: list[R] = field(default_factory=list)
    next_cursor: str | None = None


@dataclass(frozen=True)
class Insert(Generic[R]):
    """A write in a `transact`: store a new record (as `RecordStore.insert`)."""

    table: Table[R]
    item: R


@dataclass(frozen=True)
class Replace(Generic[R]):
    """A write in a `transact`: overwrite a record whose version is still `item.version` (as `replace`)."""

    table: Table[R]
    item: R


@dataclass(frozen=True)
class Unchanged(Generic[R]):
    """A condition in a `transact`: the stored record is still at `item.version`; nothing is written to it.

    How a write is made on the condition that another record has not moved since it was read, in the
    same commit (a conversation turn stored only if the agent it was checked against is still the
    version that was checked). Conflict, and nothing applied, if the record moved or is gone.
    """

    table: Table[R]
    item: R


Write = Insert[Any] | Replace[Any] | Unchanged[Any]
TRANSACT_MAX = 25
"""The most writes one `transact` takes (DynamoDB allows 100 items, unique markers included)."""


class DeleteOutcome(StrEnum):
    """What `RecordStore.delete_unchanged` did: a typed answer, since losing its race is not an error."""

    DELETED = "deleted"
    ABSENT = "absent"
    """Nothing was stored at the key (deleted by someone else since the read)."""
    CONDITION_FAILED = "condition_failed"
    """The stored record is not the one read (written again, or deleted and stored anew): it stays."""


def expiry_second(table: Table[R], item: R) -> int | None:
    """The record's expiry in whole epoch seconds (what DynamoDB's TTL attribute holds), or None for a table
    without `expires`: the second attribute `delete_unchanged` compares, the same on every adapter."""
    return None if table.expires is None else int(table.expires(item).timestamp())


def check_writes(writes: Sequence[Write]) -> None:
    """The shared preconditions of `transact`, so every adapter refuses the same batches."""
    if not 1 <= len(writes) <= TRANSACT_MAX:
        raise InvalidInput(f"a transaction takes 1 to {TRANSACT_MAX} writes, not {len(writes)}")
    keys = [(w.table.name, w.table.partition(w.item), w.table.sort(w.item)) for w in writes]
    if len(set(keys)) != len(keys):
        raise InvalidInput("a transaction may write each record only once")


def calls_are_brief(port: object) -> bool:
    """True for an adapter that says its calls finish in well under a millisecond (`brief_calls = True`:
    embedded SQLite, the local blob directory). Code on an event loop may call such a port in place
    instead of paying a worker-thread hop per call; a network store (DynamoDB, S3) says nothing and
    is always called from a worker thread. Wrappers that forward attributes keep the answer."""
    return getattr(port, "brief_calls", False) is True


class RecordStore(Protocol):
    """Durable records. Every method is atomic; a returned write is durable (survives kill -9)."""

    def insert(self, table: Table[R], item: R) -> R:
        """Store a new record and return it with version 1.

        Raises Conflict if a record with the same key exists, or if its unique value is taken
        within the partition.
        """
        ...

    def get(self, table: Table[R], partition: str, sort: str) -> R | None:
        """The record at this key, or None."""
        ...

    def get_unique(self, table: Table[R], partition: str, value: str) -> R | None:
        """The record in this partition whose unique value is `value`, or None."""
        ...

    def replace(self, table: Table[R], item: R) -> R:
        """Overwrite the stored record if its version still equals `item.version`.

        Returns the item with version + 1. Raises Conflict if the stored version differs, the
        record is gone, or a changed unique value is taken. Index entries follow the new values.
        """
        ...

    def compare_and_set(self, table: Table[R], item: R) -> R:
        """Store `item` if the stored record's version is `item.version`, or if no record is stored and
        `item.version` is 0; return it with version + 1. One conditional write, no read first: for hot
        records written by several processes (shared rate buckets), where `replace`'s extra read is the
        cost. Raises Conflict if the version moved (or a record appeared); InvalidInput for a table with
        a unique value (its marker needs a transaction: use insert/replace).
        """
        ...

    def transact(self, writes: Sequence[Write]) -> list[Any]:
        """Apply every write or none (all in one transaction); return the stored items in order.

        Each write keeps its single-record semantics (Insert: Conflict if the key or unique value is
        taken; Replace: Conflict if the version moved; Unchanged: Conflict if the version moved, and
        the record is returned as given). This is how a record and the deliveries that
        announce it are stored together, so a crash between the two cannot lose either. Raises
        InvalidInput for more than TRANSACT_MAX writes, or for two writes to the same record.
        """
        ...

    def delete(self, table: Table[R], partition: str, sort: str) -> bool:
        """Remove the record, its index entries and its unique value; False if it was absent."""
        ...

    def delete_unchanged(self, table: Table[R], item: R) -> DeleteOutcome:
        """Remove the record at `item`'s key only if it is still the record read: its `version` still
        equals `item.version` and, for a table with `expires`, its expiry is still `item`'s (to the second).

        For a sweep that deletes what it read as expired: a plain `delete` by key would also drop a record
        written again between the read and the delete (an alias rebound by another replica). Version alone
        cannot tell a record deleted and stored anew (it starts again at 1); the rows that are (expiring
        ones) have a later expiry. Index entries and the unique value go with the record. Never raises
        Conflict for a lost race: it answers CONDITION_FAILED (or ABSENT) and leaves what is stored.
        """
        ...

    def query(
        self,
        table: Table[R],
        partition: str,
        *,
        index: str | None = None,
        sort_from: str | None = None,
        sort_to: str | None = None,
        descending: bool = False,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[R]:
        """Records in one partition (of the table, or of the named index), ordered by sort key.

        `sort_from`/`sort_to` bound the sort key inclusively. Raises InvalidInput for a cursor
        that this store did not issue for the same query.
        """
        ...

    def close(self) -> None: ...


class EventLog(Protocol):
    """Append-only, per-tenant log, split into `shards` shards each ordered by its own `seq`.

    An event's shard is chosen by its subject (`shard_of`), so one record's events (a session's) are in
    one shard and keep their order. Readers tail the log with an `EventCursor` (the last seq seen per
    shard). The guarantee live views rely on: once a reader has seen seq N of a shard, no event of that
    shard with seq < N can appear later. So "read everything after my cursor" never loses or repeats an
    event, from any process, across reconnects. Order across shards is not defined.
    """

    shards: int
    """How many shards each tenant's log has (1 on SQLite). Fixed for the life of the store."""

    def append(self, event: NewEvent) -> Event:
        """Give the event its shard's next seq (starting at 1) and store it durably."""
        ...

    def read(self, tenant_id: str, after: EventCursor | int = 0, limit: int = 100) -> list[Event]:
        """At most `limit` events after the cursor; each shard's in seq order, a prefix of what follows
        its position (so `after.advanced(read)` is where the next read starts). An int is an old
        single-number cursor (`EventCursor.legacy`)."""
        ...

    def head(self, tenant_id: str) -> EventCursor:
        """Every shard's last seq (0 where it has none): where a new subscriber starts."""
        ...

    def close(self) -> None: ...


def shard_of(subject: str, shards: int) -> int:
    """The shard of a subject's events: stable across processes and releases (not Python's `hash`)."""
    if shards == 1:
        return 0
    return int.from_bytes(hashlib.sha256(subject.encode()).digest()[:8], "big") % shards


def cursor_of(after: EventCursor | int, shards: int) -> EventCursor:
    """A read's `after` as a cursor of this log, refusing one of another layout."""
    cursor = EventCursor.legacy(after, shards) if isinstance(after, int) else after
    if cursor.shards != shards:
        raise InvalidInput(f"this cursor has {cursor.shards} positions; the log has {shards} shards", field="after")
    return cursor


__all__ = [
    "TRANSACT_MAX",
    "DeleteOutcome",
    "EventCursor",
    "EventLog",
    "Index",
    "Insert",
    "Page",
    "RecordStore",
    "Replace",
    "Table",
    "Unchanged",
    "Write",
    "calls_are_brief",
    "check_writes",
    "cursor_of",
    "expiry_second",
    "shard_of",
]
