"""The SQLite store keeps every write it acknowledged when its process is killed, and reopens cleanly.

The writer runs in a real child process that is SIGKILLed mid-loop (most likely mid-transaction),
so nothing on the writer's side gets a chance to flush or close: only what was committed before
`insert` returned may be relied on.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from oratio.errors import ConfigError
from oratio.ids import new_id
from oratio.store.sqlite import SCHEMA_VERSION, SqliteDatabase, SqliteRecordStore
from oratio.store.tables import AGENTS
from schemas import Agent, AgentSpec
from tests.crash import acknowledged_then_killed

TENANT = "ten_aaaa"
SOP = "Greet the caller and answer from the knowledge base."
ACKED = 40

# Inserts forever, printing each id only after `insert` has returned (i.e. was acknowledged).
_WRITER = f"""
import sys
from pathlib import Path
from oratio.ids import new_id
from oratio.store.sqlite import SqliteDatabase, SqliteRecordStore
from oratio.store.tables import AGENTS
from schemas import Agent, AgentSpec

store = SqliteRecordStore(SqliteDatabase(Path(sys.argv[1]), synchronous=sys.argv[2]))
n = 0
while True:
    agent = Agent(tenant_id={TENANT!r}, id=new_id("agent"), spec=AgentSpec(name=f"Agent {{n}}", sop={SOP!r}))
    store.insert(AGENTS, agent)
    print(agent.id, flush=True)
    n += 1
"""


@pytest.mark.parametrize("synchronous", ["full", "normal"])
def test_acknowledged_inserts_survive_sigkill(tmp_path: Path, synchronous: str) -> None:
    """Both modes keep acknowledged writes across kill -9 (NORMAL trades only power-loss durability)."""
    db_path = tmp_path / "oratio.db"
    acked = acknowledged_then_killed(_WRITER, ACKED, args=[str(db_path), synchronous])

    store = SqliteRecordStore(SqliteDatabase(db_path))
    try:
        missing = [agent_id for agent_id in acked if store.get(AGENTS, TENANT, agent_id) is None]
        assert missing == [], f"{len(missing)} of {len(acked)} acknowledged inserts were lost"
        # The reopened file is writable: a crash left no lock or half transaction behind.
        store.insert(AGENTS, Agent(tenant_id=TENANT, id=new_id("agent"), spec=AgentSpec(name="After", sop=SOP)))
    finally:
        store.close()


def test_opening_the_same_file_again_keeps_schema_and_data(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "oratio.db"  # parent directories are created
    first = SqliteRecordStore(SqliteDatabase(path))
    agent = first.insert(AGENTS, Agent(tenant_id=TENANT, id=new_id("agent"), spec=AgentSpec(name="One", sop=SOP)))
    second = SqliteRecordStore(SqliteDatabase(path))  # while the first is still open
    assert second.get(AGENTS, TENANT, agent.id) == agent
    first.close()
    second.close()

    third = SqliteRecordStore(SqliteDatabase(path))
    try:
        assert third.get(AGENTS, TENANT, agent.id) == agent
    finally:
        third.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_a_file_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "oratio.db"
    SqliteDatabase(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ConfigError):
        SqliteDatabase(path)


def test_synchronous_mode_is_applied_and_checked(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "oratio.db", synchronous="normal")
    try:
        assert db.connection().execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    finally:
        db.close()
    full = SqliteDatabase(tmp_path / "oratio.db")
    try:
        assert full.connection().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL, the class default
    finally:
        full.close()
    with pytest.raises(ValueError, match="synchronous"):
        SqliteDatabase(tmp_path / "oratio.db", synchronous="off")
