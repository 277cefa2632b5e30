"""The SQLite query plans of every API request a dashboard page makes for its first paint (bench/dashboard_paint.py).

Why: a list that scans a table costs nothing with 100 sessions and grows with the store; its paint figure at 10k
hides whether it will hold at 100k. Each request the first paint of a view makes is sent once to the running
server, every statement the SQLite store runs for it is recorded (`SqliteDatabase.fetch`, patched for the
duration), and `EXPLAIN QUERY PLAN` is asked of each: a `SCAN` of `records`, `record_index` or `events` (a read
of a whole table, not one partition's key range) is what must not be there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from oratio.store.sqlite import SqliteDatabase

FIRST_PAINT = (
    "/api/v1/auth/session",
    "/api/v1/agents?limit=200",
    "/api/v1/sessions/live?limit=20&turns=20",
    "/api/v1/notifications?limit=50",
    "/api/v1/keys?limit=50",
    "/api/v1/sessions?limit=25",
    "/api/v1/stats?range=today",
)
"""The reads behind each view's first paint (the session page adds `/api/v1/sessions/{id}`: one History row)."""


@dataclass(frozen=True)
class Plan:
    path: str
    sql: str
    steps: list[str]

    @property
    def scans(self) -> list[str]:
        """The plan's steps that read a whole table (SQLite says `SCAN`; `SEARCH` is a key range)."""
        return [step for step in self.steps if step.startswith("SCAN")]


@contextmanager
def recorded() -> Iterator[list[tuple[SqliteDatabase, str, Sequence[Any]]]]:
    """Every statement `SqliteDatabase.fetch` runs meanwhile, from any thread, with its database."""
    seen: list[tuple[SqliteDatabase, str, Sequence[Any]]] = []
    lock = threading.Lock()
    original = SqliteDatabase.fetch

    def fetch(self: SqliteDatabase, sql: str, params: Sequence[Any]) -> list[Any]:
        with lock:
            seen.append((self, sql, list(params)))
        return original(self, sql, params)

    SqliteDatabase.fetch = fetch  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        SqliteDatabase.fetch = original  # type: ignore[method-assign]


def plans(base: str, cookies: dict[str, str]) -> list[Plan]:
    """The plans of the first-paint reads against the server at `base`, signed in with `cookies`."""
    found: list[Plan] = []
    with httpx.Client(base_url=base, cookies=cookies, timeout=60) as http:
        first = http.get("/api/v1/sessions?limit=1").json()["sessions"]
        paths = [*FIRST_PAINT, *(f"/api/v1/sessions/{s['id']}" for s in first)]
        for path in paths:
            with recorded() as seen:
                answer = http.get(path)
            if answer.status_code != 200:  # an older server without the parameter: say so, plan nothing
                found.append(Plan(path, "", [f"answered {answer.status_code}"]))
                continue
            for db, sql, params in seen:
                rows = db.connection().execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
                found.append(Plan(path, sql, [str(row[-1]) for row in rows]))
    return found


def report(found: list[Plan]) -> None:
    print("\nquery plans of the first-paint reads (SQLite EXPLAIN QUERY PLAN; SCAN = a whole table read)")
    for path in dict.fromkeys(p.path for p in found):
        mine = [p for p in found if p.path == path]
        scans = [step for p in mine for step in p.scans]
        steps = sorted({step for p in mine for step in p.steps})
        refused = [step for p in mine for step in p.steps if step.startswith("answered")]
        verdict = f"FULL SCAN: {'; '.join(scans)}" if scans else "not planned" if refused else "index-backed"
        print(f"  {path:<44} {len(mine):3} statements  {verdict}")
        for step in steps:
            print(f"      {step}")
