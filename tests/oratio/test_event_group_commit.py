"""The DynamoDB event log commits appends waiting at the same moment together (oratio.store.group_commit).

Real threads on a real moto_server: the per-tenant head counter moves once per batch, not once per
event, and seqs stay contiguous with each writer's order kept, across two log clients (two replicas).
"""

from __future__ import annotations

import threading

import pytest

from oratio.store.dynamodb import EVENT_SHARDS, DynamoEventLog, create_dynamodb_tables
from oratio.store.group_commit import GroupCommit
from oratio.store.ports import shard_of
from schemas import EventType, NewEvent
from tests.aws import MotoServer

TENANT = "ten_aaaa"


SHARD_ZERO = [s for n in range(1000) if shard_of(s := f"ses_{n}", EVENT_SHARDS) == 0][:12]
"""Sessions whose events share shard 0: they contend on one head counter, as a tenant's all did before shards."""


def _event(n: int) -> NewEvent:
    return NewEvent(tenant_id=TENANT, type=EventType.SESSION_TURN, subject=SHARD_ZERO[n // 100], data={"n": n})


@pytest.mark.aws
def test_concurrent_appends_of_a_tenant_share_transactions_across_two_replicas(moto: MotoServer) -> None:
    create_dynamodb_tables(moto.client("dynamodb"), "gc_")
    replicas = [DynamoEventLog(moto.client("dynamodb"), "gc_") for _ in range(2)]
    writers, per_writer = 12, 6
    barrier = threading.Barrier(writers)

    def write(w: int) -> None:
        barrier.wait()
        for i in range(per_writer):
            replicas[w % 2].append(_event(w * 100 + i))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    total = writers * per_writer
    logged = replicas[0].read(TENANT, limit=total)
    assert [e.seq for e in logged] == list(range(1, total + 1))
    for w in range(writers):  # each session's events in the order its writer appended them
        assert [e.data["n"] for e in logged if e.subject == SHARD_ZERO[w]] == [w * 100 + i for i in range(per_writer)]
    assert sum(r.appends.batches for r in replicas) < total  # some appends shared a transaction


def test_a_failed_commit_raises_in_its_caller_and_the_next_submit_commits_afresh() -> None:
    def commit(key: str, items: list[int]) -> list[int]:
        if 13 in items:
            raise RuntimeError("the store said no")
        return [item * 10 for item in items]

    group: GroupCommit[int, int] = GroupCommit(commit, max_batch=3)
    with pytest.raises(RuntimeError, match="the store said no"):
        group.submit("k", 13)
    assert group.submit("k", 4) == 40  # the key's queue was handed back: a new leader commits
    assert group.batches == 2
