"""One behaviour contract for every EventLog adapter (SQLite and DynamoDB on moto_server).

A tenant's log is split into `shards` shards (1 on SQLite, several on DynamoDB), an event's shard
chosen by its subject; seqs count within a shard and readers hold one position per shard.
"""

from __future__ import annotations

import threading

import pytest

from oratio.errors import InvalidInput
from oratio.store.ports import EventCursor, EventLog, shard_of
from schemas import Event, EventType, NewEvent

TENANT_A = "ten_aaaa"
TENANT_B = "ten_bbbb"


def event(tenant: str, n: int, subject: str | None = None) -> NewEvent:
    return NewEvent(
        tenant_id=tenant, type=EventType.SESSION_TURN, subject=subject or f"ses_{n}", data={"n": n, "text": "hi"}
    )


def read_all(log: EventLog, tenant: str, after: EventCursor | None = None, limit: int = 7) -> list[Event]:
    """Every event after `after`, read `limit` at a time the way a tailer does."""
    cursor = after or EventCursor.start(log.shards)
    events: list[Event] = []
    while batch := log.read(tenant, after=cursor, limit=limit):
        assert len(batch) <= limit
        for item in batch:
            assert item.seq == cursor.positions[item.shard] + 1, "each shard is read in order, without a gap"
            cursor = cursor.advanced((item,))
        events += batch
    return events


def test_each_tenant_gets_its_own_sequence_per_shard_from_one(event_log: EventLog) -> None:
    assert event_log.head(TENANT_A) == EventCursor.start(event_log.shards)
    a1 = event_log.append(event(TENANT_A, 1, "ses_one"))
    b1 = event_log.append(event(TENANT_B, 1, "ses_one"))
    a2 = event_log.append(event(TENANT_A, 2, "ses_one"))
    assert (a1.seq, b1.seq, a2.seq) == (1, 1, 2)
    assert a1.shard == a2.shard == b1.shard == shard_of("ses_one", event_log.shards)
    head = event_log.head(TENANT_A)
    assert head.positions[a1.shard] == 2 and sum(head.positions) == 2
    assert sum(event_log.head(TENANT_B).positions) == 1


def test_read_returns_what_follows_the_cursor_with_its_data(event_log: EventLog) -> None:
    written = [event_log.append(event(TENANT_A, n, "ses_same")) for n in range(1, 6)]
    event_log.append(event(TENANT_B, 99, "ses_same"))
    after_two = EventCursor.start(event_log.shards).advanced(written[:2])
    tail = event_log.read(TENANT_A, after=after_two, limit=2)
    assert [e.seq for e in tail] == [3, 4]
    assert tail[0].data == {"n": 3, "text": "hi"}
    assert tail[0].type is EventType.SESSION_TURN
    assert all(e.tenant_id == TENANT_A for e in event_log.read(TENANT_A))
    assert event_log.read(TENANT_A, after=event_log.head(TENANT_A)) == []


def test_a_tenant_reads_only_its_own_events_in_every_shard(event_log: EventLog) -> None:
    for n in range(40):  # forty subjects: every shard of both tenants gets some
        event_log.append(event(TENANT_A, n))
        event_log.append(event(TENANT_B, 1000 + n))
    mine = read_all(event_log, TENANT_A)
    assert sorted(e.data["n"] for e in mine) == list(range(40))
    assert all(e.tenant_id == TENANT_A for e in mine)
    assert {e.shard for e in mine} == set(range(event_log.shards))


def test_a_sessions_events_stay_in_one_shard_in_order(event_log: EventLog) -> None:
    sessions = [f"ses_{s}" for s in range(12)]
    for i in range(5):
        for session in sessions:
            event_log.append(event(TENANT_A, i, session))
    logged = read_all(event_log, TENANT_A, limit=9)
    assert len(logged) == 60
    for session in sessions:
        own = [e for e in logged if e.subject == session]
        assert [e.data["n"] for e in own] == list(range(5))
        assert {e.shard for e in own} == {shard_of(session, event_log.shards)}


def test_an_old_number_cursor_reads_as_a_position_in_shard_zero(event_log: EventLog) -> None:
    """Cursors issued before shards were plain numbers; everything written then is shard 0's."""
    subject = next(f"ses_{n}" for n in range(1000) if shard_of(f"ses_{n}", event_log.shards) == 0)
    for n in range(1, 4):
        event_log.append(event(TENANT_A, n, subject))
    assert [e.seq for e in event_log.read(TENANT_A, after=1)] == [2, 3]
    assert event_log.read(TENANT_A, after=3) == []


def test_a_cursor_of_another_layout_is_refused(event_log: EventLog) -> None:
    with pytest.raises(InvalidInput):
        event_log.read(TENANT_A, after=EventCursor.start(event_log.shards + 1))


def test_concurrent_writers_and_a_tailing_reader_lose_and_repeat_nothing(event_log: EventLog) -> None:
    """Appends to several shards commit in any order relative to each other while a reader tails: the
    reader still sees each shard without a gap it later fills, and every event exactly once."""
    writers, per_writer = 4, 15
    total = writers * per_writer
    seen: list[Event] = []
    done = threading.Event()
    failures: list[str] = []

    def write(w: int) -> None:
        for i in range(per_writer):
            event_log.append(event(TENANT_A, w * 100 + i))

    def tail() -> None:
        cursor = EventCursor.start(event_log.shards)
        while len(seen) < total:
            batch = event_log.read(TENANT_A, after=cursor, limit=7)
            for item in batch:
                if item.seq != cursor.positions[item.shard] + 1:
                    failures.append(f"shard {item.shard}: seq {item.seq} after {cursor.positions[item.shard]}")
                cursor = cursor.advanced((item,))
                seen.append(item)
            if not batch and done.wait(timeout=0.01) and event_log.head(TENANT_A) == cursor:
                break

    reader = threading.Thread(target=tail)
    reader.start()
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    done.set()
    reader.join(timeout=60)
    assert not failures, "a tailing reader must never see a gap it later fills"
    assert len({(e.shard, e.seq) for e in seen}) == len(seen) == total
    assert sorted(e.data["n"] for e in seen) == sorted(w * 100 + i for w in range(writers) for i in range(per_writer))


def test_each_writers_events_keep_their_order_among_concurrent_writers(event_log: EventLog) -> None:
    """A session's events come from one writer at a time: however appends are grouped, its order holds."""
    writers, per_writer = 6, 10
    barrier = threading.Barrier(writers)

    def write(w: int) -> None:
        barrier.wait()
        for i in range(per_writer):
            event_log.append(event(TENANT_A, w * 100 + i, f"ses_w{w}"))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    logged = read_all(event_log, TENANT_A, limit=100)
    assert len(logged) == writers * per_writer
    for w in range(writers):
        assert [e.data["n"] for e in logged if e.data["n"] // 100 == w] == [w * 100 + i for i in range(per_writer)]
