"""One behaviour contract for every EventLog adapter (SQLite and DynamoDB on moto_server)."""

from __future__ import annotations

import threading

from oratio.store.ports import EventLog
from schemas import Event, EventType, NewEvent

TENANT_A = "ten_aaaa"
TENANT_B = "ten_bbbb"


def event(tenant: str, n: int) -> NewEvent:
    return NewEvent(tenant_id=tenant, type=EventType.SESSION_TURN, subject=f"ses_{n}", data={"n": n, "text": "hi"})


def test_each_tenant_gets_its_own_sequence_from_one(event_log: EventLog) -> None:
    assert event_log.head(TENANT_A) == 0
    a1 = event_log.append(event(TENANT_A, 1))
    b1 = event_log.append(event(TENANT_B, 1))
    a2 = event_log.append(event(TENANT_A, 2))
    assert (a1.seq, b1.seq, a2.seq) == (1, 1, 2)
    assert event_log.head(TENANT_A) == 2
    assert event_log.head(TENANT_B) == 1


def test_read_returns_what_follows_the_cursor_with_its_data(event_log: EventLog) -> None:
    for n in range(1, 6):
        event_log.append(event(TENANT_A, n))
    event_log.append(event(TENANT_B, 99))
    tail = event_log.read(TENANT_A, after=2, limit=2)
    assert [e.seq for e in tail] == [3, 4]
    assert tail[0].data == {"n": 3, "text": "hi"}
    assert tail[0].type is EventType.SESSION_TURN
    assert all(e.tenant_id == TENANT_A for e in event_log.read(TENANT_A))
    assert event_log.read(TENANT_A, after=5) == []


def test_concurrent_writers_and_a_tailing_reader_lose_and_repeat_nothing(event_log: EventLog) -> None:
    writers, per_writer = 4, 15
    total = writers * per_writer
    seen: list[Event] = []
    done = threading.Event()

    def write(w: int) -> None:
        for i in range(per_writer):
            event_log.append(event(TENANT_A, w * 100 + i))

    def tail() -> None:
        cursor = 0
        while len(seen) < total:
            batch = event_log.read(TENANT_A, after=cursor, limit=7)
            for item in batch:
                assert item.seq == cursor + 1, "a tailing reader must never see a gap it later fills"
                cursor = item.seq
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
    assert [e.seq for e in seen] == list(range(1, total + 1))
    assert sorted(e.data["n"] for e in seen) == sorted(w * 100 + i for w in range(writers) for i in range(per_writer))


def test_each_writers_events_keep_their_order_among_concurrent_writers(event_log: EventLog) -> None:
    """A session's events come from one writer at a time: however appends are grouped, its order holds."""
    writers, per_writer = 6, 10
    barrier = threading.Barrier(writers)

    def write(w: int) -> None:
        barrier.wait()
        for i in range(per_writer):
            event_log.append(event(TENANT_A, w * 100 + i))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    logged = event_log.read(TENANT_A, limit=writers * per_writer)
    assert [e.seq for e in logged] == list(range(1, writers * per_writer + 1))
    for w in range(writers):
        assert [e.data["n"] for e in logged if e.data["n"] // 100 == w] == [w * 100 + i for i in range(per_writer)]
