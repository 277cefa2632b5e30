"""Idle sessions end on their own: a customer who walks away must not leave a live session forever.

Live views, concurrency counts and reports all read `active` sessions, and a chat customer rarely
says goodbye. `expire_idle` ends every active session whose last activity is older than
`ORATIO_SESSION_IDLE_SECONDS` as `completed` with the reason "idle timeout"; `IdleSweeper` calls it
periodically inside `oratio serve`.

It reads the `open` sparse index (active sessions across tenants), which may lag behind the table
on DynamoDB, so each session is re-checked as it is ended: the change is a compare-and-set on the
session's version that only applies if the session is still active and still idle. A turn that
lands in between wins, and the session stays live. Sessions waiting for a human
(`handoff_requested`) are not in the index and are never timed out here: a person is on it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from oratio.errors import NotFound
from oratio.services._common import Backends, update_with_retry
from oratio.store.tables import SESSIONS
from schemas import EventType, Session, SessionStatus

logger = logging.getLogger("oratio.services.session_timeouts")

IDLE_REASON = "idle timeout"
DEFAULT_IDLE_SECONDS = 900
PAGE_SIZE = 200


class _NotIdle(Exception):
    """Raised inside the compare-and-set when the stored session is no longer an idle active one."""


class SessionTimeouts:
    def __init__(self, backends: Backends, idle_seconds: int = DEFAULT_IDLE_SECONDS) -> None:
        if idle_seconds <= 0:
            raise ValueError("idle_seconds must be positive")
        self._b = backends
        self._idle = timedelta(seconds=idle_seconds)

    def expire_idle(self, now: datetime | None = None) -> int:
        """End every active session idle for longer than the limit at `now`; returns how many ended."""
        now = self._b.clock() if now is None else now
        cutoff = now - self._idle
        ended = 0
        cursor: str | None = None
        while True:  # page by page: there may be many live sessions, and only a few are idle
            page = self._b.store.query(SESSIONS, "active", index="open", limit=PAGE_SIZE, cursor=cursor)
            for session in page.items:
                if session.last_activity_at < cutoff and self._end_if_idle(session, cutoff, now):
                    ended += 1
            cursor = page.next_cursor
            if cursor is None:
                break
        if ended:
            logger.info("ended %d idle session(s)", ended)
        return ended

    def _end_if_idle(self, seen: Session, cutoff: datetime, now: datetime) -> bool:
        def apply(s: Session) -> Session:
            if s.status is not SessionStatus.ACTIVE or s.last_activity_at >= cutoff:
                raise _NotIdle
            # last_activity_at stays: the session ended because nothing happened after it.
            return s.model_copy(update={"status": SessionStatus.COMPLETED, "ended_at": now, "end_reason": IDLE_REASON})

        try:
            update_with_retry(self._b.store, SESSIONS, seen.tenant_id, seen.id, "session", apply)
        except (_NotIdle, NotFound):
            return False
        self._b.emit(
            seen.tenant_id,
            EventType.SESSION_STATUS,
            seen.id,
            status=SessionStatus.COMPLETED.value,
            reason=IDLE_REASON,
        )
        return True

    def sweeper(self, interval_s: float) -> IdleSweeper:
        return IdleSweeper(self.expire_idle, interval_s)


class IdleSweeper:
    """Runs `sweep` now and then every `interval_s` on a daemon thread until `stop`.

    Waiting is on an Event, so `stop` interrupts it at once instead of sleeping out the interval.
    """

    def __init__(self, sweep: Callable[[], object], interval_s: float) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self._sweep = sweep
        self._interval = interval_s
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the sweeper is already started")
        self._thread = threading.Thread(target=self._run, name="oratio-idle-sweeper", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Ask the loop to end and wait for a sweep in progress; False if it did not end in time."""
        self._stopping.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._sweep()
            except Exception:
                # The one broad handler: the outermost frame of a background loop. A failed sweep
                # (the database briefly down, say) is logged, and the next interval tries again.
                logger.exception("idle session sweep failed")
            self._stopping.wait(self._interval)
