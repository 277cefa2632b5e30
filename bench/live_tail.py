"""Event-log reads per second with N dashboard pages and M MCP listeners open on one tenant.

Two measurements in one run, on the embedded platform (SQLite in a temporary directory), each with
the same pages and listeners open for `--seconds` while a writer appends `--rate` events/s:

* before - the doors as they were at `--before` (a git ref): each dashboard page polled the log on
  its own (every 0.25 s) and the MCP server ran its own tailer (every 0.2 s). The two modules are
  loaded from that commit with `git show`, so the baseline is the real code, not a model of it.
* after  - this tree: one `EventTail` (the platform's) polls each followed tenant once per 0.2 s
  and fans the events out to every page and listener.

Reads are counted by wrapping the log the doors read (an idle poll is a read too). The pages are
driven through each door's real `DashboardFeed.endpoint` with an in-memory WebSocket (the bench
counts frames, it does not test the protocol), the listeners through `LiveUpdates`. Every page must
receive every event in both runs, else the figures are not comparable and the bench says so.

    .venv/bin/python -m bench.live_tail
    .venv/bin/python -m bench.live_tail --pages 50 --listeners 10 --seconds 5
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import anyio.to_thread
from pydantic import SecretStr

import dashboard.live as after_dashboard
from mcp_server._principal import OperatorPrincipal
from mcp_server.live import LiveUpdates
from oratio.config import Settings
from oratio.platform import Platform, open_platform
from oratio.services.live import EventTail
from oratio.store.ports import EventCursor
from schemas import Event, EventType, NewEvent, Principal, Scope

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BEFORE = "fa6ea25"
"""main before the shared tailer (issue 15 merged)."""


class CountingLog:
    """The platform's event log, counting reads (thread-safe: reads run in worker threads)."""

    def __init__(self, platform: Platform) -> None:
        self._log = platform.backends.events
        self.shards = self._log.shards
        self._lock = threading.Lock()
        self.reads = 0

    def append(self, event: NewEvent) -> Event:
        return self._log.append(event)

    def read(self, tenant_id: str, after: EventCursor | int = 0, limit: int = 100) -> list[Event]:
        with self._lock:
            self.reads += 1
        return self._log.read(tenant_id, after, limit)

    def head(self, tenant_id: str) -> EventCursor:
        return self._log.head(tenant_id)

    def close(self) -> None:
        pass


class Page:
    """An in-memory WebSocket for `DashboardFeed.endpoint`: sends the auth message, then counts events."""

    def __init__(self, token: str) -> None:
        self._hello = json.dumps({"type": "auth", "token": token, "after": None})
        self._asked = False
        self.events = 0
        self.closed: tuple[int, str] | None = None

    async def accept(self) -> None:
        pass

    async def receive(self) -> dict[str, Any]:
        if not self._asked:
            self._asked = True
            return {"type": "websocket.receive", "text": self._hello}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send_json(self, message: dict[str, Any]) -> None:
        if message.get("type") == "event":
            self.events += 1

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed = (code, reason or "")


def load_before(ref: str) -> tuple[ModuleType, ModuleType]:
    """The dashboard and MCP live modules as they were at `ref`."""
    modules = []
    for name, path in (
        ("_before_dashboard_live", "oratio/dashboard/live.py"),
        ("_before_mcp_live", "mcp_server/live.py"),
    ):
        source = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{ref}:{path}"], check=True, capture_output=True, text=True
        ).stdout
        spec = importlib.util.spec_from_loader(name, loader=None)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        exec(compile(source, f"{ref}:{path}", "exec"), module.__dict__)
        modules.append(module)
    return modules[0], modules[1]


Opener = Callable[["CountingLog", EventTail], Awaitable[Any]]
"""Opens the MCP listeners over a counted log (or the shared tailer) and returns their lifespan."""


@dataclass
class Figures:
    reads_per_second: float
    events_written: int
    page_events: list[int]


async def measure(
    platform: Platform,
    principal: Principal,
    token: str,
    *,
    pages: int,
    listeners: int,
    seconds: float,
    rate: float,
    dashboard_live: ModuleType,
    open_listeners: Opener,
) -> Figures:
    log = CountingLog(platform)
    tail = EventTail(log)
    counted = replace(platform, backends=replace(platform.backends, events=log), live=tail)
    feed = dashboard_live.DashboardFeed(counted)
    opened = [Page(token) for _ in range(pages)]
    written = 0

    async def write(scope: anyio.CancelScope) -> None:
        nonlocal written
        while not scope.cancel_called:
            await anyio.to_thread.run_sync(
                lambda: platform.backends.events.append(
                    NewEvent(tenant_id=principal.tenant_id, type=EventType.AGENT_UPDATED, subject="agt_bench")
                )
            )
            written += 1
            await anyio.sleep(1 / rate)

    async with anyio.create_task_group() as tasks:
        for page in opened:
            tasks.start_soon(feed.endpoint, page)
        lifespan = await open_listeners(log, tail)
        async with lifespan:
            await anyio.sleep(0.5)  # let every page authenticate and every listener follow
            start_reads = log.reads
            with anyio.CancelScope() as writing:
                tasks.start_soon(write, writing)
                started = anyio.current_time()
                await anyio.sleep(seconds)
                reads = log.reads - start_reads
                elapsed = anyio.current_time() - started
                writing.cancel()
            with anyio.move_on_after(5.0):  # the last events reach the pages
                while any(page.events < written for page in opened):  # noqa: ASYNC110 (a bench, counts only)
                    await anyio.sleep(0.05)
            tasks.cancel_scope.cancel()
    return Figures(reads / elapsed, written, [page.events for page in opened])


def listeners_before(mcp_live: ModuleType, principal: Principal, count: int) -> Opener:
    """The baseline MCP door: its own tailer over the log."""

    async def open_listeners(log: CountingLog, tail: EventTail) -> Any:
        live = mcp_live.LiveUpdates(log, OperatorPrincipal(principal))
        for _ in range(count):
            await live.tailer.follow(principal.tenant_id)
        return live.lifespan()

    return open_listeners


def listeners_after(principal: Principal, count: int) -> Opener:
    """This tree's MCP door, on the same tailer as the pages (as `oratio serve` wires them)."""

    async def open_listeners(log: CountingLog, tail: EventTail) -> Any:
        live = LiveUpdates(tail, OperatorPrincipal(principal))
        for _ in range(count):
            await live.tailer.follow(principal.tenant_id)
        return live.lifespan()

    return open_listeners


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=10, help="dashboard pages open on the tenant")
    parser.add_argument("--listeners", type=int, default=5, help="MCP listen streams open on the tenant")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rate", type=float, default=20.0, help="events written per second")
    parser.add_argument("--before", default=DEFAULT_BEFORE, help="git ref of the baseline doors")
    args = parser.parse_args()

    before_dashboard, before_mcp = load_before(args.before)

    with (
        tempfile.TemporaryDirectory() as tmp,
        open_platform(Settings(data_dir=Path(tmp), jwt_secret=SecretStr("b" * 40))) as platform,
    ):
        tenant = platform.tenants.create_tenant("Bench")
        admin = platform.tenants.create_admin(tenant.tenant_id, "owner@example.com", "Owner")
        principal = Principal(tenant_id=tenant.tenant_id, subject=admin.id, scopes=frozenset({Scope.ADMIN}))
        token = platform.access.token_for(admin)
        common: dict[str, Any] = {
            "pages": args.pages,
            "listeners": args.listeners,
            "seconds": args.seconds,
            "rate": args.rate,
        }

        before = anyio.run(
            lambda: measure(
                platform,
                principal,
                token,
                dashboard_live=before_dashboard,
                open_listeners=listeners_before(before_mcp, principal, args.listeners),
                **common,
            )
        )

        after = anyio.run(
            lambda: measure(
                platform,
                principal,
                token,
                dashboard_live=after_dashboard,
                open_listeners=listeners_after(principal, args.listeners),
                **common,
            )
        )

    print(f"one tenant, {args.pages} dashboard pages + {args.listeners} MCP listeners, {args.rate:g} events/s")
    for name, figures in (("before", before), ("after", after)):
        complete = all(count == figures.events_written for count in figures.page_events)
        print(
            f"  {name:6}  {figures.reads_per_second:7.1f} log reads/s   events written {figures.events_written:4d}"
            f"   every page got every event: {'yes' if complete else 'NO ' + str(sorted(set(figures.page_events)))}"
        )
    print(f"  ratio   {before.reads_per_second / after.reads_per_second:7.1f}x fewer reads")


if __name__ == "__main__":
    main()
