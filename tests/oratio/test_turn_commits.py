"""A turn is one commit: the turn, the session's counters and the `session.turn` event together.

On SQLite (the event log in the same file) `Backends.transact` appends the events inside the
records' transaction; elsewhere (DynamoDB) it writes, then appends, as before. Either way a refused
write announces nothing. Also: a door asking a session's status reads one record, not the transcript.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import cast

import pytest

from oratio.blobs.local import LocalBlobStore
from oratio.errors import Conflict
from oratio.platform import Platform
from oratio.services import Backends, SessionService
from oratio.store.ports import EventCursor, EventLog, Insert, RecordStore, shard_of
from oratio.store.sqlite import SqliteDatabase, SqliteEventLog, SqliteRecordStore
from oratio.store.tables import SESSIONS
from schemas import Channel, EventType, NewEvent, Role, SessionStatus
from tests.support.counting import Counting
from tests.support.tenants import Tenancy, active_agent


def counted_sessions(platform: Platform, tally: Counter[str]) -> SessionService:
    b = platform.backends
    backends = Backends(
        store=cast(RecordStore, Counting("store", b.store, tally)),
        events=cast(EventLog, Counting("events", b.events, tally)),
        blobs=b.blobs,
        clock=b.clock,
    )
    return SessionService(backends)


def test_appending_a_turn_is_one_store_call_with_its_event(platform: Platform, acme: Tenancy) -> None:
    agent = active_agent(platform, acme)
    tally: Counter[str] = Counter()
    sessions = counted_sessions(platform, tally)
    session = sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    tally.clear()
    session, turn = sessions.append_next(session, 1, Role.CUSTOMER, "hello")
    log = platform.backends.events
    head = log.head(acme.tenant_id).positions
    shard = shard_of(session.id, log.shards)  # the last event of the session's shard, nothing of the others
    before = EventCursor(tuple(seq - 1 if n == shard else seq for n, seq in enumerate(head)))
    (event,) = log.read(acme.tenant_id, after=before)
    assert (event.type, event.subject, event.data["seq"], event.data["text"]) == (
        EventType.SESSION_TURN,
        session.id,
        1,
        "hello",
    )
    if isinstance(platform.backends.store, SqliteRecordStore):
        assert dict(tally) == {"store.transact_logged": 1}  # one commit: turn, counters and event
    else:
        assert dict(tally) == {"store.transact": 1, "events.append": 1}  # DynamoDB: write, then announce
    assert session.message_count == 1 and turn.seq == 1


def test_a_refused_write_appends_no_event(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "oratio.db")
    store, log = SqliteRecordStore(db), SqliteEventLog(db)
    backends = Backends(store=store, events=log, blobs=LocalBlobStore(tmp_path / "blobs"))
    try:
        from oratio.ids import new_id
        from schemas import Session, utcnow

        now = utcnow()
        session = Session(
            tenant_id="ten_1",
            id=new_id("session"),
            agent_id="agt_1",
            channel=Channel.TEXT,
            started_at=now,
            last_activity_at=now,
        )
        event = NewEvent(tenant_id="ten_1", type=EventType.SESSION_STARTED, subject=session.id, data={})
        backends.transact([Insert(SESSIONS, session)], [event])
        assert [e.seq for e in log.read("ten_1")] == [1]
        with pytest.raises(Conflict):
            backends.transact([Insert(SESSIONS, session)], [event])  # the key is taken: all or nothing
        assert [e.seq for e in log.read("ten_1")] == [1]
        log.append(event)  # the log's own appends go on numbering after the joint ones
        assert [e.seq for e in log.read("ten_1")] == [1, 2]
    finally:
        store.close()
        log.close()
        db.close()


def test_an_event_log_of_another_database_is_appended_after_the_write(tmp_path: Path) -> None:
    one, two = SqliteDatabase(tmp_path / "one.db"), SqliteDatabase(tmp_path / "two.db")
    store, elsewhere = SqliteRecordStore(one), SqliteEventLog(two)
    try:
        event = NewEvent(tenant_id="ten_1", type=EventType.SESSION_STARTED, subject="s", data={})
        assert store.transact_logged([], [event], elsewhere) is None  # not this file's log: the caller appends
    finally:
        store.close()
        elsewhere.close()
        one.close()
        two.close()


def test_a_sessions_status_is_one_record_read_whatever_its_length(platform: Platform, acme: Tenancy) -> None:
    agent = active_agent(platform, acme)
    tally: Counter[str] = Counter()
    sessions = counted_sessions(platform, tally)
    session = sessions.start(acme.tenant_id, agent.id, Channel.VOICE)
    for seq in range(1, 121):
        session, _ = sessions.append_next(session, seq, Role.CUSTOMER if seq % 2 else Role.AGENT, f"words {seq}")
    tally.clear()
    assert sessions.status(acme.tenant_id, session.id) is SessionStatus.ACTIVE
    assert dict(tally) == {"store.get": 1}
