"""The outbox dispatcher: sends stored deliveries fairly, at least once, across processes.

How one round goes, and why:
- Find the tenants with due rows by a skip-scan of the cross-tenant `due` index (sorted by tenant,
  then due time), reading at most `batch_per_tenant` due rows of each. A tenant with ten thousand
  rows waiting is still one turn of the round, so nobody's alerts wait behind another tenant's.
- Take rows round-robin across those tenants (the first tenant rotates each round), skipping a row
  whose tenant or destination (webhook origin; a tenant's email) already has its cap of deliveries
  in flight. A webhook that never answers therefore holds at most `per_destination` workers, each
  for one timeout per attempt, and every other tenant's deliveries keep flowing.
- Claim a row with a conditional write (the version it was read at): the claim counts the attempt
  and pushes `next_at` out by the lease, so the row leaves the due set. Two dispatchers (two
  processes) cannot both claim one version; a claimer that dies leaves a row that is due again
  when its lease runs out. Hence at least once, never concurrently.
- Send on a worker, then record the outcome: `delivered`; back to due after exponential backoff
  with jitter; or `dead` after `max_attempts` (or a final refusal), with an `error` event on the
  session so the admin console shows it. The admin can retry a dead row (`OutboxService.retry`).

Caps are per process: N processes may each run `per_destination` deliveries to one origin.
"""

from __future__ import annotations

import logging
import os
import random as _random
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from oratio.errors import BackendUnavailable, Conflict, OratioError
from oratio.notify.address_policy import WebhookRefused
from oratio.notify.email import EmailSender
from oratio.notify.webhooks import WebhookFailed, WebhookSender, retryable
from oratio.services._common import Backends
from oratio.services.outbox import OutboxLimits
from oratio.store.tables import OUTBOX
from schemas import DeliveryKind, DeliveryStatus, EventType, OutboxDelivery
from schemas.outbox import sortable

SCRUBBED = "[removed once sent: it held a single-use sign-in link]"
logger = logging.getLogger("oratio.services.dispatcher")

IDLE_POLL_S = 1.0
"""How often an idle dispatcher looks for rows other processes wrote (its own writes wake it)."""
_DRAIN_NUDGE_S = 0.05


class OutboxDispatcher:
    """Runs rounds on one thread and sends on a pool of `limits.workers` threads.

    Starts on `start` (serve) or the first `wake` (a process that writes deliveries), so a process
    that never hands off runs no threads.
    """

    def __init__(
        self,
        backends: Backends,
        *,
        email: EmailSender | None,
        webhooks: WebhookSender | None,
        limits: OutboxLimits | None = None,
        owner: str | None = None,
        rand: Callable[[], float] = _random.random,
    ) -> None:
        self._b = backends
        self._email = email
        self._webhooks = webhooks
        self.limits = limits or OutboxLimits()
        self.owner = owner or f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._rand = rand
        self._state = threading.Condition()
        self._wake = threading.Event()
        self._in_flight = 0
        self._by_tenant: Counter[str] = Counter()
        self._by_destination: Counter[str] = Counter()
        self._rounds = 0
        self._finished = 0
        self._quiet = False
        self._turn = 0
        self._resume: str | None = None
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._stopping = False
        # Every store access of this dispatcher happens under the guard, and none after `close` gives
        # up on sends still in flight: the caller closes the store next, and a SQLite connection
        # closed under a writing thread crashes the process.
        self._store_guard = threading.Lock()
        self._abandoned = False

    def __repr__(self) -> str:
        return f"OutboxDispatcher(owner={self.owner!r}, limits={self.limits!r})"

    # -- lifetime ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the round thread and the send pool (idempotent; a no-op once closed)."""
        with self._state:
            if self._thread is not None or self._stopping:
                return
            self._pool = ThreadPoolExecutor(self.limits.workers, thread_name_prefix="oratio-outbox-send")
            self._thread = threading.Thread(target=self._run, name="oratio-outbox", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """New rows were written: look now rather than at the next idle poll."""
        self.start()
        self._wake.set()

    def drain(self, timeout: float) -> bool:
        """Wait until nothing is due now and nothing is in flight (tests; a tidy shutdown). False on timeout."""
        self.start()
        deadline = time.monotonic() + timeout
        with self._state:
            seen = self._rounds
            # Two whole rounds after the call: the one running now may have looked before the caller wrote.
            while not (self._rounds >= seen + 2 and self._quiet):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stopping:
                    return False
                self._wake.set()
                self._state.wait(min(remaining, _DRAIN_NUDGE_S))
        return True

    def close(self, timeout: float = 10.0) -> bool:
        """Send what is due now for up to `timeout`, then stop; False if sends were still running.

        Nothing is lost either way: an unsent row stays in the store and goes out after the next start
        (a claimed one once its lease runs out). Rows waiting for a later retry do not hold shutdown up.
        """
        deadline = time.monotonic() + timeout
        if self._thread is not None and not self._stopping:
            self.drain(timeout)
        with self._state:
            self._stopping = True
            thread, pool = self._thread, self._pool
            self._state.notify_all()
        self._wake.set()
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
        if pool is not None:
            pool.shutdown(wait=False)
        with self._state:
            done = self._state.wait_for(lambda: self._in_flight == 0, max(0.0, deadline - time.monotonic()))
        with self._store_guard:
            self._abandoned = True
        if not done:
            logger.warning("outbox deliveries still in flight at shutdown; they will be retried after their lease")
        return done

    # -- rounds -----------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                busy = self._round()
            except OratioError as exc:  # the store is down: try again at the next poll
                logger.warning("outbox round failed: %s", exc.message)
                busy = False
            except Exception:
                # The one broad handler: the outermost frame of a background thread must not die.
                logger.exception("outbox round failed unexpectedly")
                busy = False
            if not busy:
                self._wake.wait(IDLE_POLL_S)

    def _round(self) -> bool:
        with self._state:
            finished_before = self._finished
        now = self._b.clock()
        with self._store_guard:
            if self._abandoned:
                return False
            groups = self._due(now)
        if groups:
            start = self._turn % len(groups)
            groups = groups[start:] + groups[:start]
            self._turn += 1
        claimed = 0
        for i in range(self.limits.batch_per_tenant):
            for rows in groups:
                if i >= len(rows) or self._stopping:
                    continue
                row = rows[i]
                if not self._has_room(row):
                    continue
                with self._store_guard:
                    mine = None if self._abandoned else self._claim(row, now)
                if mine is None:
                    continue
                with self._state:
                    self._in_flight += 1
                    self._by_tenant[mine.tenant_id] += 1
                    self._by_destination[mine.destination] += 1
                assert self._pool is not None
                try:
                    self._pool.submit(self._send, mine)
                except RuntimeError:  # the pool was shut down meanwhile: the claim's lease will run out
                    self._release(mine)
                    return False
                claimed += 1
        with self._state:
            self._rounds += 1
            # A send that ended during this round may have made its row due after `now` was read.
            self._quiet = (
                not groups and self._in_flight == 0 and self._finished == finished_before and self._resume is None
            )
            self._state.notify_all()
        return claimed > 0

    def _due(self, now: datetime) -> list[list[OutboxDelivery]]:
        """Up to `batch_per_tenant` due rows of each tenant that has any, tenant by tenant.

        At most `tenants_per_round` tenants are looked at per round; the next round goes on after the
        last one (wrapping around), so with more tenants than that every one still gets its turn.
        """
        until = sortable(now)
        groups: list[list[OutboxDelivery]] = []
        seen: set[str] = set()
        after, wrapped = self._resume, self._resume is None
        self._resume = None
        for _ in range(self.limits.tenants_per_round):
            first = self._b.store.query(OUTBOX, "due", index="due", sort_from=after, limit=1).items
            if not first:
                if wrapped:
                    break
                after, wrapped = None, True  # from the top, up to where this round began
                continue
            tenant = first[0].tenant_id
            if tenant in seen:
                break
            seen.add(tenant)
            rows = self._b.store.query(
                OUTBOX,
                "due",
                index="due",
                sort_from=f"{tenant}#",
                sort_to=f"{tenant}#{until}$",  # '$' sorts after '#': rows due at exactly `now` are in
                limit=self.limits.batch_per_tenant,
            ).items
            if rows:
                groups.append(rows)
            after = f"{tenant}$"  # past every key of this tenant (ids use [0-9a-z_] only)
        else:
            self._resume = after  # the round's budget ran out: the next one goes on from here
        return groups

    def _has_room(self, row: OutboxDelivery) -> bool:
        with self._state:
            return (
                self._in_flight < self.limits.workers
                and self._by_tenant[row.tenant_id] < self.limits.per_tenant
                and self._by_destination[row.destination] < self.limits.per_destination
            )

    def _claim(self, row: OutboxDelivery, now: datetime) -> OutboxDelivery | None:
        lease = timedelta(seconds=self.limits.lease_s)
        claimed = row.model_copy(
            update={"claimed_by": self.owner, "attempts": row.attempts + 1, "next_at": now + lease}
        )
        try:
            return self._b.store.replace(OUTBOX, claimed)
        except Conflict:
            return None  # another dispatcher claimed it, or it changed since the index was read

    # -- sending ----------------------------------------------------------------------------------

    def _send(self, row: OutboxDelivery) -> None:
        try:
            try:
                error, final = self._attempt(row)
            except Exception:
                # The outermost frame of a send worker: one bad delivery must not take the worker.
                logger.exception("delivery %s failed unexpectedly", row.id)
                error, final = "unexpected error; see the platform logs", False
            self._finish(row, error, final)
        finally:
            self._release(row)

    def _release(self, row: OutboxDelivery) -> None:
        """Give back the slots a claimed row held, and wake the round thread to fill them."""
        with self._state:
            self._in_flight -= 1
            self._finished += 1
            self._by_tenant[row.tenant_id] -= 1
            self._by_destination[row.destination] -= 1
            self._state.notify_all()
        self._wake.set()

    def _attempt(self, row: OutboxDelivery) -> tuple[str | None, bool]:
        """Send once: (None, _) if delivered, else (why, whether asking again is pointless)."""
        if row.kind is DeliveryKind.WEBHOOK:
            assert row.webhook is not None
            if self._webhooks is None:
                return "webhooks are not configured on this platform", True
            hook = row.webhook
            try:
                self._webhooks.deliver(row.tenant_id, hook.url, hook.event, hook.data, delivery_id=row.key, attempts=1)
            except WebhookRefused as exc:
                return exc.message, True
            except WebhookFailed as exc:
                return exc.message, exc.status is not None and not retryable(exc.status)
            return None, False
        assert row.email is not None
        if self._email is None:
            return "email is not configured on this platform (ORATIO_EMAIL)", True
        mail = row.email
        try:
            self._email.send(list(mail.to), mail.subject, mail.body, message_id=row.key)
        except BackendUnavailable as exc:
            return exc.message, False
        return None, False

    def _finish(self, row: OutboxDelivery, error: str | None, final: bool) -> None:
        with self._store_guard:
            if self._abandoned:  # shut down meanwhile: the row's lease runs out and it is sent again
                logger.info("delivery %s finished after shutdown; its outcome is not recorded", row.id)
                return
            self._record(row, error, final)

    def _record(self, row: OutboxDelivery, error: str | None, final: bool) -> None:
        now = self._b.clock()
        dead = error is not None and (final or row.attempts >= row.max_attempts)
        if error is None:
            update: dict[str, object] = {"status": DeliveryStatus.DELIVERED, "finished_at": now, "last_error": None}
        elif dead:
            update = {"status": DeliveryStatus.DEAD, "finished_at": now, "last_error": error[:500]}
        else:
            update = {"next_at": now + timedelta(seconds=self._backoff(row.attempts)), "last_error": error[:500]}
        if row.email is not None and row.email.sensitive and (error is None or dead):
            update["email"] = row.email.model_copy(update={"body": SCRUBBED})
        try:
            self._b.store.replace(OUTBOX, row.model_copy(update={**update, "claimed_by": None}))
        except Conflict:
            # Our lease ran out and someone else has the row now (or an admin acted): theirs counts.
            logger.info("delivery %s changed while it was being sent; leaving it to its new owner", row.id)
            return
        except OratioError as exc:  # the store is down: the lease runs out and the row is sent again
            logger.error("could not record the outcome of delivery %s: %s", row.id, exc.message)
            return
        if error is None:
            logger.info("delivery %s to %s done (attempt %d)", row.id, row.destination, row.attempts)
        elif dead:
            self._report_dead(row, error)
        else:
            logger.info("delivery %s to %s: %s; will retry", row.id, row.destination, error)

    def _backoff(self, attempt: int) -> float:
        """Exponential with equal jitter: half fixed, half random, so many retries spread out."""
        ceiling = min(self.limits.backoff_max_s, self.limits.backoff_base_s * 2.0 ** (attempt - 1))
        return ceiling / 2 + self._rand() * ceiling / 2

    def _report_dead(self, row: OutboxDelivery, error: str) -> None:
        logger.warning("handoff %s for session %s is dead (%s): %s", row.kind.value, row.session_id, row.id, error)
        try:
            self._b.emit(
                row.tenant_id,
                EventType.ERROR,
                row.session_id or row.id,
                source=f"handoff.{row.kind.value}",
                message=error,
                agent_id=row.agent_id,
                notification_id=row.notification_id,
                delivery_id=row.id,
                attempts=row.attempts,
            )
        except OratioError as exc:  # the event log is down: the log line above is all we can do
            logger.error("could not record the dead delivery %s: %s", row.id, exc.message)


__all__ = ["IDLE_POLL_S", "OutboxDispatcher"]
