"""The one event-log tailer (`oratio.services.live.EventTail`) the dashboard and MCP doors share.

Over a real SQLite log. `poll()` is driven by hand where the test is about what one poll does; the
tests that run the poller wait for the events themselves, bounded by `anyio.fail_after` (no sleeps).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from oratio.services.live import EventTail, Subscription, TailSettings, is_access_event, scope_for
from oratio.store.ports import EventCursor
from oratio.store.sqlite import SqliteDatabase, SqliteEventLog
from schemas import Event, EventType, NewEvent, Scope

pytestmark = pytest.mark.anyio

ACME, GLOBEX, INITECH = "ten_acme", "ten_globex", "ten_initech"
WAIT = 10.0
FAST = TailSettings(poll_interval=0.01)


class CountingLog:
    """The SQLite log, counting reads per tenant (the tailer's cost)."""

    def __init__(self, log: SqliteEventLog) -> None:
        self._log = log
        self.shards = log.shards
        self._lock = threading.Lock()
        self.reads: dict[str, int] = {}

    def append(self, event: NewEvent) -> Event:
        return self._log.append(event)

    def read(self, tenant_id: str, after: EventCursor | int = 0, limit: int = 100) -> list[Event]:
        with self._lock:
            self.reads[tenant_id] = self.reads.get(tenant_id, 0) + 1
        return self._log.read(tenant_id, after, limit)

    def head(self, tenant_id: str) -> EventCursor:
        return self._log.head(tenant_id)

    def close(self) -> None:
        self._log.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "oratio.db"


@pytest.fixture
def log(db_path: Path) -> Iterator[CountingLog]:
    db = SqliteDatabase(db_path)
    yield CountingLog(SqliteEventLog(db))
    db.close()


def write(log: CountingLog | SqliteEventLog, tenant_id: str, count: int = 1) -> list[int]:
    return [
        log.append(NewEvent(tenant_id=tenant_id, type=EventType.AGENT_UPDATED, subject="agt_1")).seq
        for _ in range(count)
    ]


def seqs(events: list[Event]) -> list[int]:
    return [event.seq for event in events]


async def drain(subscription: Subscription, until: int) -> list[int]:
    """Every seq the subscription yields up to `until`, waiting as needed."""
    taken: list[int] = []
    with anyio.fail_after(WAIT):
        while not taken or taken[-1] < until:
            taken.extend(seqs(await subscription.next_batch()))
    return taken


def test_scopes_and_access_events_are_decided_in_one_place() -> None:
    def event(kind: EventType) -> Event:
        return Event(tenant_id=ACME, type=kind, subject="x_1", seq=1)

    for kind in EventType:
        family = kind.value.split(".", 1)[0]
        expected = Scope.SESSIONS_READ if family in ("session", "notification", "error") else Scope.AGENTS_READ
        assert scope_for(event(kind)) == expected
        assert is_access_event(event(kind)) == (family == "admin")


async def test_one_read_per_tenant_per_poll_fans_out_to_every_subscriber(log: CountingLog) -> None:
    tail = EventTail(log)
    subscribers = [await tail.open(ACME) for _ in range(5)]
    written = write(log, ACME, 3)
    log.reads.clear()

    await tail.poll()

    assert log.reads == {ACME: 1}
    for subscriber in subscribers:
        assert seqs(await subscriber.ready()) == written
        assert await subscriber.ready() == []  # each event once


async def test_a_tenant_is_read_only_for_its_own_subscribers(log: CountingLog) -> None:
    tail = EventTail(log)
    acme = await tail.open(ACME)
    globex = await tail.open(GLOBEX)
    acme_seqs, globex_seqs = write(log, ACME, 2), write(log, GLOBEX, 1)
    write(log, INITECH, 4)  # nobody follows Initech
    log.reads.clear()

    await tail.poll()

    assert set(log.reads) == {ACME, GLOBEX}
    assert [(e.tenant_id, e.seq) for e in await acme.ready()] == [(ACME, s) for s in acme_seqs]
    assert [(e.tenant_id, e.seq) for e in await globex.ready()] == [(GLOBEX, s) for s in globex_seqs]
    assert tail.tenants == {ACME, GLOBEX}

    globex.close()
    globex.close()  # idempotent
    assert tail.tenants == {ACME}
    acme.close()
    assert tail.tenants == frozenset()
    log.reads.clear()
    await tail.poll()
    assert log.reads == {}  # an idle tailer reads nothing


async def test_a_subscription_resumes_after_its_cursor_and_joins_the_live_stream(log: CountingLog) -> None:
    tail = EventTail(log)
    first = await tail.open(ACME)  # the tenant is followed from the head, before anything is written
    written = write(log, ACME, 5)
    await tail.poll()

    resumed = await tail.open(ACME, after=written[1])  # a page reconnecting with the last seq it saw
    assert resumed.lagging
    assert await drain(resumed, written[-1]) == written[2:]
    assert not resumed.lagging

    later = write(log, ACME, 2)
    await tail.poll()
    assert seqs(await resumed.ready()) == later
    assert seqs(await first.ready()) == written + later


async def test_a_new_subscription_without_a_cursor_starts_at_the_head(log: CountingLog) -> None:
    tail = EventTail(log)
    write(log, ACME, 3)
    subscriber = await tail.open(ACME)
    await tail.poll()
    assert await subscriber.ready() == []
    fresh = write(log, ACME, 1)
    await tail.poll()
    assert seqs(await subscriber.ready()) == fresh


async def test_a_slow_subscriber_is_bounded_and_catches_up_from_the_log(log: CountingLog) -> None:
    tail = EventTail(log, TailSettings(queue_limit=3, batch=2))
    fast = await tail.open(ACME)
    slow = await tail.open(ACME)
    fast_seen: list[int] = []
    written: list[int] = []
    for _ in range(5):
        written += write(log, ACME, 2)
        await tail.poll()
        fast_seen += seqs(await fast.ready())  # the fast one takes its events after every poll

    assert fast_seen == written
    assert slow.lagging  # its queue would have passed 3 events: it is no longer fed
    assert len(slow._queue) <= 3  # memory stays bounded whatever the burst

    # Taking its events now, the slow one gets every event once, in order: the queue, then the log.
    assert await drain(slow, written[-1]) == written
    assert not slow.lagging

    live = write(log, ACME, 1)
    await tail.poll()
    assert seqs(await slow.ready()) == live == seqs(await fast.ready())


async def test_events_written_by_another_process_are_seen(log: CountingLog, db_path: Path) -> None:
    tail = EventTail(log, FAST)
    other = SqliteDatabase(db_path)  # another process's connection to the same data directory
    try:
        async with tail.subscribe(ACME) as subscriber:
            written = await anyio.to_thread.run_sync(lambda: write(SqliteEventLog(other), ACME, 3))
            assert await drain(subscriber, written[-1]) == written
    finally:
        other.close()


async def test_pollers_on_one_loop_take_over_from_each_other(log: CountingLog) -> None:
    """Every `subscribe` keeps a poller running; one polls, the next takes over when it leaves."""
    tail = EventTail(log, FAST)
    async with tail.subscribe(ACME) as staying:
        async with tail.subscribe(ACME) as leaving:
            first = write(log, ACME, 1)
            assert await drain(leaving, first[-1]) == first
        second = write(log, ACME, 1)
        assert await drain(staying, second[-1]) == first + second
    assert tail.tenants == frozenset()
    assert tail._loops == {}  # nothing is kept for a loop once its subscribers and pollers are gone


async def test_a_failing_read_is_retried(log: CountingLog) -> None:
    class Flaky(CountingLog):
        def read(self, tenant_id: str, after: EventCursor | int = 0, limit: int = 100) -> list[Event]:
            if not getattr(self, "failed", False):
                self.failed = True
                raise OSError("database is locked")
            return super().read(tenant_id, after, limit)

    flaky = Flaky(log._log)
    tail = EventTail(flaky, FAST)
    async with tail.subscribe(ACME) as subscriber:
        written = write(log, ACME, 1)
        assert await drain(subscriber, written[-1]) == written
    assert flaky.failed


def write_about(log: CountingLog, subject: str) -> int:
    return log.append(NewEvent(tenant_id=ACME, type=EventType.SESSION_TURN, subject=subject)).seq


async def test_a_subscription_to_one_subject_is_fed_and_woken_only_by_its_events(log: CountingLog) -> None:
    tail = EventTail(log)
    woken: list[str] = []
    mine = await tail.open(ACME, subject="ses_a", on_ready=lambda: woken.append("ses_a"))
    everything = await tail.open(ACME)
    others = [write_about(log, "ses_b") for _ in range(3)]
    await tail.poll()
    assert woken == [] and await mine.ready() == []  # a hundred calls are not woken by each other's turns
    assert seqs(await everything.ready()) == others

    own = [write_about(log, "ses_a"), write_about(log, "ses_b"), write_about(log, "ses_a")]
    await tail.poll()
    assert woken == ["ses_a"]
    assert seqs(await mine.ready()) == [own[0], own[2]]
    assert mine.cursor == EventCursor((own[-1],))  # one shard on SQLite


async def test_a_lagging_subject_subscription_reads_past_other_subjects(log: CountingLog) -> None:
    tail = EventTail(log, TailSettings(batch=2))
    await tail.open(ACME)  # the tenant is followed from the head
    wanted = []
    for n in range(6):
        write_about(log, "ses_b")
        if n % 3 == 2:
            wanted.append(write_about(log, "ses_a"))
    await tail.poll()
    resumed = await tail.open(ACME, after=0, subject="ses_a")  # replays from the log, two events a read
    assert resumed.lagging
    taken: list[int] = []
    with anyio.fail_after(WAIT):
        while len(taken) < len(wanted):
            taken += seqs(await resumed.next_batch())
    assert taken == wanted and not resumed.lagging
