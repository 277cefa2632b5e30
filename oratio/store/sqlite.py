"""SQLite adapters for the record store and the event log: the embedded, single-file default.

Every record kind lives in one generic `records` table keyed by (table, partition, sort), with
secondary-index and unique-value rows kept in side tables that are written in the same
transaction, so the SQLite store has exactly the semantics of the DynamoDB one.

Durability and concurrency choices, and why:
- WAL, readers never block the writer. `synchronous` is chosen by the operator
  (`ORATIO_SQLITE_SYNCHRONOUS`, docs/durability.md): with NORMAL (the platform's default) a commit
  is in the WAL file, in the OS's page cache, before `insert`/`append` returns, so an acknowledged
  write survives kill -9 of the process; the WAL is fsynced at checkpoints, so the last commits
  may be lost on power loss or an OS crash. FULL fsyncs every commit and survives those too, at
  the cost of one fsync per write. This class defaults to FULL; the platform passes its setting.
- Every write runs in `BEGIN IMMEDIATE`: the write lock is taken up front, so concurrent writers
  (threads or processes) queue on `busy_timeout` instead of failing on a lock upgrade, and a
  read-check-write (version check, next seq) is atomic.
- One connection per thread: services run in worker threads, and a sqlite3 connection must not
  be shared mid-transaction. A thread's connection is closed when the thread ends.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from oratio.datadir import make_private_database, make_private_dirs
from oratio.errors import BackendUnavailable, ConfigError, Conflict, InvalidInput
from oratio.store.event_cursor import EventCursor
from oratio.store.ports import (
    DeleteOutcome,
    Insert,
    Page,
    R,
    Table,
    Unchanged,
    Write,
    check_writes,
    cursor_of,
    expiry_second,
)
from schemas import STORE_CONTEXT, Event, Limits, NewEvent

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 10.0

_SCHEMA = (
    # Rowid table: bodies can be large (an SOP is up to 100 kB), which WITHOUT ROWID handles badly.
    """CREATE TABLE IF NOT EXISTS records (
        tbl TEXT NOT NULL, pk TEXT NOT NULL, sk TEXT NOT NULL, body TEXT NOT NULL,
        version INTEGER NOT NULL, PRIMARY KEY (tbl, pk, sk))""",
    """CREATE TABLE IF NOT EXISTS record_index (
        tbl TEXT NOT NULL, idx TEXT NOT NULL, ipk TEXT NOT NULL, isk TEXT NOT NULL,
        pk TEXT NOT NULL, sk TEXT NOT NULL, PRIMARY KEY (tbl, idx, ipk, isk, pk, sk),
        FOREIGN KEY (tbl, pk, sk) REFERENCES records (tbl, pk, sk) ON DELETE CASCADE) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS record_index_owner ON record_index (tbl, pk, sk)",
    """CREATE TABLE IF NOT EXISTS record_unique (
        tbl TEXT NOT NULL, pk TEXT NOT NULL, value TEXT NOT NULL, sk TEXT NOT NULL,
        PRIMARY KEY (tbl, pk, value),
        FOREIGN KEY (tbl, pk, sk) REFERENCES records (tbl, pk, sk) ON DELETE CASCADE) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS record_unique_owner ON record_unique (tbl, pk, sk)",
    """CREATE TABLE IF NOT EXISTS events (
        tenant_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, subject TEXT NOT NULL,
        data TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (tenant_id, seq))""",
)
_KEY_TAKEN = {sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE}


SYNCHRONOUS_MODES = {"full": "FULL", "normal": "NORMAL"}
"""The `synchronous` pragma values this store runs with (both in WAL mode); anything else is refused."""


class _Slot:
    """Holds one thread's connection; when the thread ends its locals die and a finalizer closes it."""

    __slots__ = ("conn", "__weakref__")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn


class SqliteDatabase:
    """One database file: schema, pragmas and per-thread connections, shared by the adapters on it."""

    busy_message = "the database is busy; try again shortly"
    """What a caller hears when the lock is still held after busy_timeout (subclasses name their file)."""

    def __init__(self, path: Path, *, synchronous: str = "full") -> None:
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {sorted(SYNCHRONOUS_MODES)}, not {synchronous!r}")
        self.path = path
        self.synchronous = synchronous
        make_private_dirs(path.parent)
        self._local = threading.local()
        # Re-entrant: a slot finalizer (which takes it) can run inside any code that holds it.
        self._lock = threading.RLock()
        self._writer = threading.Lock()  # one writer of this process at a time (see `write`)
        self._connections: set[sqlite3.Connection] = set()
        self._users = 0
        self._closed = False
        try:
            self._create_schema()
            make_private_database(path)  # SQLite gives the -wal and -shm files the database file's mode
        except BaseException:
            self.close()
            raise

    def _create_schema(self) -> None:
        """Idempotent, and safe when several processes open a fresh file at once (the lock serializes)."""
        with self.busy_is_unavailable():
            self.connection().execute("PRAGMA journal_mode = WAL")  # persistent in the file
        with self.write() as tx:
            found = int(tx.execute("PRAGMA user_version").fetchone()[0])
            if found > SCHEMA_VERSION:
                raise ConfigError(f"{self.path} has schema version {found}, newer than this Oratio ({SCHEMA_VERSION})")
            for statement in _SCHEMA:
                tx.execute(statement)
            tx.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened with the pragmas on first use."""
        if self._closed:
            raise BackendUnavailable("the database has been closed")
        slot: _Slot | None = getattr(self._local, "slot", None)
        if slot is None:
            # check_same_thread=False only so close() and the finalizer may close it from elsewhere.
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS_MODES[self.synchronous]}")
            conn.execute("PRAGMA foreign_keys = ON")
            with self._lock:
                self._connections.add(conn)
            slot = _Slot(conn)
            weakref.finalize(slot, self._forget, conn)
            self._local.slot = slot
        return slot.conn

    @contextmanager
    def busy_is_unavailable(self) -> Iterator[None]:
        """A lock still held after busy_timeout means the database is overloaded or wedged: retryable."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise BackendUnavailable(self.busy_message) from exc
            raise

    def fetch(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Run one read statement; in WAL mode it sees a committed snapshot and never waits on writers."""
        with self.busy_is_unavailable():
            return self.connection().execute(sql, params).fetchall()

    def _forget(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            self._connections.discard(conn)
        conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the lock from its start; rolled back if the body raises.

        Writers of this process queue on a Python lock first: SQLite's own busy handler makes a
        waiting writer sleep and retry with growing delays, which turned a few concurrent writers into
        second-long tail latencies. Other processes still meet SQLite's lock and busy timeout.
        """
        conn = self.connection()
        with self._writer, self.busy_is_unavailable():
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # a failed COMMIT must not leave the connection mid-transaction
                    conn.execute("ROLLBACK")
                raise

    def acquire(self) -> None:
        """Count an adapter using this database, so the last one to close it closes the file."""
        with self._lock:
            self._users += 1

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            last = self._users <= 0
        if last:
            self.close()

    def close(self) -> None:
        """Close every connection this object opened, in any thread."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, set()
            # Dropping the thread locals lets the slots' finalizers (which hold `self`) go.
            self._local = threading.local()
        for conn in connections:
            conn.close()


class _Adapter:
    brief_calls = True
    """Calls are local and short (`oratio.store.ports.calls_are_brief`): a read is tens of microseconds,
    a commit under synchronous=NORMAL appends to the WAL without an fsync. A write may wait for another
    process's write lock (up to the busy timeout); within this process writers queue on `_writer`."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        self._open = True
        db.acquire()

    def close(self) -> None:
        """Release the database; it is closed when the last adapter on it closes."""
        if self._open:
            self._open = False
            self._db.release()


class SqliteRecordStore(_Adapter):
    """`RecordStore` over the generic records table; see `oratio.store.ports` for the contract."""

    def insert(self, table: Table[R], item: R) -> R:
        with self._db.write() as tx:
            return _insert(tx, table, item)

    def get(self, table: Table[R], partition: str, sort: str) -> R | None:
        rows = self._db.fetch(
            "SELECT body FROM records WHERE tbl = ? AND pk = ? AND sk = ?", (table.name, partition, sort)
        )
        return table.model.model_validate_json(rows[0][0]) if rows else None

    def get_unique(self, table: Table[R], partition: str, value: str) -> R | None:
        rows = self._db.fetch(
            "SELECT r.body FROM record_unique u"
            " JOIN records r ON r.tbl = u.tbl AND r.pk = u.pk AND r.sk = u.sk"
            " WHERE u.tbl = ? AND u.pk = ? AND u.value = ?",
            (table.name, partition, value),
        )
        return table.model.model_validate_json(rows[0][0]) if rows else None

    def replace(self, table: Table[R], item: R) -> R:
        with self._db.write() as tx:
            return _replace(tx, table, item)

    def compare_and_set(self, table: Table[R], item: R) -> R:
        if table.unique is not None:
            raise InvalidInput(f"compare_and_set does not serve {table.name}: it has a unique value")
        with self._db.write() as tx:
            return _insert(tx, table, item) if item.version == 0 else _replace(tx, table, item)

    def transact(self, writes: Sequence[Write]) -> list[Any]:
        check_writes(writes)
        with self._db.write() as tx:
            return [_apply(tx, w) for w in writes]

    def transact_logged(self, writes: Sequence[Write], events: Sequence[NewEvent], log: object) -> list[Any] | None:
        """`transact`, with `events` appended to `log` in the same SQLite transaction, when `log` is the
        event log of this very database (the platform's default); None (nothing written) otherwise, and
        the caller appends them itself. One commit instead of one per event, and no crash between a
        write and the event announcing it."""
        if getattr(log, "_db", None) is not self._db:
            return None
        check_writes(writes)
        with self._db.write() as tx:
            stored = [_apply(tx, w) for w in writes]
            for event in events:
                _append_event(tx, event)
        return stored

    def delete(self, table: Table[R], partition: str, sort: str) -> bool:
        with self._db.write() as tx:
            _drop_entries(tx, table, partition, sort)
            cur = tx.execute("DELETE FROM records WHERE tbl = ? AND pk = ? AND sk = ?", (table.name, partition, sort))
            return cur.rowcount > 0

    def delete_unchanged(self, table: Table[R], item: R) -> DeleteOutcome:
        """Read and delete under one write lock, so nothing can land between the check and the delete."""
        pk, sk = table.partition(item), table.sort(item)
        with self._db.write() as tx:
            row = tx.execute(
                "SELECT version, body FROM records WHERE tbl = ? AND pk = ? AND sk = ?", (table.name, pk, sk)
            ).fetchone()
            if row is None:
                return DeleteOutcome.ABSENT
            if row[0] != item.version:
                return DeleteOutcome.CONDITION_FAILED
            if table.expires is not None:
                stored = table.model.model_validate_json(row[1])
                if expiry_second(table, stored) != expiry_second(table, item):
                    return DeleteOutcome.CONDITION_FAILED
            _drop_entries(tx, table, pk, sk)
            tx.execute("DELETE FROM records WHERE tbl = ? AND pk = ? AND sk = ?", (table.name, pk, sk))
            return DeleteOutcome.DELETED

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
        if not 1 <= limit <= Limits.PAGE_SIZE_MAX:
            raise InvalidInput(f"limit must be between 1 and {Limits.PAGE_SIZE_MAX}", field="limit")
        if index is None:
            keys, sort_col = ["r.sk"], "r.sk"
            sql = "SELECT r.sk, r.body FROM records r WHERE r.tbl = ? AND r.pk = ?"
            params: list[Any] = [table.name, partition]
        else:
            table.index(index)  # an unknown index is a programming error: KeyError
            # Index sort keys need not be unique, so the record key breaks ties for a stable order.
            keys, sort_col = ["ri.isk", "ri.pk", "ri.sk"], "ri.isk"
            sql = (
                "SELECT ri.isk, ri.pk, ri.sk, r.body FROM record_index ri JOIN records r"
                " ON r.tbl = ri.tbl AND r.pk = ri.pk AND r.sk = ri.sk"
                " WHERE ri.tbl = ? AND ri.idx = ? AND ri.ipk = ?"
            )
            params = [table.name, index, partition]
        if sort_from is not None:
            sql += f" AND {sort_col} >= ?"
            params.append(sort_from)
        if sort_to is not None:
            sql += f" AND {sort_col} <= ?"
            params.append(sort_to)
        query_id = _fingerprint([table.name, index, partition, sort_from, sort_to, descending])
        if cursor is not None:
            after = _decode_cursor(cursor, query_id, len(keys))
            sql += f" AND ({', '.join(keys)}) {'<' if descending else '>'} ({', '.join('?' * len(keys))})"
            params.extend(after)
        direction = " DESC" if descending else ""
        sql += " ORDER BY " + ", ".join(k + direction for k in keys) + " LIMIT ?"
        params.append(limit + 1)  # one extra row says whether another page exists
        rows = self._db.fetch(sql, params)
        page = rows[:limit]
        items = [table.model.model_validate_json(row[-1]) for row in page]
        next_cursor = _encode_cursor(query_id, list(page[-1][:-1])) if len(rows) > limit else None
        return Page(items=items, next_cursor=next_cursor)


def _apply(tx: sqlite3.Connection, write: Write) -> Any:
    if isinstance(write, Insert):
        return _insert(tx, write.table, write.item)
    if isinstance(write, Unchanged):
        _version_is(tx, write.table, write.item)
        return write.item
    return _replace(tx, write.table, write.item)


def _version_is(tx: sqlite3.Connection, table: Table[R], item: R) -> None:
    """Conflict unless the stored record is still at `item.version`."""
    pk, sk = table.partition(item), table.sort(item)
    row = tx.execute("SELECT version FROM records WHERE tbl = ? AND pk = ? AND sk = ?", (table.name, pk, sk)).fetchone()
    if row is None:
        raise Conflict(f"the {table.name} record {sk!r} no longer exists")
    if row[0] != item.version:
        raise Conflict(f"the {table.name} record {sk!r} was changed meanwhile; read it again and retry")


def _insert(tx: sqlite3.Connection, table: Table[R], item: R) -> R:
    stored = item.model_copy(update={"version": 1})
    pk, sk = table.partition(stored), table.sort(stored)
    try:
        tx.execute(
            "INSERT INTO records (tbl, pk, sk, body, version) VALUES (?, ?, ?, ?, 1)",
            (table.name, pk, sk, stored.model_dump_json(context=STORE_CONTEXT)),
        )
    except sqlite3.IntegrityError as exc:
        if exc.sqlite_errorcode in _KEY_TAKEN:
            raise Conflict(f"a {table.name} record with key {sk!r} already exists") from exc
        raise
    _add_entries(tx, table, stored, pk, sk)
    return stored


def _replace(tx: sqlite3.Connection, table: Table[R], item: R) -> R:
    stored = item.model_copy(update={"version": item.version + 1})
    pk, sk = table.partition(item), table.sort(item)
    _version_is(tx, table, item)
    tx.execute(
        "UPDATE records SET body = ?, version = ? WHERE tbl = ? AND pk = ? AND sk = ?",
        (stored.model_dump_json(context=STORE_CONTEXT), stored.version, table.name, pk, sk),
    )
    if _stored_entries(tx, table, pk, sk) != _entries_of(table, stored):
        _drop_entries(tx, table, pk, sk)
        _add_entries(tx, table, stored, pk, sk)
    return stored


def _entries_of(table: Table[R], item: R) -> tuple[set[tuple[str, str, str]], str | None]:
    """The index rows (index, partition, sort) and the unique value `item` should have."""
    rows = {(idx.name, ipk, idx.sort(item)) for idx in table.indexes if (ipk := idx.partition(item)) is not None}
    return rows, table.unique(item) if table.unique is not None else None


def _stored_entries(
    tx: sqlite3.Connection, table: Table[R], pk: str, sk: str
) -> tuple[set[tuple[str, str, str]], str | None]:
    """The index rows and unique value stored for a record. A replace that changes neither (a session's
    counters, a key's use count: most replaces) then reads them instead of deleting and re-inserting them."""
    rows: set[tuple[str, str, str]] = set()
    if table.indexes:
        found = tx.execute(
            "SELECT idx, ipk, isk FROM record_index WHERE tbl = ? AND pk = ? AND sk = ?", (table.name, pk, sk)
        ).fetchall()
        rows = {(idx, ipk, isk) for idx, ipk, isk in found}
    value = None
    if table.unique is not None:
        row = tx.execute("SELECT value FROM record_unique WHERE tbl = ? AND pk = ? AND sk = ?", (table.name, pk, sk))
        got = row.fetchone()
        value = None if got is None else str(got[0])
    return rows, value


def _add_entries(tx: sqlite3.Connection, table: Table[R], item: R, pk: str, sk: str) -> None:
    """Write the item's unique value and its (non-sparse) index rows."""
    value = table.unique(item) if table.unique is not None else None
    if value is not None:
        try:
            tx.execute(
                "INSERT INTO record_unique (tbl, pk, value, sk) VALUES (?, ?, ?, ?)",
                (table.name, pk, value, sk),
            )
        except sqlite3.IntegrityError as exc:
            if exc.sqlite_errorcode in _KEY_TAKEN:
                shown = value.rsplit("#", 1)[-1]  # drop scoping prefixes such as the agent id
                raise Conflict(f"{shown!r} is already taken by another {table.name} record") from exc
            raise
    for idx in table.indexes:
        ipk = idx.partition(item)
        if ipk is not None:
            tx.execute(
                "INSERT INTO record_index (tbl, idx, ipk, isk, pk, sk) VALUES (?, ?, ?, ?, ?, ?)",
                (table.name, idx.name, ipk, idx.sort(item), pk, sk),
            )


def _drop_entries(tx: sqlite3.Connection, table: Table[R], pk: str, sk: str) -> None:
    for side in ("record_index", "record_unique"):
        tx.execute(f"DELETE FROM {side} WHERE tbl = ? AND pk = ? AND sk = ?", (table.name, pk, sk))


def _fingerprint(query: list[Any]) -> str:
    return hashlib.sha256(json.dumps(query).encode()).hexdigest()[:16]


def _encode_cursor(query_id: str, after: list[str]) -> str:
    raw = json.dumps({"q": query_id, "after": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, query_id: str, width: int) -> list[str]:
    """The keys a cursor resumes after; a cursor from another query would silently skip or repeat."""
    invalid = InvalidInput("the cursor is not valid for this query; start again without one", field="cursor")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:  # bad base64, bad UTF-8 and bad JSON are all ValueErrors
        raise invalid from None
    if not isinstance(data, dict) or data.get("q") != query_id:
        raise invalid
    after = data.get("after")
    if not isinstance(after, list) or len(after) != width or not all(isinstance(k, str) for k in after):
        raise invalid
    return after


def _append_event(tx: sqlite3.Connection, event: NewEvent) -> Event:
    """Give the event its tenant's next seq inside the caller's write transaction (so commit order is seq order)."""
    dumped = event.model_dump(mode="json")
    seq = int(
        tx.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE tenant_id = ?", (event.tenant_id,)).fetchone()[0]
    )
    tx.execute(
        "INSERT INTO events (tenant_id, seq, type, subject, data, at) VALUES (?, ?, ?, ?, ?, ?)",
        (event.tenant_id, seq, dumped["type"], event.subject, json.dumps(dumped["data"]), dumped["at"]),
    )
    return Event.model_validate({**dumped, "seq": seq})


class SqliteEventLog(_Adapter):
    """`EventLog` whose seq is MAX+1 under the write lock, so commit order is seq order.

    Because SQLite has one writer at a time and a reader sees only committed rows, an event with
    seq N is visible before any event with seq > N can be: tailing readers never see a gap filled.
    One shard: with one writer at a time, more shards would add nothing but cursor width.
    """

    shards = 1

    def append(self, event: NewEvent) -> Event:
        with self._db.write() as tx:
            return _append_event(tx, event)

    def read(self, tenant_id: str, after: EventCursor | int = 0, limit: int = 100) -> list[Event]:
        if not 1 <= limit <= Limits.PAGE_SIZE_MAX:
            raise InvalidInput(f"limit must be between 1 and {Limits.PAGE_SIZE_MAX}", field="limit")
        (position,) = cursor_of(after, self.shards).positions
        rows = self._db.fetch(
            "SELECT seq, type, subject, data, at FROM events WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (tenant_id, position, limit),
        )
        return [
            Event(tenant_id=tenant_id, seq=seq, type=kind, subject=subject, data=json.loads(data), at=at)
            for seq, kind, subject, data, at in rows
        ]

    def head(self, tenant_id: str) -> EventCursor:
        rows = self._db.fetch("SELECT COALESCE(MAX(seq), 0) FROM events WHERE tenant_id = ?", (tenant_id,))
        return EventCursor((int(rows[0][0]),))


__all__ = ["SCHEMA_VERSION", "SqliteDatabase", "SqliteEventLog", "SqliteRecordStore"]
