"""One behaviour contract for every RecordStore adapter (SQLite and DynamoDB on moto_server)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest

from oratio.errors import Conflict, InvalidInput
from oratio.ids import new_id
from oratio.store.ports import TRANSACT_MAX, DeleteOutcome, Insert, RecordStore, Replace, Unchanged
from oratio.store.tables import AGENTS, RATE_BUCKETS, RUNTIME_SESSIONS, SESSIONS, TURNS, runtime_expiry_bucket
from schemas import Agent, AgentSpec, AgentStatus, Channel, Role, Session, SessionStatus, Turn
from schemas.rate_limits import RateBucket
from schemas.runtime_sessions import RuntimeSessionAlias
from schemas.sessions import TurnLock

TENANT_A = "ten_aaaa"
TENANT_B = "ten_bbbb"
SOP = "Greet the caller, answer from the knowledge base, escalate refunds."


def make_agent(name: str = "Support", tenant: str = TENANT_A) -> Agent:
    return Agent(tenant_id=tenant, id=new_id("agent"), spec=AgentSpec(name=name, sop=SOP))


def make_session(agent_id: str, tenant: str = TENANT_A, minutes_ago: int = 0) -> Session:
    started = datetime(2026, 11, 25, 12, 0, tzinfo=UTC) - timedelta(minutes=minutes_ago)
    return Session(
        tenant_id=tenant,
        id=new_id("session"),
        agent_id=agent_id,
        channel=Channel.TEXT,
        started_at=started,
        last_activity_at=started,
    )


def test_insert_then_get_returns_the_record_at_version_1(record_store: RecordStore) -> None:
    agent = make_agent()
    stored = record_store.insert(AGENTS, agent)
    assert stored.version == 1
    assert record_store.get(AGENTS, TENANT_A, agent.id) == stored
    assert record_store.get(AGENTS, TENANT_A, "agt_missing") is None


def test_insert_of_an_existing_key_is_a_conflict(record_store: RecordStore) -> None:
    agent = record_store.insert(AGENTS, make_agent("One"))
    clash = agent.model_copy(update={"spec": AgentSpec(name="Two", sop=SOP), "version": 0})
    with pytest.raises(Conflict):
        record_store.insert(AGENTS, clash)
    assert record_store.get(AGENTS, TENANT_A, agent.id) == agent


def test_unique_value_is_enforced_within_a_partition_only(record_store: RecordStore) -> None:
    record_store.insert(AGENTS, make_agent("Support"))
    with pytest.raises(Conflict):
        record_store.insert(AGENTS, make_agent("support"))  # case-folded
    other_tenant = record_store.insert(AGENTS, make_agent("Support", tenant=TENANT_B))
    assert record_store.get_unique(AGENTS, TENANT_B, "support") == other_tenant
    assert record_store.get_unique(AGENTS, TENANT_A, "nobody") is None
    page = record_store.query(AGENTS, TENANT_A)
    assert len(page.items) == 1


def test_replace_bumps_the_version_and_refuses_stale_writes(record_store: RecordStore) -> None:
    stored = record_store.insert(AGENTS, make_agent())
    active = record_store.replace(AGENTS, stored.model_copy(update={"status": AgentStatus.ACTIVE}))
    assert active.version == 2
    assert record_store.get(AGENTS, TENANT_A, stored.id) == active
    with pytest.raises(Conflict):
        record_store.replace(AGENTS, stored.model_copy(update={"status": AgentStatus.FAILED}))
    assert record_store.get(AGENTS, TENANT_A, stored.id) == active


def test_replace_of_a_missing_record_is_a_conflict(record_store: RecordStore) -> None:
    ghost = make_agent().model_copy(update={"version": 1})
    with pytest.raises(Conflict):
        record_store.replace(AGENTS, ghost)
    assert record_store.get(AGENTS, TENANT_A, ghost.id) is None


def test_replace_moves_the_unique_value(record_store: RecordStore) -> None:
    first = record_store.insert(AGENTS, make_agent("Alpha"))
    record_store.insert(AGENTS, make_agent("Beta"))
    renamed = record_store.replace(AGENTS, first.model_copy(update={"spec": AgentSpec(name="Gamma", sop=SOP)}))
    assert record_store.get_unique(AGENTS, TENANT_A, "alpha") is None
    assert record_store.get_unique(AGENTS, TENANT_A, "gamma") == renamed
    # Alpha is free again; Beta is still taken, and a refused rename changes nothing.
    record_store.insert(AGENTS, make_agent("Alpha"))
    with pytest.raises(Conflict):
        record_store.replace(AGENTS, renamed.model_copy(update={"spec": AgentSpec(name="beta", sop=SOP)}))
    assert record_store.get(AGENTS, TENANT_A, renamed.id) == renamed
    assert record_store.get_unique(AGENTS, TENANT_A, "gamma") == renamed


def test_delete_removes_record_index_entries_and_unique_value(record_store: RecordStore) -> None:
    agent = record_store.insert(AGENTS, make_agent("Support"))
    assert record_store.delete(AGENTS, TENANT_A, agent.id) is True
    assert record_store.delete(AGENTS, TENANT_A, agent.id) is False
    assert record_store.get(AGENTS, TENANT_A, agent.id) is None
    assert record_store.query(AGENTS, f"{TENANT_A}#creating", index="by_status").items == []
    record_store.insert(AGENTS, make_agent("Support"))


def make_alias(session_id: str, expires_at: datetime) -> RuntimeSessionAlias:
    """A record of an expiring table (`Table.expires`) with an index: what `delete_unchanged` sweeps."""
    return RuntimeSessionAlias(
        tenant_id=TENANT_A,
        agent_id="agt_a",
        runtime_id="client-chosen-id",
        session_id=session_id,
        created_at=expires_at - timedelta(hours=8),
        expires_at=expires_at,
    )


EXPIRED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
MODES: tuple[Literal["validation"], Literal["serialization"]] = ("validation", "serialization")


def test_delete_unchanged_removes_the_record_read_with_its_index_entries(record_store: RecordStore) -> None:
    read = record_store.insert(RUNTIME_SESSIONS, make_alias("ses_old", EXPIRED))
    assert record_store.delete_unchanged(RUNTIME_SESSIONS, read) is DeleteOutcome.DELETED
    assert record_store.get(RUNTIME_SESSIONS, TENANT_A, "agt_a#client-chosen-id") is None
    assert record_store.query(RUNTIME_SESSIONS, runtime_expiry_bucket(read), index="by_expiry").items == []
    assert record_store.delete_unchanged(RUNTIME_SESSIONS, read) is DeleteOutcome.ABSENT


def test_delete_unchanged_leaves_a_record_written_again_since_the_read(record_store: RecordStore) -> None:
    read = record_store.insert(RUNTIME_SESSIONS, make_alias("ses_old", EXPIRED))
    rebound = record_store.replace(
        RUNTIME_SESSIONS, read.model_copy(update={"session_id": "ses_new", "expires_at": EXPIRED + timedelta(hours=8)})
    )
    assert record_store.delete_unchanged(RUNTIME_SESSIONS, read) is DeleteOutcome.CONDITION_FAILED
    assert record_store.get(RUNTIME_SESSIONS, TENANT_A, "agt_a#client-chosen-id") == rebound


def test_delete_unchanged_leaves_a_record_deleted_and_stored_anew_at_the_same_version(
    record_store: RecordStore,
) -> None:
    """Version 1 again, so only the expiry tells the new row from the one read."""
    read = record_store.insert(RUNTIME_SESSIONS, make_alias("ses_old", EXPIRED))
    assert record_store.delete(RUNTIME_SESSIONS, TENANT_A, "agt_a#client-chosen-id")
    anew = record_store.insert(RUNTIME_SESSIONS, make_alias("ses_new", EXPIRED + timedelta(hours=8)))
    assert anew.version == read.version
    assert record_store.delete_unchanged(RUNTIME_SESSIONS, read) is DeleteOutcome.CONDITION_FAILED
    assert record_store.get(RUNTIME_SESSIONS, TENANT_A, "agt_a#client-chosen-id") == anew


def test_delete_unchanged_frees_the_unique_value_and_refuses_a_moved_version(record_store: RecordStore) -> None:
    read = record_store.insert(AGENTS, make_agent("Support"))
    moved = record_store.replace(AGENTS, read.model_copy(update={"status": AgentStatus.ACTIVE}))
    assert record_store.delete_unchanged(AGENTS, read) is DeleteOutcome.CONDITION_FAILED
    assert record_store.get_unique(AGENTS, TENANT_A, "support") == moved
    assert record_store.delete_unchanged(AGENTS, moved) is DeleteOutcome.DELETED
    assert record_store.get_unique(AGENTS, TENANT_A, "support") is None
    record_store.insert(AGENTS, make_agent("Support"))  # the name is free again


def test_a_sessions_turn_lock_is_stored_yet_left_out_of_every_other_dump(record_store: RecordStore) -> None:
    """The lock names a serving process and a turn token: the store keeps it, no outward JSON shows it."""
    lock = TurnLock(owner="own_replica1", token="trn_token", until=EXPIRED)
    session = record_store.insert(SESSIONS, make_session("agt_a").model_copy(update={"turn_lock": lock}))
    stored = record_store.get(SESSIONS, TENANT_A, session.id)
    assert stored is not None and stored.turn_lock == lock
    assert "turn_lock" not in stored.model_dump(mode="json") and "trn_token" not in stored.model_dump_json()
    assert all("turn_lock" not in Session.model_json_schema(mode=mode)["properties"] for mode in MODES)


def test_query_pages_through_everything_once_in_order(record_store: RecordStore) -> None:
    ids = [record_store.insert(AGENTS, make_agent(f"Agent {i}")).id for i in range(7)]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = record_store.query(AGENTS, TENANT_A, limit=3, cursor=cursor)
        seen.extend(a.id for a in page.items)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
        assert pages < 10
    assert seen == sorted(ids)
    newest_first = record_store.query(AGENTS, TENANT_A, descending=True, limit=2)
    assert [a.id for a in newest_first.items] == sorted(ids, reverse=True)[:2]


def test_index_follows_status_changes(record_store: RecordStore) -> None:
    agent = record_store.insert(AGENTS, make_agent())
    assert [a.id for a in record_store.query(AGENTS, f"{TENANT_A}#creating", index="by_status").items] == [agent.id]
    record_store.replace(AGENTS, agent.model_copy(update={"status": AgentStatus.ACTIVE}))
    assert record_store.query(AGENTS, f"{TENANT_A}#creating", index="by_status").items == []
    active = record_store.query(AGENTS, f"{TENANT_A}#active", index="by_status").items
    assert [a.status for a in active] == [AgentStatus.ACTIVE]


def test_the_sparse_creating_index_holds_creating_agents_of_every_tenant(record_store: RecordStore) -> None:
    agent = record_store.insert(AGENTS, make_agent())
    found = record_store.query(AGENTS, "creating", index="creating").items
    assert [(a.tenant_id, a.id) for a in found] == [(TENANT_A, agent.id)]
    record_store.replace(AGENTS, agent.model_copy(update={"status": AgentStatus.FAILED}))
    assert record_store.query(AGENTS, "creating", index="creating").items == []


def test_sort_range_bounds_are_inclusive(record_store: RecordStore) -> None:
    agent_id = new_id("agent")
    sessions = [record_store.insert(SESSIONS, make_session(agent_id, minutes_ago=m)) for m in (50, 40, 30, 20)]
    lo = sessions[1].started_at.isoformat()
    hi = sessions[2].started_at.isoformat() + "#~"
    page = record_store.query(SESSIONS, f"{TENANT_A}#{agent_id}", index="by_agent", sort_from=lo, sort_to=hi)
    assert [s.id for s in page.items] == [sessions[1].id, sessions[2].id]


def test_sparse_index_holds_only_matching_records(record_store: RecordStore) -> None:
    agent_id = new_id("agent")
    live = record_store.insert(SESSIONS, make_session(agent_id))
    done = record_store.insert(SESSIONS, make_session(agent_id, tenant=TENANT_B))
    record_store.replace(SESSIONS, done.model_copy(update={"status": SessionStatus.COMPLETED}))
    assert [s.id for s in record_store.query(SESSIONS, "active", index="open").items] == [live.id]


def test_queries_never_cross_tenants(record_store: RecordStore) -> None:
    mine = record_store.insert(AGENTS, make_agent("Mine"))
    record_store.insert(AGENTS, make_agent("Theirs", tenant=TENANT_B))
    assert [a.id for a in record_store.query(AGENTS, TENANT_A).items] == [mine.id]
    assert record_store.get(AGENTS, TENANT_B, mine.id) is None


def test_a_cursor_that_was_not_issued_is_invalid_input(record_store: RecordStore) -> None:
    with pytest.raises(InvalidInput):
        record_store.query(AGENTS, TENANT_A, cursor="not-a-cursor")


def test_turns_keep_their_sequence(record_store: RecordStore) -> None:
    session_id = new_id("session")
    for seq in (1, 2, 3):
        role = Role.CUSTOMER if seq % 2 else Role.AGENT
        turn = Turn(tenant_id=TENANT_A, session_id=session_id, seq=seq, role=role, text=f"t{seq}")
        record_store.insert(TURNS, turn)
    with pytest.raises(Conflict):
        record_store.insert(TURNS, Turn(tenant_id=TENANT_A, session_id=session_id, seq=2, role=Role.AGENT, text="x"))
    turns = record_store.query(TURNS, f"{TENANT_A}#{session_id}").items
    assert [t.text for t in turns] == ["t1", "t2", "t3"]


def test_concurrent_replaces_let_exactly_one_writer_win(record_store: RecordStore) -> None:
    base = record_store.insert(AGENTS, make_agent())
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def writer(status: AgentStatus) -> None:
        start.wait(timeout=10)
        try:
            record_store.replace(AGENTS, base.model_copy(update={"status": status}))
            result = "won"
        except Conflict:
            result = "lost"
        with lock:
            outcomes.append(result)

    statuses = [AgentStatus.ACTIVE, AgentStatus.FAILED, AgentStatus.PAUSED, AgentStatus.ACTIVE]
    threads = [threading.Thread(target=writer, args=(s,)) for s in statuses]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["lost", "lost", "lost", "won"]
    final = record_store.get(AGENTS, TENANT_A, base.id)
    assert final is not None and final.version == 2


# -- transact: several records, all or nothing ---------------------------------------------------


def test_transact_stores_every_write_together(record_store: RecordStore) -> None:
    agent = record_store.insert(AGENTS, make_agent())
    session = make_session(agent.id)
    active = agent.model_copy(update={"status": AgentStatus.ACTIVE})

    stored = record_store.transact([Replace(AGENTS, active), Insert(SESSIONS, session)])

    assert [item.version for item in stored] == [2, 1]
    assert record_store.get(AGENTS, TENANT_A, agent.id) == stored[0]
    assert record_store.get(SESSIONS, TENANT_A, session.id) == stored[1]
    assert record_store.query(AGENTS, f"{TENANT_A}#active", index="by_status").items == [stored[0]]


def test_a_failed_write_leaves_the_whole_transaction_unapplied(record_store: RecordStore) -> None:
    agent = record_store.insert(AGENTS, make_agent())
    record_store.replace(AGENTS, agent.model_copy(update={"status": AgentStatus.ACTIVE}))  # agent is now stale
    session = make_session(agent.id)
    taken = record_store.insert(AGENTS, make_agent("Taken"))
    renamed = make_agent("taken")  # its unique value is held by `taken`

    with pytest.raises(Conflict):
        record_store.transact([Insert(SESSIONS, session), Replace(AGENTS, agent)])
    with pytest.raises(Conflict):
        record_store.transact([Insert(SESSIONS, session), Insert(AGENTS, renamed)])

    assert record_store.get(SESSIONS, TENANT_A, session.id) is None
    assert record_store.get(AGENTS, TENANT_A, renamed.id) is None
    assert record_store.get_unique(AGENTS, TENANT_A, "taken") == taken


def test_transact_refuses_empty_oversized_and_repeated_batches(record_store: RecordStore) -> None:
    session = make_session("agt_x")
    with pytest.raises(InvalidInput):
        record_store.transact([])
    with pytest.raises(InvalidInput):
        record_store.transact([Insert(SESSIONS, make_session("agt_x")) for _ in range(TRANSACT_MAX + 1)])
    with pytest.raises(InvalidInput):
        record_store.transact([Insert(SESSIONS, session), Insert(SESSIONS, session)])
    assert record_store.query(SESSIONS, TENANT_A).items == []


def test_an_unchanged_condition_lets_the_writes_through_while_the_record_stands(record_store: RecordStore) -> None:
    agent = record_store.insert(AGENTS, make_agent())
    session = make_session(agent.id)

    stored = record_store.transact([Insert(SESSIONS, session), Unchanged(AGENTS, agent)])

    assert stored[1] == agent  # returned as given; nothing written to it
    assert record_store.get(AGENTS, TENANT_A, agent.id) == agent
    assert record_store.get(SESSIONS, TENANT_A, session.id) == stored[0]


def test_an_unchanged_condition_on_a_moved_or_gone_record_applies_nothing(record_store: RecordStore) -> None:
    agent = record_store.insert(AGENTS, make_agent())
    record_store.replace(AGENTS, agent.model_copy(update={"status": AgentStatus.ACTIVE}))  # `agent` is now stale
    gone = record_store.insert(AGENTS, make_agent("Gone"))
    record_store.delete(AGENTS, TENANT_A, gone.id)
    session = make_session(agent.id)

    with pytest.raises(Conflict):
        record_store.transact([Insert(SESSIONS, session), Unchanged(AGENTS, agent)])
    with pytest.raises(Conflict):
        record_store.transact([Unchanged(AGENTS, gone), Insert(SESSIONS, session)])

    assert record_store.get(SESSIONS, TENANT_A, session.id) is None


def _bucket(tokens: float, version: int = 0) -> RateBucket:
    expires = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    return RateBucket(scope="keys", shard=3, key_hash="abc", tokens=tokens, at=1.0, expires_at=expires, version=version)


def test_compare_and_set_writes_on_the_expected_version_only(record_store: RecordStore) -> None:
    first = record_store.compare_and_set(RATE_BUCKETS, _bucket(5))  # version 0: absent expected
    assert first.version == 1
    with pytest.raises(Conflict):
        record_store.compare_and_set(RATE_BUCKETS, _bucket(4))  # absent expected, but it is there
    second = record_store.compare_and_set(RATE_BUCKETS, first.model_copy(update={"tokens": 4.0}))
    assert second.version == 2
    with pytest.raises(Conflict):
        record_store.compare_and_set(RATE_BUCKETS, first.model_copy(update={"tokens": 3.0}))  # stale version
    assert record_store.get(RATE_BUCKETS, "keys#3", "abc") == second
    record_store.delete(RATE_BUCKETS, "keys#3", "abc")
    with pytest.raises(Conflict):
        record_store.compare_and_set(RATE_BUCKETS, second)  # gone: not the version it expected
    with pytest.raises(InvalidInput):
        record_store.compare_and_set(AGENTS, make_agent())  # a unique name needs a transaction


def test_concurrent_compare_and_set_on_one_version_has_one_winner(record_store: RecordStore) -> None:
    base = record_store.compare_and_set(RATE_BUCKETS, _bucket(10))
    barrier = threading.Barrier(4)
    won: list[int] = []

    def take(i: int) -> None:
        barrier.wait()
        try:
            record_store.compare_and_set(RATE_BUCKETS, base.model_copy(update={"tokens": float(i)}))
        except Conflict:
            return
        won.append(i)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(won) == 1
    stored = record_store.get(RATE_BUCKETS, "keys#3", "abc")
    assert stored is not None and stored.version == 2 and stored.tokens == won[0]
