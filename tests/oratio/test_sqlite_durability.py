"""The SQLite store keeps every write it acknowledged when its process is killed, and reopens cleanly.

The writer runs in a real child process that is SIGKILLed mid-loop (most likely mid-transaction),
so nothing on the writer's side gets a chance to flush or close: only what was committed before
`insert` returned may be relied on.
"""

from __future__ import annotations

import queue
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import pytest

from oratio.errors import ConfigError
from oratio.ids import new_id
from oratio.store.sqlite import SCHEMA_VERSION, SqliteDatabase, SqliteRecordStore
from oratio.store.tables import AGENTS
from schemas import Agent, AgentSpec

ROOT = Path(__file__).resolve().parents[2]
TENANT = "ten_aaaa"
SOP = "Greet the caller and answer from the knowledge base."
ACKED = 40
LINE_TIMEOUT_S = 30.0

# Inserts forever, printing each id only after `insert` has returned (i.e. was acknowledged).
_WRITER = f"""
import sys
from pathlib import Path
from oratio.ids import new_id
from oratio.store.sqlite import SqliteDatabase, SqliteRecordStore
from oratio.store.tables import AGENTS
from schemas import Agent, AgentSpec

store = SqliteRecordStore(SqliteDatabase(Path(sys.argv[1])))
n = 0
while True:
    agent = Agent(tenant_id={TENANT!r}, id=new_id("agent"), spec=AgentSpec(name=f"Agent {{n}}", sop={SOP!r}))
    store.insert(AGENTS, agent)
    print(agent.id, flush=True)
    n += 1
"""


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.strip())
    lines.put(None)  # end of output: the writer died


def test_acknowledged_inserts_survive_sigkill(tmp_path: Path) -> None:
    db_path = tmp_path / "oratio.db"
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None and writer.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()
    pump = threading.Thread(target=_pump, args=(writer.stdout, lines), daemon=True)
    pump.start()
    acked: list[str] = []
    try:
        while len(acked) < ACKED:
            line = lines.get(timeout=LINE_TIMEOUT_S)
            if line is None:
                writer.wait(timeout=LINE_TIMEOUT_S)
                pytest.fail(f"the writer exited early:\n{writer.stderr.read()}")
            acked.append(line)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=LINE_TIMEOUT_S)
        pump.join(timeout=LINE_TIMEOUT_S)  # the pipe reaches EOF once the writer is dead
        writer.stdout.close()
        writer.stderr.close()
    assert writer.returncode == -signal.SIGKILL

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
