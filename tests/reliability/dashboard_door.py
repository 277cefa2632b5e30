"""The dashboard's doors in the isolation property test: its JSON API and its live WebSocket.

`DashboardHttpDoor` runs every `/api/v1` endpoint of the dashboard with the actor's admin JWT, aimed
at the actor's records or the other tenant's: another tenant's id is a JSON 404 (`not_found`)
exactly like an unknown one, and a list filtered by another tenant's agent is 404 or empty. An
endpoint aimed at one of the actor's own records is first called, word for word, with the other
tenant's token (as `McpDoor._mirror_call` does), which must get the 404.

`DashboardFeed` is one `/ws/dashboard` connection per tenant, open for the whole run: a reader task
keeps everything it receives, and the test's `events_stay_home` invariant checks it like the event
log (own tenant only, seq strictly increasing, nothing of the other tenant's), then at the end that
it delivered exactly the tenant's log.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.reliability.doors import CALL_TIMEOUT_S, Operation, Step
from tests.reliability.ledger import assert_nothing_of
from tests.reliability.world import Side


@dataclass(frozen=True)
class Endpoint:
    """One API call aimed at a record of `kind` (None: the tenant's own collection); `{}` is the id."""

    method: str
    path: str
    kind: str | None = None
    body: Callable[[str, Step], dict[str, Any]] | None = None
    recorded: Callable[[Step, str, dict[str, Any]], None] | None = None
    filter_only: bool = False
    """The id is a query filter, not the record asked for: a foreign one may also read as an empty list."""
    revokes: bool = False
    """Never aims at the tenant's protected key (see `Ledger.protected`)."""


def _minted(step: Step, target: str, out: dict[str, Any]) -> None:
    step.mine.add_key(out["key"]["id"], out["secret"], out["key"]["agent_id"])


def _revoked(step: Step, target: str, out: dict[str, Any]) -> None:
    step.mine.revoked.add(target)


def _sessions(step: Step, target: str, out: dict[str, Any]) -> None:
    for session in out["sessions"]:
        step.mine.add("session", session["id"])


def _notifications(step: Step, target: str, out: dict[str, Any]) -> None:
    for note in out["notifications"]:
        step.mine.add("notification", note["id"])


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/api/v1/agents"),
    Endpoint("GET", "/api/v1/sessions", recorded=_sessions),
    Endpoint("GET", "/api/v1/sessions?agent_id={}", "agent", filter_only=True),
    Endpoint("GET", "/api/v1/sessions?q=refund"),
    Endpoint("GET", "/api/v1/sessions/live", recorded=_sessions),
    Endpoint("GET", "/api/v1/sessions/{}", "session"),
    Endpoint("POST", "/api/v1/sessions/{}/messages", "session", body=lambda i, s: {"text": "A person here."}),
    Endpoint("GET", "/api/v1/notifications", recorded=_notifications),
    Endpoint("POST", "/api/v1/notifications/{}/read", "notification"),
    Endpoint("POST", "/api/v1/notifications/{}/acknowledge", "notification"),
    Endpoint("GET", "/api/v1/keys"),
    Endpoint("GET", "/api/v1/keys?agent_id={}", "agent", filter_only=True),
    Endpoint("POST", "/api/v1/keys", "agent", body=lambda i, s: {"agent_id": i, "name": "dash"}, recorded=_minted),
    Endpoint("POST", "/api/v1/keys/{}/revoke", "key", recorded=_revoked, revokes=True),
    Endpoint("GET", "/api/v1/stats"),
    Endpoint("GET", "/api/v1/sessions/export?format=json"),
    # The agent page's reads (dashboard.agent_page, dashboard.agent_access).
    Endpoint("GET", "/api/v1/agents/{}", "agent"),
    Endpoint("GET", "/api/v1/agents/{}/versions", "agent"),
    Endpoint("GET", "/api/v1/agents/{}/versions/1/diff/1", "agent"),
    Endpoint("GET", "/api/v1/agents/{}/simulations", "agent"),
    Endpoint("GET", "/api/v1/agents/{}/keys", "agent"),
    Endpoint("GET", "/api/v1/agents/{}/tools", "agent"),
)


class DashboardHttpDoor:
    name = "dashboard-http"

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    def operations(self) -> Sequence[Operation]:
        return [Operation(self.name, f"{e.method} {e.path}", self._runner(e)) for e in ENDPOINTS]

    async def _send(self, endpoint: Endpoint, side: Side, target: str, step: Step) -> httpx.Response:
        body = endpoint.body(target, step) if endpoint.body else None
        headers = {"Authorization": f"Bearer {side.token}"}
        with anyio.fail_after(CALL_TIMEOUT_S):
            return await self._http.request(endpoint.method, endpoint.path.format(target), json=body, headers=headers)

    def _runner(self, endpoint: Endpoint) -> Callable[[Step], Awaitable[str]]:
        async def run(step: Step) -> str:
            target, owned = step.target(endpoint.kind, deletable=endpoint.revokes) if endpoint.kind else ("", True)
            where = f"{self.name} {endpoint.method} {endpoint.path.format(target)} as {step.actor.name}"
            if owned and endpoint.kind:
                mirrored = await self._send(endpoint, step.other, target, step)
                _assert_unknown(mirrored, endpoint, step.mine, target, f"{where}, the same call by {step.other.name}")
            response = await self._send(endpoint, step.actor, target, step)
            assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
            out = response.json()
            if not owned:
                _assert_unknown(response, endpoint, step.theirs, target, where)
                return "unknown"
            assert_nothing_of(step.theirs, out, where)
            if response.status_code >= 400:
                # My own record may refuse (acknowledged twice, revoked twice...), never as unknown.
                assert response.status_code != 404, f"{where}: the actor's own record read as unknown: {out}"
                assert isinstance(out.get("error"), str), out
                return "refused"
            if endpoint.recorded is not None:
                endpoint.recorded(step, target, out)
            return "served"

        return run


def _assert_unknown(response: httpx.Response, endpoint: Endpoint, owner: Any, target: str, where: str) -> None:
    """Someone else's id: JSON 404 `not_found` (or, for a filter, an empty list) naming nothing of the owner's."""
    assert response.headers.get("content-type", "").startswith("application/json"), f"{where}: {response.text}"
    out = response.json()
    assert_nothing_of(owner, out, where, asked=target)
    if endpoint.filter_only and response.status_code == 200:
        assert all(not items for name, items in out.items() if name != "next_cursor"), f"{where}: {out}"
        return
    assert response.status_code == 404 and out["error"] == "not_found", f"{where}: {response.status_code} {out}"


# -- WS /ws/dashboard -----------------------------------------------------------------------------------


@dataclass
class DashboardFeed:
    """Everything one tenant's dashboard WebSocket received, in order, and a wait for a seq to arrive."""

    tenant_id: str
    received: list[dict[str, Any]] = field(default_factory=list)
    checked: int = 0
    """How many of `received` the invariant has checked."""
    closed: str = ""
    _arrived: anyio.Event = field(default_factory=anyio.Event)

    async def read(self, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                self.received.append(json.loads(message))
                self._arrived.set()
                self._arrived = anyio.Event()
        except ConnectionClosed as closed:
            self.closed = f"{closed.rcvd}"
        self.closed = self.closed or "closed"
        self._arrived.set()

    def last_seq(self) -> int:
        seqs = [m["seq"] for m in self.received if m.get("type") == "event"]
        return seqs[-1] if seqs else 0

    async def wait_for(self, seq: int, within_s: float = 15.0) -> None:
        """Until an event with `seq` (or later) arrived; fails after `within_s` or if the feed closed."""
        with anyio.fail_after(within_s):
            while self.last_seq() < seq:
                assert not self.closed, f"the dashboard feed of {self.tenant_id} closed: {self.closed}"
                await self._arrived.wait()


@asynccontextmanager
async def dashboard_feed(ws_base: str, side: Side) -> AsyncIterator[DashboardFeed]:
    """One tenant's `/ws/dashboard`, authenticated from the start of its log, read in the background."""
    feed = DashboardFeed(side.tenant_id)
    async with connect(f"{ws_base}/ws/dashboard", open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "auth", "token": side.token, "after": 0}))
        with anyio.fail_after(CALL_TIMEOUT_S):
            ready = json.loads(await ws.recv())
        assert ready["type"] == "ready" and ready["resumed"] is True, ready
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(feed.read, ws)
            yield feed
            tasks.cancel_scope.cancel()
