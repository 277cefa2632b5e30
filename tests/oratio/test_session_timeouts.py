"""Idle sessions end as completed ("idle timeout"); live ones, handoffs and late turns are left alone."""

from __future__ import annotations

import queue
import threading
from datetime import timedelta
from typing import Any

import pytest

from oratio.config import load_settings
from oratio.errors import ConfigError
from oratio.platform import Platform
from oratio.services import Backends, session_timeouts
from oratio.services.session_timeouts import IdleSweeper, SessionTimeouts
from oratio.store.ports import Page, RecordStore
from oratio.store.tables import SESSIONS
from schemas import Channel, Role, Session, SessionStatus
from tests.support.platforms import FakeClock
from tests.support.tenants import Tenancy, active_agent, events, new_tenancy

IDLE = 900
WAIT_S = 30.0


def timeouts(platform: Platform, backends: Backends | None = None) -> SessionTimeouts:
    return SessionTimeouts(backends or platform.backends, idle_seconds=IDLE)


def status_of(platform: Platform, tenancy: Tenancy, session: Session) -> Session:
    return platform.sessions.get(tenancy.principal, session.id).session


def test_the_default_limit_is_fifteen_minutes_and_is_validated() -> None:
    assert load_settings({}).session_idle_seconds == 900
    assert load_settings({"ORATIO_SESSION_IDLE_SECONDS": "120"}).session_idle_seconds == 120
    with pytest.raises(ConfigError, match="ORATIO_SESSION_IDLE_SECONDS"):
        load_settings({"ORATIO_SESSION_IDLE_SECONDS": "0"})


def test_a_session_idle_past_the_limit_is_completed(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    session = platform.sessions.start(acme.tenant_id, active_agent(platform, acme).id, Channel.TEXT)

    assert timeouts(platform).expire_idle(clock.advance(timedelta(seconds=IDLE))) == 0  # not yet longer than
    ended_at = clock.advance(timedelta(seconds=1))
    assert timeouts(platform).expire_idle(ended_at) == 1

    stored = status_of(platform, acme, session)
    assert (stored.status, stored.end_reason, stored.ended_at) == (SessionStatus.COMPLETED, "idle timeout", ended_at)
    assert stored.last_activity_at == session.last_activity_at
    last = events(platform, acme.tenant_id)[-1]
    assert (last.type.value, last.subject, last.data) == (
        "session.status",
        session.id,
        {"status": "completed", "reason": "idle timeout"},
    )
    assert timeouts(platform).expire_idle(clock.advance(timedelta(hours=1))) == 0  # ended stays ended


def test_activity_keeps_a_session_alive(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    session = platform.sessions.start(acme.tenant_id, active_agent(platform, acme).id, Channel.TEXT)
    clock.advance(timedelta(seconds=600))
    platform.sessions.append_turn(acme.tenant_id, session.id, Role.CUSTOMER, "still there?")

    assert timeouts(platform).expire_idle(clock.advance(timedelta(seconds=IDLE))) == 0
    assert timeouts(platform).expire_idle(clock.advance(timedelta(seconds=1))) == 1


def test_only_idle_active_sessions_end_across_tenants(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    globex = new_tenancy(platform, "Globex")
    acme_agent, globex_agent = active_agent(platform, acme), active_agent(platform, globex)
    idle_acme = platform.sessions.start(acme.tenant_id, acme_agent.id, Channel.TEXT)
    idle_globex = platform.sessions.start(globex.tenant_id, globex_agent.id, Channel.VOICE)
    waiting = platform.sessions.start(acme.tenant_id, acme_agent.id, Channel.TEXT)
    platform.sessions.set_status(acme.tenant_id, waiting.id, SessionStatus.HANDOFF_REQUESTED)
    clock.advance(timedelta(seconds=IDLE + 1))
    fresh = platform.sessions.start(acme.tenant_id, acme_agent.id, Channel.TEXT)

    assert timeouts(platform).expire_idle() == 2  # defaults to the platform clock

    assert status_of(platform, acme, idle_acme).status is SessionStatus.COMPLETED
    assert status_of(platform, globex, idle_globex).status is SessionStatus.COMPLETED
    assert status_of(platform, acme, waiting).status is SessionStatus.HANDOFF_REQUESTED  # a human is on it
    assert status_of(platform, acme, fresh).status is SessionStatus.ACTIVE


def test_every_page_of_live_sessions_is_swept(
    platform: Platform, acme: Tenancy, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ending a session drops it from the index being paged through; no session may be skipped."""
    monkeypatch.setattr(session_timeouts, "PAGE_SIZE", 2)
    agent = active_agent(platform, acme)
    sessions = [platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT) for _ in range(5)]
    clock.advance(timedelta(seconds=IDLE + 1))

    assert timeouts(platform).expire_idle() == 5
    assert {status_of(platform, acme, s).status for s in sessions} == {SessionStatus.COMPLETED}


class StaleIndex:
    """A record store whose index reads return what they returned the first time (a lagging GSI)."""

    def __init__(self, inner: RecordStore) -> None:
        self._inner = inner
        self._first: dict[tuple[str, str | None], Page[Any]] = {}

    def query(self, table: Any, partition: str, **kwargs: Any) -> Page[Any]:
        key = (partition, kwargs.get("index"))
        if kwargs.get("index") is None:
            return self._inner.query(table, partition, **kwargs)
        return self._first.setdefault(key, self._inner.query(table, partition, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_a_turn_after_the_index_was_read_keeps_the_session(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    session = platform.sessions.start(acme.tenant_id, active_agent(platform, acme).id, Channel.TEXT)
    stale = StaleIndex(platform.backends.store)
    b = platform.backends
    lagging = SessionTimeouts(Backends(store=stale, events=b.events, blobs=b.blobs, clock=b.clock), IDLE)
    clock.advance(timedelta(seconds=IDLE + 1))
    stale.query(SESSIONS, "active", index="open")  # the index is read now...
    platform.sessions.append_turn(acme.tenant_id, session.id, Role.CUSTOMER, "hello?")  # ...then a turn lands

    assert lagging.expire_idle() == 0
    assert status_of(platform, acme, session).status is SessionStatus.ACTIVE


def test_the_sweeper_runs_at_once_then_every_interval_until_stopped() -> None:
    calls: queue.Queue[int] = queue.Queue()
    count = iter(range(1, 1000))

    def sweep() -> None:
        n = next(count)
        calls.put(n)
        if n == 1:
            raise RuntimeError("database briefly down")  # logged; the loop goes on

    sweeper = IdleSweeper(sweep, interval_s=0.01)
    sweeper.start()
    assert [calls.get(timeout=WAIT_S) for _ in range(3)] == [1, 2, 3]
    assert sweeper.stop(WAIT_S)
    with pytest.raises(RuntimeError, match="already started"):
        sweeper.start()


def test_stop_interrupts_the_wait_between_sweeps(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    session = platform.sessions.start(acme.tenant_id, active_agent(platform, acme).id, Channel.TEXT)
    clock.advance(timedelta(seconds=IDLE + 1))
    swept = threading.Event()
    service = timeouts(platform)
    sweeper = IdleSweeper(lambda: swept.set() if service.expire_idle() else None, interval_s=3600)

    sweeper.start()
    assert swept.wait(WAIT_S)
    assert sweeper.stop(WAIT_S)  # returns at once although the next sweep is an hour away
    assert status_of(platform, acme, session).status is SessionStatus.COMPLETED
    assert isinstance(service.sweeper(60), IdleSweeper)
    assert isinstance(platform.session_timeouts, SessionTimeouts)
