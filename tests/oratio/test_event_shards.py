"""The DynamoDB event log's shards: sessions of one tenant append in parallel, and the log written
before shards (one counter per tenant) reads on as shard 0, old cursors included."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any, cast

from oratio.store.dynamodb import EVENT_SHARDS, DynamoEventLog, create_dynamodb_tables
from oratio.store.ports import EventCursor, shard_of
from schemas import Event, EventType, NewEvent
from tests.aws import MotoServer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TENANT = "ten_shards"
WAIT_S = 60.0


def subject_in(shard: int, *, taken: frozenset[str] = frozenset()) -> str:
    return next(s for n in range(10_000) if shard_of(s := f"ses_{n}", EVENT_SHARDS) == shard and s not in taken)


def turn(subject: str, n: int) -> NewEvent:
    return NewEvent(tenant_id=TENANT, type=EventType.SESSION_TURN, subject=subject, data={"n": n})


class HoldShard:
    """The real moto-backed client, except that a transaction moving `held`'s head waits until `release`
    is set (bounded): a commit in flight on one shard for as long as the test wants."""

    def __init__(self, inner: DynamoDBClient, held: str) -> None:
        self._inner = inner
        self._held = held
        self.entered = threading.Event()
        self.release = threading.Event()
        self.released_in_time: bool | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def transact_write_items(self, **request: Any) -> Any:
        first = request["TransactItems"][0]
        if first.get("Update", {}).get("Key", {}).get("pk", {}).get("S") == self._held:
            self.entered.set()
            self.released_in_time = self.release.wait(WAIT_S)
        return self._inner.transact_write_items(**request)


def test_another_sessions_append_commits_while_one_shard_is_mid_commit(moto: MotoServer) -> None:
    """One tenant, two sessions in different shards: the second's append does not wait for the first's
    commit (with one head per tenant it queued behind it, or raced it on the same counter item)."""
    client = moto.client("dynamodb")
    create_dynamodb_tables(client, "par_")
    first = subject_in(1)
    second = subject_in(2)
    gate = HoldShard(client, f"{TENANT}#1")
    log = DynamoEventLog(cast("DynamoDBClient", gate), "par_")
    results: list[Event] = []
    writer = threading.Thread(target=lambda: results.append(log.append(turn(first, 1))))
    writer.start()
    assert gate.entered.wait(WAIT_S), "the first append reached its commit"
    other = log.append(turn(second, 2))  # commits while the first shard's commit is held
    gate.release.set()
    writer.join(WAIT_S)
    assert gate.released_in_time is True, "the second session's append waited for the first's commit"
    assert (results[0].shard, results[0].seq) == (1, 1)
    assert (other.shard, other.seq) == (2, 1)
    assert {e.subject for e in log.read(TENANT)} == {first, second}


def test_the_single_counter_log_reads_on_as_shard_zero_with_its_old_cursors(moto: MotoServer) -> None:
    client = moto.client("dynamodb")
    create_dynamodb_tables(client, "old_")
    # What the log before shards stored: the tenant's head item and events keyed by the tenant id,
    # their bodies without a shard.
    client.put_item(TableName="old_event_heads", Item={"pk": {"S": TENANT}, "head": {"N": "3"}})
    for seq in (1, 2, 3):
        body = {**turn(f"ses_old{seq}", seq).model_dump(mode="json"), "seq": seq}
        client.put_item(
            TableName="old_events",
            Item={"pk": {"S": TENANT}, "sk": {"N": str(seq)}, "body": {"S": json.dumps(body)}},
        )
    log = DynamoEventLog(client, "old_")
    assert log.head(TENANT) == EventCursor.legacy(3, EVENT_SHARDS)
    resumed = log.read(TENANT, after=EventCursor.parse("1", EVENT_SHARDS))  # a page's cursor from before
    assert [(e.shard, e.seq, e.data["n"]) for e in resumed] == [(0, 2, 2), (0, 3, 3)]
    later = log.append(turn(subject_in(0), 4))
    assert (later.shard, later.seq) == (0, 4)
    elsewhere = log.append(turn(subject_in(5), 5))
    assert (elsewhere.shard, elsewhere.seq) == (5, 1)
    assert {e.data["n"] for e in log.read(TENANT, after=3)} == {4, 5}
