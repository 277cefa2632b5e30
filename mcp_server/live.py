"""Live updates: `subscriptions/listen` notifications driven by the event log.

Every service write appends an event to its tenant's log (`oratio.store.ports.EventLog`), whichever
process made it: this server, `oratio serve`, a voice bridge, another `oratio mcp`. The platform's
one tailer (`oratio.services.live.EventTail`, shared with the dashboard's WebSocket) follows the log
by cursor; this module's `EventTailer` subscribes to it per followed tenant and publishes
`ResourceUpdated(uri)` for the resources (`mcp_server.resources`) each event touches, so a listener
hears about a change made anywhere, not only through this server:

    agent.*         -> oratio://agents/{id}, oratio://agents
    session.*       -> oratio://sessions/{id}, oratio://sessions/{id}/events, oratio://sessions/live
    notification.*  -> oratio://notifications

Documents, keys and errors have no resource, so their events publish nothing. Events are level
triggers ("this changed, read it again"): one poll publishes each URI once however many events hit
it, and there is no replay: a tenant's cursor starts at the log's `head()` when its first listener
arrives, and a client that listens again reads afresh. (A stream that joins a tenant already
followed may hear of a change made just before it opened: harmless for a level trigger.)

Tenancy. The resource URIs are the same for every organisation (`oratio://notifications` is each
caller's own view), and ids are time-ordered, so unguessable URIs cannot be the protection. Instead
every listener and every event carries a tenant, and the bus only ever hands an event to listeners
of the same tenant:

* `LiveListens` (server middleware) resolves the caller's principal for each `subscriptions/listen`
  request, the same way tools do, and refuses a caller without one. It makes the tailer follow that
  tenant (reading `head()` *before* the SDK acknowledges the stream, so nothing written after the
  ack is missed) for as long as the stream is open.
* `TenantBus` (the server's `SubscriptionBus`) records the listener's principal when the SDK's
  listen handler subscribes, inside that same request. The tailer publishes with the tenant the
  event belongs to and the scope needed to read the resource; a listener gets it only if both match.
  A bare `ResourceUpdated` published by a tool (`ctx.notify_resource_updated`) is stamped with the
  tenant of the request publishing it, and dropped outside a request. List-changed events carry no
  data and go to every listener.
* The tailer reads only the logs of tenants that currently have a listener (or an open dashboard):
  an idle server reads nothing, and a tenant's log is never read on behalf of another tenant.

So one server may serve many tenants (HTTP, where each request carries its own admin token) or one
(stdio, the operator's tenant); the rule is the same. A stream keeps the principal it was opened
with: like any response stream, it is not re-authenticated while open (it carries URIs only; reading
them checks the token again).

Lifetime. `LiveUpdates.lifespan` runs the tailer while the MCP server's lifespan is entered (once
per process for HTTP and stdio; once per connection for in-process clients, where a lock keeps a
single publisher running however many connections are open, and `EventTail.run` polls once per
event loop whoever else runs it). Leaving the lifespan cancels it; a read in flight finishes first
(a worker thread cannot be interrupted). The log is polled every `poll_interval` seconds of the
shared tailer; a failing read is logged and retried with a bounded backoff.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ResourceUpdated, ServerEvent
from mcp_types import INVALID_REQUEST

from mcp_server._principal import PrincipalSource
from mcp_server.resources import (
    AGENTS_URI,
    LIVE_SESSIONS_URI,
    NOTIFICATIONS_URI,
    agent_uri,
    session_events_uri,
    session_uri,
)
from oratio.services.live import EventTail, Subscription, TailSettings, scope_for
from schemas import Event, Principal, Scope

logger = logging.getLogger("mcp_server.live")

LISTEN_METHOD = "subscriptions/listen"
POLL_SECONDS = TailSettings.poll_interval
"""How often the shared tailer reads the log: the worst-case delay of a notification."""


@dataclass(frozen=True)
class Change:
    """A resource an event touched, and the scope a listener needs to hear of it."""

    uri: str
    scope: Scope


def changes_for(event: Event) -> tuple[Change, ...]:
    """The resources an event changes (see the module docstring for the mapping), each needing the
    scope to see the event itself (`scope_for`, shared with the dashboard)."""
    family = event.type.value.split(".", 1)[0]
    scope = scope_for(event)
    if family == "agent":
        return (Change(agent_uri(event.subject), scope), Change(AGENTS_URI, scope))
    if family == "session":
        return (
            Change(session_uri(event.subject), scope),
            Change(session_events_uri(event.subject), scope),
            Change(LIVE_SESSIONS_URI, scope),
        )
    if family == "notification":
        return (Change(NOTIFICATIONS_URI, scope),)
    return ()


@dataclass(frozen=True)
class _Listener:
    principal: Principal
    deliver: Callable[[ServerEvent], None]


class TenantBus:
    """A `SubscriptionBus` whose listeners each belong to one principal's tenant.

    Like the SDK's `InMemorySubscriptionBus` (synchronous fan-out on the event loop, a raising
    listener is logged and skipped), but a resource event reaches only its own tenant's listeners.
    """

    def __init__(self, principals: PrincipalSource) -> None:
        self._principals = principals
        self._listeners: dict[object, _Listener] = {}

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        """Called by the SDK's listen handler inside the listen request, so the principal is the caller's."""
        principal = self._principals.current()
        if principal is None:
            # `LiveListens` refuses such a request before the handler runs; never deliver to it.
            logger.warning("listen stream without a principal: it will receive nothing")
            return lambda: None
        token = object()
        self._listeners[token] = _Listener(principal, listener)

        def unsubscribe() -> None:
            self._listeners.pop(token, None)

        return unsubscribe

    async def publish(self, event: ServerEvent) -> None:
        """`SubscriptionBus.publish`: a resource event goes to the publishing request's tenant only."""
        if isinstance(event, ResourceUpdated):
            principal = self._principals.current()
            if principal is None:
                logger.warning("dropped %r: published outside a request, so its tenant is unknown", event)
                return
            self._fan_out(event, lambda listener: listener.principal.tenant_id == principal.tenant_id)
        else:
            self._fan_out(event, lambda listener: True)
        await anyio.lowlevel.checkpoint()

    async def publish_change(self, tenant_id: str, change: Change) -> None:
        """Tell the tenant's listeners that may read it that a resource changed."""

        def allowed(listener: _Listener) -> bool:
            return listener.principal.tenant_id == tenant_id and listener.principal.allows(change.scope)

        self._fan_out(ResourceUpdated(uri=change.uri), allowed)
        await anyio.lowlevel.checkpoint()

    def _fan_out(self, event: ServerEvent, wanted: Callable[[_Listener], bool]) -> None:
        for listener in list(self._listeners.values()):
            if not wanted(listener):
                continue
            try:
                listener.deliver(event)
            except Exception:  # fan-out boundary: one bad listener must not starve the others
                logger.exception("subscription listener raised; continuing")


@dataclass
class _Follow:
    """One followed tenant: its subscription to the shared tailer, and how many streams want it."""

    events: Subscription
    streams: int = 0


class EventTailer:
    """Publishes what changed in the tenants that have listeners, from the shared `EventTail`."""

    def __init__(self, tail: EventTail, bus: TenantBus) -> None:
        self.tail = tail
        self.bus = bus
        self._follows: dict[str, _Follow] = {}
        self._starting = anyio.Lock()
        self._leader = anyio.Lock()
        self._arrived = anyio.Event()

    @property
    def tenants(self) -> frozenset[str]:
        """The tenants being followed now."""
        return frozenset(self._follows)

    async def follow(self, tenant_id: str) -> None:
        """Start (or keep) following a tenant. A new follow starts at the log's head: no replay."""
        async with self._starting:
            followed = self._follows.get(tenant_id)
            if followed is None:
                subscription = await self.tail.open(tenant_id, on_ready=self._notify)
                followed = self._follows[tenant_id] = _Follow(subscription)
            followed.streams += 1

    def _notify(self) -> None:
        self._arrived.set()

    def unfollow(self, tenant_id: str) -> None:
        followed = self._follows.get(tenant_id)
        if followed is None:
            return
        followed.streams -= 1
        if followed.streams <= 0:
            del self._follows[tenant_id]
            followed.events.close()

    async def run(self) -> None:
        """Publish until cancelled, keeping the shared tailer polling. Only one `run` publishes at a
        time; others wait to take over."""
        async with self._leader, anyio.create_task_group() as tasks:
            tasks.start_soon(self.tail.run)
            failures = 0
            while True:
                await self._arrived.wait()
                self._arrived = anyio.Event()
                try:
                    await self.publish_ready()
                    failures = 0
                except Exception:  # a lagging stream's own read failed: keep live updates going, retry
                    failures += 1
                    logger.exception("catching up on the event log failed (%d in a row); retrying", failures)
                    settings = self.tail.settings
                    await anyio.sleep(min(settings.poll_interval * 2**failures, settings.max_backoff))
                    self._arrived.set()

    async def poll(self) -> None:
        """Have the tailer read every followed tenant's log once, and publish what changed."""
        await self.tail.poll()
        await self.publish_ready()

    async def publish_ready(self) -> None:
        """Publish the resources changed by the events each followed tenant has ready."""
        for tenant_id, followed in list(self._follows.items()):
            while self._follows.get(tenant_id) is followed:
                events = await followed.events.ready()
                if not events:
                    break
                for change in _distinct(c for event in events for c in changes_for(event)):
                    await self.bus.publish_change(tenant_id, change)


def _distinct(changes: Iterable[Change]) -> list[Change]:
    return list(dict.fromkeys(changes))


class LiveListens:
    """Server middleware: a listen stream needs a principal, and keeps its tenant followed while open."""

    def __init__(self, principals: PrincipalSource, tailer: EventTailer) -> None:
        self._principals = principals
        self._tailer = tailer

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != LISTEN_METHOD or ctx.request_id is None:
            return await call_next(ctx)
        principal = self._principals.current()
        if principal is None:
            raise MCPError(INVALID_REQUEST, "not authenticated: connect with an admin token to listen")
        await self._tailer.follow(principal.tenant_id)
        try:
            return await call_next(ctx)
        finally:
            self._tailer.unfollow(principal.tenant_id)


class LiveUpdates:
    """The pieces `build_server` wires: the bus, the listen middleware and the tailer's lifespan."""

    def __init__(self, tail: EventTail, principals: PrincipalSource) -> None:
        self.bus = TenantBus(principals)
        self.tailer = EventTailer(tail, self.bus)
        self.middleware = LiveListens(principals, self.tailer)

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """Run the tailer for as long as this context is entered."""
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self.tailer.run)
            try:
                yield
            finally:
                tasks.cancel_scope.cancel()
