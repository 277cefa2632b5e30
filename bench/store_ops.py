"""Record store overhead: SqliteRecordStore against raw sqlite3 doing the same writes, one process.

Prints operations per second for each and the ratio (store / raw). The raw baseline uses the same
file settings (WAL, synchronous=FULL) and one transaction per record, so the ratio is what the
store's generic layer (JSON, index and uniqueness rows, versions) costs on top of SQLite itself.

    .venv/bin/python -m bench.store_ops [--records 2000]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from oratio.ids import new_id
from oratio.store.sqlite import SqliteDatabase, SqliteEventLog, SqliteRecordStore
from oratio.store.tables import AGENTS
from schemas import Agent, AgentSpec, EventType, NewEvent

SOP = "Greet the caller, answer from the knowledge base, escalate refunds over $100. " * 20


def timed(label: str, count: int, work: Callable[[], None]) -> float:
    start = time.perf_counter()
    work()
    elapsed = time.perf_counter() - start
    rate = count / elapsed
    print(f"{label:<34} {rate:>10,.0f} ops/s")
    return rate


def raw_baseline(path: Path, agents: list[Agent]) -> tuple[float, float]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (pk TEXT, sk TEXT, body TEXT, PRIMARY KEY (pk, sk))")
    bodies = [(a.tenant_id, a.id, a.model_dump_json()) for a in agents]

    def insert() -> None:
        for row in bodies:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t VALUES (?, ?, ?)", row)
            conn.execute("COMMIT")

    def get() -> None:
        for tenant, ident, _ in bodies:
            Agent.model_validate_json(
                conn.execute("SELECT body FROM t WHERE pk=? AND sk=?", (tenant, ident)).fetchone()[0]
            )

    writes = timed("raw sqlite3 insert (txn each)", len(bodies), insert)
    reads = timed("raw sqlite3 get + parse", len(bodies), get)
    conn.close()
    return writes, reads


def store_run(path: Path, agents: list[Agent]) -> tuple[float, float, float]:
    db = SqliteDatabase(path)
    store = SqliteRecordStore(db)
    log = SqliteEventLog(db)

    def insert() -> None:
        for agent in agents:
            store.insert(AGENTS, agent)

    def get() -> None:
        for agent in agents:
            store.get(AGENTS, agent.tenant_id, agent.id)

    def append() -> None:
        for agent in agents:
            log.append(NewEvent(tenant_id=agent.tenant_id, type=EventType.AGENT_CREATED, subject=agent.id))

    writes = timed("SqliteRecordStore.insert", len(agents), insert)
    reads = timed("SqliteRecordStore.get", len(agents), get)
    events = timed("SqliteEventLog.append", len(agents), append)
    db.close()
    return writes, reads, events


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=2000)
    args = parser.parse_args()
    agents = [
        Agent(tenant_id="ten_bench", id=new_id("agent"), spec=AgentSpec(name=f"Agent {i}", sop=SOP))
        for i in range(args.records)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        raw_w, raw_r = raw_baseline(Path(tmp) / "raw.db", agents)
        store_w, store_r, _ = store_run(Path(tmp) / "store.db", agents)
    print(f"{'ratio insert (store/raw)':<34} {store_w / raw_w:>10.2f}")
    print(f"{'ratio get (store/raw)':<34} {store_r / raw_r:>10.2f}")


if __name__ == "__main__":
    main()
