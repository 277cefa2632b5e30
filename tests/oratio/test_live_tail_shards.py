"""The live tailer over a sharded log (DynamoDB on moto_server, 8 shards): every subscriber gets every
event once, each session's in order, whether it is fed by the tailer, left behind to read by itself,
or resumed from a cursor taken midway."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator

import anyio
import anyio.to_thread
import pytest

from oratio.services.live import EventTail, Subscription, TailSettings
from oratio.store.dynamodb import DynamoEventLog, create_dynamodb_tables
from oratio.store.ports import EventCursor
from schemas import Event, EventType, NewEvent
from tests.aws import MotoServer

pytestmark = pytest.mark.anyio

TENANT = "ten_tail"
OTHER = "ten_other"
SESSIONS, TURNS = 5, 6
WAIT_S = 90.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def log(moto: MotoServer) -> Iterator[DynamoEventLog]:
    client = moto.client("dynamodb")
    create_dynamodb_tables(client, "tail_")
    yield DynamoEventLog(client, "tail_")


def write_sessions(log: DynamoEventLog, first_turn: int = 0) -> None:
    """Sessions talking at once, each from its own thread (as turns on several replicas would)."""

    def talk(s: int) -> None:
        for n in range(first_turn, first_turn + TURNS):
            log.append(NewEvent(tenant_id=TENANT, type=EventType.SESSION_TURN, subject=f"ses_{s}", data={"n": n}))
            log.append(NewEvent(tenant_id=OTHER, type=EventType.SESSION_TURN, subject=f"ses_{s}", data={"n": n}))

    threads = [threading.Thread(target=talk, args=(s,)) for s in range(SESSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)


async def take(subscription: Subscription, count: int) -> list[Event]:
    got: list[Event] = []
    with anyio.fail_after(WAIT_S):
        while len(got) < count:
            got += await subscription.next_batch()
    return got


def assert_each_session_in_order(events: list[Event], turns: range) -> None:
    assert all(e.tenant_id == TENANT for e in events)
    assert len({(e.shard, e.seq) for e in events}) == len(events), "no event twice"
    by_session: dict[str, list[int]] = defaultdict(list)
    for event in events:
        by_session[event.subject].append(event.data["n"])
    assert by_session == {f"ses_{s}": list(turns) for s in range(SESSIONS)}


@pytest.mark.parametrize("queue_limit", [1000, 3], ids=["fed", "left-behind"])
async def test_subscribers_get_every_event_once_in_order_per_session(log: DynamoEventLog, queue_limit: int) -> None:
    tail = EventTail(log, TailSettings(poll_interval=0.05, batch=5, queue_limit=queue_limit))
    async with tail.subscribe(TENANT) as live:
        await anyio.to_thread.run_sync(write_sessions, log)
        got = await take(live, SESSIONS * TURNS)
        assert_each_session_in_order(got, range(TURNS))
        assert live.cursor == await anyio.to_thread.run_sync(log.head, TENANT)


async def test_a_subscription_resumed_from_a_cursor_gets_exactly_the_rest(log: DynamoEventLog) -> None:
    tail = EventTail(log, TailSettings(poll_interval=0.05, batch=5))
    await anyio.to_thread.run_sync(write_sessions, log)
    midway = await anyio.to_thread.run_sync(log.head, TENANT)
    token = midway.token()  # what a page keeps, and sends back when it reconnects
    await anyio.to_thread.run_sync(lambda: write_sessions(log, first_turn=TURNS))
    async with tail.subscribe(TENANT, after=EventCursor.parse(token, log.shards)) as resumed:
        got = await take(resumed, SESSIONS * TURNS)
    assert_each_session_in_order(got, range(TURNS, 2 * TURNS))
