"""What every service shares: its backends, the clock, authorization and safe read-modify-write."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from oratio.blobs.ports import BlobStore
from oratio.errors import Conflict, Forbidden, InvalidInput, NotFound
from oratio.store.ports import EventLog, RecordStore, Table, Write
from schemas import EventType, NewEvent, Principal, Record, Scope, utcnow

logger = logging.getLogger("oratio.services")

R = TypeVar("R", bound=Record)

UPDATE_ATTEMPTS = 20


class AppendSignal:
    """Tells this process's listeners that it has just appended events to a tenant's log.

    The live tailer (`oratio.services.live.EventTail.nudge`) listens so that an event written here
    reaches a subscriber at once instead of at its next poll; events written by other processes are
    still found by polling. A listener is called on the writer's thread, after the write is visible,
    and must be quick and never raise (it only schedules a wake-up).
    """

    def __init__(self) -> None:
        self._listeners: list[Callable[[str], None]] = []

    def listen(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def __call__(self, tenant_id: str) -> None:
        for listener in self._listeners:
            listener(tenant_id)


@dataclass(frozen=True)
class Backends:
    """The ports a service needs, injected once at start (see `oratio.platform`)."""

    store: RecordStore
    events: EventLog
    blobs: BlobStore
    clock: Callable[[], datetime] = field(default=utcnow)
    appended: AppendSignal = field(default_factory=AppendSignal)
    """Called with the tenant after every append made through `emit`, `append` or `transact`."""

    def emit(self, tenant_id: str, type_: EventType, subject: str, **data: Any) -> None:
        """Append an event after the write it describes has been acknowledged."""
        self.append(NewEvent(tenant_id=tenant_id, type=type_, subject=subject, data=data))

    def append(self, event: NewEvent) -> None:
        """Append one event (and tell this process's live listeners)."""
        self.events.append(event)
        self.appended(event.tenant_id)

    def transact(self, writes: Sequence[Write], events: Sequence[NewEvent] = ()) -> list[Any]:
        """`store.transact(writes)` and the events announcing them: in one transaction when the store can
        append to this event log inside its own (SQLite, with the log in the same file:
        `transact_logged`), else the writes and then the events, as `emit` after a write does (DynamoDB).
        Either way an event is never visible before the write it describes."""
        logged = getattr(self.store, "transact_logged", None)
        if logged is not None:
            stored: list[Any] | None = logged(writes, events, self.events)
            if stored is not None:
                for tenant_id in {event.tenant_id for event in events}:
                    self.appended(tenant_id)
                return stored
        stored = self.store.transact(writes)
        for event in events:
            self.append(event)
        return stored


def authorize(principal: Principal, scope: Scope) -> str:
    """Check the scope and return the tenant id every query of this call is scoped to."""
    if not principal.allows(scope):
        raise Forbidden(f"this token lacks the '{scope.value}' scope")
    return principal.tenant_id


def require(record: R | None, kind: str, ident: str) -> R:
    """The record, or NotFound. Another tenant's id reaches here as None, so it reads as unknown."""
    if record is None:
        raise NotFound.of(kind, ident)
    return record


def update_with_retry(
    store: RecordStore,
    table: Table[R],
    partition: str,
    sort: str,
    kind: str,
    mutate: Callable[[R], R],
) -> R:
    """Read, change and write back a record, retrying when a concurrent writer got there first.

    `mutate` may raise to refuse the change (e.g. an invalid status transition); it sees the
    latest stored version on every attempt, so its decision is never based on stale data.
    """
    for _ in range(UPDATE_ATTEMPTS):
        current = require(store.get(table, partition, sort), kind, sort)
        try:
            return store.replace(table, mutate(current))
        except Conflict:
            latest = store.get(table, partition, sort)
            if latest is None:
                raise NotFound.of(kind, sort) from None
            if latest.version == current.version:
                raise  # not a lost race: the write itself is refused (e.g. a taken name)
    raise Conflict(f"{kind} '{sort}' is being changed by others; try again")


def check_limit(limit: int, maximum: int = 200) -> int:
    if not 1 <= limit <= maximum:
        raise InvalidInput(f"limit must be between 1 and {maximum}", field="limit")
    return limit


def all_items(store: RecordStore, table: Table[R], partition: str, *, index: str | None = None) -> list[R]:
    """Every record in a partition, page by page. For cascades and small admin lists only."""
    items: list[R] = []
    cursor: str | None = None
    while True:
        page = store.query(table, partition, index=index, limit=200, cursor=cursor)
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return items
