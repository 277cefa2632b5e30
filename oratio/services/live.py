"""One tailer of the event log for every live door (the dashboard WebSocket, MCP subscriptions).

Every service write appends an event to its tenant's log, whichever process made it, and the log is
shared through SQLite or DynamoDB: following it by cursor is how a door hears of changes made
anywhere. Before this module each door polled on its own, and the dashboard once per open page; now
`EventTail` reads each followed tenant's log once per `poll_interval` and fans the events out to that
tenant's subscribers, whichever door they belong to.

* Per tenant. A tenant is read only while it has a subscriber, and only its own subscribers get its
  events: the log is never read on behalf of another tenant, and an idle process reads nothing.
* Cursors. A subscription starts after a cursor of its choosing (`after`, or the log's head). A
  cursor holds the last seq seen in each shard of the tenant's log (`EventCursor`); seqs only grow
  within a shard, so a page reconnecting with the last cursor it saw gets exactly what it missed.
  Events of different shards (different sessions) may reach a subscriber in either order.
* Bounded queues, slow consumers. The tailer never waits for a subscriber: each has a queue of at
  most `queue_limit` events. A subscriber whose queue would overflow stops being fed ("lagging")
  and, once it has taken what is queued, reads the log itself from its own cursor, one `batch` at a
  time, until it has caught up with the tailer and rejoins the fan-out. Nothing is dropped, memory
  per subscriber stays bounded, and a fast subscriber never waits for a slow one. (A replay from an
  old cursor is the same path: the subscription starts lagging.) Doors add their own policy on top:
  the dashboard closes a page that does not take a frame within its send timeout.
* By subject, optionally. A subscriber that follows one record (a voice call follows its own session)
  passes `subject`: it is queued and woken only for that record's events. A hundred calls of one tenant
  used to be woken a hundred times for every event of every call, each to find it was another's
  (quadratic in the calls); now the tailer skips them with a comparison.
* Nudged by this process's writes. `nudge(tenant_id)` (wired to `Backends.appended` by the platform)
  wakes each event loop's poller that follows the tenant, so an event this process writes reaches its
  subscribers without waiting for the poll interval; events of other processes are found by polling.
* One poller per event loop. `run()` polls until cancelled; the first caller on an event loop polls
  and later callers wait to take over when it leaves (so a per-connection `run`, as the dashboard and
  in-process MCP connections do, still polls once per tenant). State is kept per event loop, since
  anyio's locks and events belong to one loop (each Starlette TestClient connection has its own).
* What an event means for access lives here too: `scope_for` (the scope needed to see it) and
  `is_access_event` (an admin was disabled, enabled or revoked: open streams recheck their token).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import anyio.lowlevel
import anyio.to_thread

from oratio.store.event_cursor import EventCursor as EventCursor  # re-exported: the doors resume by it
from oratio.store.ports import EventLog, cursor_of
from schemas import Event, Scope

logger = logging.getLogger("oratio.services.live")

ACCESS_EVENTS = "admin."
"""Events about admins' access: not shown to anyone, they make open streams recheck their token."""


def is_access_event(event: Event) -> bool:
    return event.type.value.startswith(ACCESS_EVENTS)


def scope_for(event: Event) -> Scope:
    """The scope needed to see an event, as for the records it is about."""
    family = event.type.value.split(".", 1)[0]
    return Scope.SESSIONS_READ if family in ("session", "notification", "error") else Scope.AGENTS_READ


@dataclass(frozen=True)
class TailSettings:
    poll_interval: float = 0.2
    """Seconds between reads of a followed tenant's log: the worst-case delay of an update."""
    batch: int = 100
    """Events per read of the log."""
    max_batches_per_poll: int = 10
    """A tenant with a burst is read at most this many batches per poll, so others are not starved."""
    queue_limit: int = 1000
    """Events queued per subscriber before it is left to catch up from the log by itself."""
    max_backoff: float = 5.0
    """Longest wait between polls after reads keep failing."""


@dataclass(eq=False)
class _Tenant:
    cursor: EventCursor
    """The last seq per shard the tailer has read (and fanned out) for this tenant."""
    subscribers: set[Subscription] = field(default_factory=set)


@dataclass(eq=False)
class _LoopState:
    tenants: dict[str, _Tenant] = field(default_factory=dict)
    poller: anyio.Lock = field(default_factory=anyio.Lock)
    runners: int = 0
    nudged: anyio.Event = field(default_factory=anyio.Event)
    """Set (on the loop) when this process wrote an event of a followed tenant: poll now."""
    loop: asyncio.AbstractEventLoop | None = None
    """The polling loop, to reach it from a writer's thread (asyncio only; otherwise polls only)."""
    nudge_pending: bool = False
    """A wake-up is already scheduled on the loop: a burst of writes schedules one."""


class Subscription:
    """One subscriber's view of a tenant's log: the events after its cursor, in order, each once."""

    def __init__(
        self,
        tail: EventTail,
        loop: anyio.lowlevel.EventLoopToken,
        tenant_id: str,
        tenant: _Tenant,
        after: EventCursor,
        on_ready: Callable[[], None] | None,
        subject: str | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.subject = subject
        self._loop = loop
        self._tail = tail
        self._tenant = tenant
        self._seen = after
        self._queue: deque[Event] = deque()
        self._lagging = not after.covers(tenant.cursor)
        self._wakeup = anyio.Event()
        self._on_ready = on_ready
        self._closed = False

    @property
    def cursor(self) -> EventCursor:
        """The last seq per shard this subscription has taken in (queued or read)."""
        return self._seen

    @property
    def lagging(self) -> bool:
        """True while the tailer has left this subscriber to catch up from the log by itself."""
        return self._lagging

    async def ready(self) -> list[Event]:
        """The events available now, without waiting for a poll: what is queued, else (when
        lagging) one batch read from the log. Empty when there is nothing new."""
        if self._queue:
            events = list(self._queue)
            self._queue.clear()
            return events
        if not self._lagging or self._closed:
            return []
        settings = self._tail.settings
        batch = await anyio.to_thread.run_sync(self._tail.events.read, self.tenant_id, self._seen, settings.batch)
        self._seen = self._seen.advanced(batch)
        if self._seen.covers(self._tenant.cursor):
            # Caught up with the tailer, which hands on everything after its cursor (and this
            # subscription skips what it has read already). No await since the check: nothing slips by.
            self._lagging = False
        return self._mine(batch)

    def _mine(self, events: list[Event]) -> list[Event]:
        """The events this subscription follows: all, or its subject's."""
        if self.subject is None:
            return events
        return [event for event in events if event.subject == self.subject]

    async def next_batch(self) -> list[Event]:
        """Wait for the next events (at least one)."""
        while True:
            before = self._seen
            events = await self.ready()
            if events:
                return events
            if self._lagging:
                if self._seen == before:
                    # Behind the tailer yet the log showed nothing new (a lagging replica): retry later.
                    await anyio.sleep(self._tail.settings.poll_interval)
                continue  # (a batch of other subjects' events: read on at once)
            await self._wakeup.wait()
            self._wakeup = anyio.Event()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._tail._leave(self)

    def _offer(self, events: Sequence[Event]) -> None:
        """Called by the tailer with a tenant's new events, each shard's in seq order."""
        if not self._lagging:
            fresh = [event for event in events if not self._seen.has_seen(event)]
            if not fresh:
                return
            mine = self._mine(fresh)
            if not mine:
                self._seen = self._seen.advanced(fresh)  # none of them is this subscriber's: taken in, not woken
                return
            if len(self._queue) + len(mine) > self._tail.settings.queue_limit:
                self._lagging = True  # keep what is queued; the rest is read from the log later
                logger.info("tenant=%s cursor=%d | slow subscriber left to catch up", self.tenant_id, self._seen)
            else:
                self._queue.extend(mine)
                self._seen = self._seen.advanced(fresh)
        self._wake()

    def _wake(self) -> None:
        self._wakeup.set()
        if self._on_ready is not None:
            self._on_ready()


class EventTail:
    """Follows the logs of tenants that have subscribers and fans their events out (see the module doc)."""

    def __init__(self, events: EventLog, settings: TailSettings | None = None) -> None:
        self.events = events
        self.settings = settings or TailSettings()
        self._loops: dict[anyio.lowlevel.EventLoopToken, _LoopState] = {}

    def _state(self) -> tuple[anyio.lowlevel.EventLoopToken, _LoopState]:
        key = anyio.lowlevel.current_token()
        state = self._loops.get(key)
        if state is None:
            state = self._loops[key] = _LoopState()
        return key, state

    @property
    def tenants(self) -> frozenset[str]:
        """The tenants followed on the current event loop."""
        key = anyio.lowlevel.current_token()
        state = self._loops.get(key)
        return frozenset(state.tenants) if state else frozenset()

    async def open(
        self,
        tenant_id: str,
        after: EventCursor | int | None = None,
        *,
        on_ready: Callable[[], None] | None = None,
        subject: str | None = None,
    ) -> Subscription:
        """Subscribe to a tenant's events after `after` (the log's head when None). Close it when done.

        An int is an old single-number cursor (`EventCursor.legacy`); a cursor of another layout than
        the log's is refused (InvalidInput).

        Nothing polls for it unless `run()` is running on this event loop (see `subscribe`).
        `on_ready` is called (on the event loop) whenever new events may be available. With `subject`,
        only the events about that record (`Event.subject`) are queued, and only they wake it.
        """
        start = None if after is None else cursor_of(after, self.events.shards)
        key, state = self._state()
        tenant = state.tenants.get(tenant_id)
        if tenant is None or start is None:
            head = await anyio.to_thread.run_sync(self.events.head, tenant_id)
            tenant = state.tenants.get(tenant_id)  # another subscriber may have started it meanwhile
            if tenant is None:
                tenant = state.tenants[tenant_id] = _Tenant(cursor=head)
            if start is None:
                start = head
        subscription = Subscription(self, key, tenant_id, tenant, start, on_ready, subject)
        tenant.subscribers.add(subscription)
        return subscription

    @asynccontextmanager
    async def subscribe(
        self,
        tenant_id: str,
        after: EventCursor | int | None = None,
        *,
        on_ready: Callable[[], None] | None = None,
        subject: str | None = None,
    ) -> AsyncIterator[Subscription]:
        """`open` and keep a poller running on this event loop for as long as the subscription is open."""
        subscription = await self.open(tenant_id, after, on_ready=on_ready, subject=subject)
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self.run)
                try:
                    yield subscription
                finally:
                    tasks.cancel_scope.cancel()
        finally:
            subscription.close()

    def _leave(self, subscription: Subscription) -> None:
        key = subscription._loop
        state = self._loops.get(key)
        if state is None:
            return
        tenant = state.tenants.get(subscription.tenant_id)
        if tenant is not None:
            tenant.subscribers.discard(subscription)
            if not tenant.subscribers:
                del state.tenants[subscription.tenant_id]  # a later subscriber starts afresh
        self._forget_if_idle(key, state)

    def _forget_if_idle(self, key: anyio.lowlevel.EventLoopToken, state: _LoopState) -> None:
        if not state.tenants and state.runners == 0 and self._loops.get(key) is state:
            del self._loops[key]

    async def run(self) -> None:
        """Poll until cancelled. Only one `run` per event loop polls; the others wait to take over.

        Between polls it waits `poll_interval`, or less when `nudge` says this process wrote an event
        of a followed tenant (after read failures it backs off and ignores nudges).
        """
        key, state = self._state()
        state.runners += 1
        try:
            async with state.poller:
                state.loop = _running_asyncio_loop()
                try:
                    await self._poll_until_cancelled(state)
                finally:
                    state.loop = None  # only the runner polling clears it (a waiting one may be cancelled)
        finally:
            state.runners -= 1
            self._forget_if_idle(key, state)

    async def _poll_until_cancelled(self, state: _LoopState) -> None:
        failures = 0
        while True:
            # Re-armed before the read, so a write made during the read wakes the next wait.
            state.nudged = anyio.Event()
            state.nudge_pending = False
            try:
                await self.poll()
                failures = 0
            except Exception:  # a backend hiccup must not end live updates for good
                failures += 1
                logger.exception("reading the event log failed (%d in a row); retrying", failures)
            delay = min(self.settings.poll_interval * 2**failures, self.settings.max_backoff)
            if failures:
                await anyio.sleep(delay)
                continue
            with anyio.move_on_after(delay):
                await state.nudged.wait()

    def nudge(self, tenant_id: str) -> None:
        """This process appended events for `tenant_id`: wake every poller following it. Thread-safe and
        cheap (a dictionary lookup per event loop; at most one scheduled wake-up per loop and poll)."""
        for state in list(self._loops.values()):
            loop = state.loop
            if loop is None or state.nudge_pending or tenant_id not in state.tenants:
                continue
            state.nudge_pending = True
            event = state.nudged
            try:
                if _on_loop_thread(loop):
                    event.set()
                else:
                    loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the loop closed meanwhile: nothing to wake
                continue

    async def poll(self) -> None:
        """Read every followed tenant's new events once (on this event loop) and fan them out."""
        _, state = self._state()
        snapshot = dict(state.tenants)
        if not snapshot:
            return
        read = await anyio.to_thread.run_sync(self._read, [(t, tenant.cursor) for t, tenant in snapshot.items()])
        for tenant_id, events in read:
            tenant = snapshot[tenant_id]
            if state.tenants.get(tenant_id) is not tenant:
                continue  # every subscriber left meanwhile
            tenant.cursor = tenant.cursor.advanced(events)
            for subscription in list(tenant.subscribers):
                if events or subscription.lagging:
                    subscription._offer(events)

    def _read(self, cursors: Sequence[tuple[str, EventCursor]]) -> list[tuple[str, list[Event]]]:
        """In a worker thread: each tenant's events after its cursor, up to a bounded amount."""
        read: list[tuple[str, list[Event]]] = []
        limit = self.settings.batch
        for tenant_id, cursor in cursors:
            events: list[Event] = []
            for _ in range(self.settings.max_batches_per_poll):
                batch = self.events.read(tenant_id, after=cursor, limit=limit)
                events.extend(batch)
                if len(batch) < limit:
                    break
                cursor = cursor.advanced(batch)
            read.append((tenant_id, events))
        return read


def _running_asyncio_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # another anyio backend: polling alone
        return None


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    thread_id = getattr(loop, "_thread_id", None)
    return thread_id == threading.get_ident()
