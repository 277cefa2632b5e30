"""The documents waiting to be ingested, served by a few worker threads, fairly between tenants.

Why a queue of its own: an upload returns as soon as its document is stored, and the slow part
(extraction, chunking, embedding) runs here, off the request path. Two bounds keep that fair:
at most `workers` documents are ingested at once in the process, and at most `per_tenant` of them
belong to one tenant. Tenants take turns: the next document is the waiting tenant's that was served
longest ago (one never served, or idle since, first; ties in arrival order), so a tenant that queued a
thousand documents gets one slot while another tenant's single document takes the next free one,
instead of waiting behind the thousand, also when the thousand arrive while the first is running.

The queue holds ids only; the document record is the durable state. A process that stops with
documents queued leaves them `ingesting` in the store, and the next start queues them again
(`Ingestion.resume`). A document queued twice is ingested once; one queued again while it is being
ingested (replaced meanwhile) is ingested again afterwards, from its newest content.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, OrderedDict, deque
from collections.abc import Callable

logger = logging.getLogger("oratio.ingestion")

Job = Callable[[str, str], None]
"""Ingest one document: (tenant_id, document_id). Must not raise (the ingestion service records failures)."""


class IngestQueue:
    """Fair, bounded background ingestion. Threads start with the first document and are daemons."""

    def __init__(self, job: Job, *, workers: int, per_tenant: int) -> None:
        if workers < 1 or per_tenant < 1:
            raise ValueError("workers and per_tenant must be at least 1")
        self._job = job
        self._workers = workers
        self._per_tenant = min(per_tenant, workers)
        self._lock = threading.Condition()
        self._waiting: OrderedDict[str, deque[str]] = OrderedDict()  # tenant -> document ids, tenants in turn order
        self._running: Counter[str] = Counter()  # tenant -> documents being ingested
        self._running_ids: set[str] = set()
        self._turn = 0
        self._served: dict[str, int] = {}  # tenant -> the turn it last started a document; kept while it has work
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(self, tenant_id: str, document_id: str) -> None:
        """Queue a document (a no-op if it is already waiting). After `close`, it stays for the next start."""
        with self._lock:
            if self._closed:
                return
            waiting = self._waiting.setdefault(tenant_id, deque())
            if document_id not in waiting:
                waiting.append(document_id)
            if len(self._threads) < self._workers:
                thread = threading.Thread(target=self._work, name=f"oratio-ingest-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()
            self._lock.notify_all()

    def pending(self) -> int:
        """Documents waiting or being ingested."""
        with self._lock:
            return sum(len(q) for q in self._waiting.values()) + len(self._running_ids)

    def wait_idle(self, timeout: float | None) -> bool:
        """Block until nothing waits or runs (True), or `timeout` seconds pass (False; None: no limit)."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._running_ids and not any(self._waiting.values()), timeout)

    def close(self) -> None:
        """Take no more documents and drop the waiting ones (they stay `ingesting` in the store for the next
        start); documents being ingested finish or are interrupted by the caller (`KnowledgeBase.interrupt`)."""
        with self._lock:
            self._closed = True
            self._waiting.clear()
            self._lock.notify_all()

    def _next(self) -> tuple[str, str] | None:
        """The next (tenant, document) in turn, or None to stop. Called with the lock held.

        The turn order is when each tenant was last served, not where it sits in `_waiting`: a tenant whose
        queue emptied as its document started, then refilled, would otherwise be back in line before a
        tenant that arrived a moment later and has had no turn at all."""
        while True:
            if self._closed:
                return None
            best: tuple[int, str, str] | None = None
            for tenant_id, waiting in self._waiting.items():  # arrival order breaks ties
                if self._running[tenant_id] >= self._per_tenant:
                    continue
                # The same document twice at once would race: one queued again while it runs waits.
                document_id = next((d for d in waiting if d not in self._running_ids), None)
                served = self._served.get(tenant_id, -1)
                if document_id is not None and (best is None or served < best[0]):
                    best = (served, tenant_id, document_id)
            if best is not None:
                _, tenant_id, document_id = best
                waiting = self._waiting[tenant_id]
                waiting.remove(document_id)
                if not waiting:
                    del self._waiting[tenant_id]
                self._turn += 1
                self._served[tenant_id] = self._turn
                self._running[tenant_id] += 1
                self._running_ids.add(document_id)
                return tenant_id, document_id
            self._lock.wait()

    def _work(self) -> None:
        while True:
            with self._lock:
                picked = self._next()
            if picked is None:
                return
            tenant_id, document_id = picked
            try:
                self._job(tenant_id, document_id)
            except Exception:  # a worker's outermost handler: one failure must not stop the others' documents
                logger.exception("tenant=%s document=%s | ingestion job failed", tenant_id, document_id)
            finally:
                with self._lock:
                    self._running[tenant_id] -= 1
                    if not self._running[tenant_id]:
                        del self._running[tenant_id]
                        if tenant_id not in self._waiting:
                            self._served.pop(tenant_id, None)  # idle: its next document is a first turn again
                    self._running_ids.discard(document_id)
                    self._lock.notify_all()


__all__ = ["IngestQueue", "Job"]
