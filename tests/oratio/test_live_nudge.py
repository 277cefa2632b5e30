"""The tailer is nudged by this process's writes: an event reaches a subscriber without waiting for a poll.

The tailers here poll once an hour, so only the nudge can deliver within the test's bound; events
written by another process (a log the signal does not reach) still wait for the poll.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from oratio.blobs.local import LocalBlobStore
from oratio.platform import Platform
from oratio.services._common import Backends
from oratio.services.live import EventTail, Subscription, TailSettings
from oratio.store.ports import Insert
from oratio.store.sqlite import SqliteDatabase, SqliteEventLog, SqliteRecordStore
from oratio.store.tables import TURNS
from schemas import Channel, EventType, NewEvent, Role, Turn
from tests.support.tenants import Tenancy, active_agent

pytestmark = pytest.mark.anyio

ACME = "ten_acme"
WAIT = 10.0
HOURLY = TailSettings(poll_interval=3600)


@pytest.fixture
def backends(tmp_path: Path) -> Iterator[Backends]:
    db = SqliteDatabase(tmp_path / "oratio.db")
    yield Backends(store=SqliteRecordStore(db), events=SqliteEventLog(db), blobs=LocalBlobStore(tmp_path / "blobs"))
    db.close()


def _event(tenant_id: str = ACME) -> NewEvent:
    return NewEvent(tenant_id=tenant_id, type=EventType.AGENT_UPDATED, subject="agt_1")


def _turn() -> Turn:
    return Turn(tenant_id=ACME, session_id="ses_1", seq=1, role=Role.CUSTOMER, text="hi")


async def _next(subscription: Subscription) -> list[int]:
    with anyio.fail_after(WAIT):
        return [event.seq for event in await subscription.next_batch()]


async def test_an_event_emitted_from_a_worker_thread_wakes_the_poller(backends: Backends) -> None:
    tail = EventTail(backends.events, HOURLY)
    backends.appended.listen(tail.nudge)
    async with tail.subscribe(ACME) as subscription:
        await anyio.to_thread.run_sync(lambda: backends.emit(ACME, EventType.AGENT_UPDATED, "agt_1"))
        assert await _next(subscription) == [1]
        await anyio.to_thread.run_sync(lambda: backends.transact([Insert(TURNS, _turn())], [_event(), _event()]))
        assert await _next(subscription) == [2, 3]


async def test_an_event_written_on_the_loop_itself_wakes_the_poller(backends: Backends) -> None:
    tail = EventTail(backends.events, HOURLY)
    backends.appended.listen(tail.nudge)
    async with tail.subscribe(ACME) as subscription:
        backends.append(_event())
        assert await _next(subscription) == [1]


async def test_a_nudge_for_another_tenant_schedules_nothing(backends: Backends) -> None:
    tail = EventTail(backends.events, HOURLY)
    async with tail.subscribe(ACME):
        await anyio.to_thread.run_sync(lambda: tail.nudge("ten_globex"))
        [state] = tail._loops.values()
        assert not state.nudged.is_set() and not state.nudge_pending


async def test_the_platform_wires_its_writes_to_its_tailer(platform: Platform, acme: Tenancy) -> None:
    agent = active_agent(platform, acme)
    platform.live.settings = HOURLY
    async with platform.live.subscribe(acme.tenant_id) as subscription:
        session = await anyio.to_thread.run_sync(
            lambda: platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
        )
        with anyio.fail_after(WAIT):
            events = await subscription.next_batch()
    assert [(e.type, e.subject) for e in events] == [(EventType.SESSION_STARTED, session.id)]


async def test_a_waiting_runner_that_leaves_does_not_unhook_the_polling_one(backends: Backends) -> None:
    tail = EventTail(backends.events, HOURLY)
    backends.appended.listen(tail.nudge)
    async with tail.subscribe(ACME) as first:
        async with tail.subscribe(ACME) as second:  # its runner waits for the first's poller lock
            backends.append(_event())
            assert await _next(second) == [1]
            assert await _next(first) == [1]
        backends.append(_event())
        assert await _next(first) == [2]
