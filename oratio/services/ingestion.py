"""Making stored documents searchable off the request path, with progress and the outcome on the record.

A document moves ingesting -> ready | error (`pending` is left only by records written before
ingestion ran in the background). An upload stores the document as `ingesting` and returns at once;
a worker of `IngestQueue` (bounded, fair between tenants) extracts, chunks and embeds it, writing
`chunks_done`/`chunks_total` to the record as batches of chunks are embedded. One bad document
(encrypted PDF, binary file named .txt, ...) ends in `error` with a reason the admin can act on and
never stops the others.

What search sees meanwhile: only what is indexed. A document's chunks are written to the index in
one transaction once all of them are embedded, so search finds a new document when it turns `ready`
(not part of it before), and the previous version of a replaced document until the new one is in.

Durable: the record is the state, the queue holds ids only. A restart queues every document still
`ingesting` again (`resume`, run by the server's lifespan). Each run started counts in
`ingest_attempts`; a document whose ingestion keeps stopping the server ends in `error` after
`attempts_max` runs, so nothing stays `ingesting` forever. With `background=False` (scripts, most
tests) an upload ingests in the caller's thread and returns the outcome, as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import anyio.to_thread

from oratio.errors import InvalidInput, NotFound, OratioError
from oratio.knowledge.ports import IngestionInterrupted, KnowledgeBase
from oratio.knowledge.progress import Observer, observed
from oratio.services._common import Backends, all_items, require, update_with_retry
from oratio.services.ingest_queue import IngestQueue
from oratio.store.tables import DOCUMENTS
from schemas import Document, DocumentStatus, EventType

logger = logging.getLogger("oratio.ingestion")

PROGRESS_WRITES: int = 10
"""Progress is written to the record about this many times per document (plus at its start)."""
CLOSE_WAIT_S: float = 30.0
"""How long closing waits for the documents being ingested to stop (interrupted) before it gives up."""


@dataclass(frozen=True)
class IngestionSettings:
    background: bool = False
    workers: int = 2
    per_tenant: int = 1
    attempts_max: int = 3


class _Superseded(Exception):
    """The record's content changed while an older version was ingested: the newer run records the outcome."""


class Ingestion:
    def __init__(self, backends: Backends, knowledge: KnowledgeBase, settings: IngestionSettings | None = None) -> None:
        self._b = backends
        self._kb = knowledge
        self._settings = settings or IngestionSettings()
        self._queue = (
            IngestQueue(self._run, workers=self._settings.workers, per_tenant=self._settings.per_tenant)
            if self._settings.background
            else None
        )
        self._settled = threading.Condition()

    @property
    def knowledge(self) -> KnowledgeBase:
        return self._kb

    @property
    def background(self) -> bool:
        return self._queue is not None

    def start(self, document: Document) -> Document:
        """Ingest a document the caller stored as `ingesting`: queued (returned as is) or, inline, now (the outcome)."""
        if self._queue is None:
            return self.ingest(document.tenant_id, document.id)
        self._queue.submit(document.tenant_id, document.id)
        return document

    def restart(self, tenant_id: str, document_id: str) -> Document:
        """Ingest a document again from the start (e.g. after an error): `ingesting`, attempts reset."""
        document = update_with_retry(
            self._b.store,
            DOCUMENTS,
            tenant_id,
            document_id,
            "document",
            lambda doc: doc.model_copy(update=fresh_fields(self._b.clock())),
        )
        return self.start(document)

    def ingest(self, tenant_id: str, document_id: str) -> Document:
        """Ingest the document's current content now, in this thread, and record the outcome; returns the record."""
        document = self._begin(tenant_id, document_id)
        if document.status is not DocumentStatus.INGESTING:
            return document
        try:
            content = self._b.blobs.get(document.blob_key)
            if self._queue is None:  # inline: the caller waits for the outcome, nobody reads the progress
                result = self._kb.ingest(document, content)
            else:
                with observed(self._progress(document)):
                    result = self._kb.ingest(document, content)
        except IngestionInterrupted:
            # Shutting down: the record stays `ingesting` for the next start, and this run does not count.
            logger.info("tenant=%s document=%s | ingestion interrupted by shutdown", tenant_id, document_id)
            return self._finish(document, DocumentStatus.INGESTING, None, attempts=document.ingest_attempts - 1)
        except InvalidInput as exc:
            # The content is unusable: the admin must fix the document, retrying will not help.
            logger.info("tenant=%s document=%s | ingestion refused: %s", tenant_id, document_id, exc.message)
            return self._finish(document, DocumentStatus.ERROR, exc.message)
        except OratioError as exc:
            logger.warning("tenant=%s document=%s | ingestion failed: %s", tenant_id, document_id, exc.message)
            return self._finish(document, DocumentStatus.ERROR, f"ingestion failed: {exc.message}")
        return self._finish(document, DocumentStatus.READY, None, chunk_count=result.chunk_count)

    def forget(self, document: Document) -> None:
        self._kb.remove(document.tenant_id, document.agent_id, document.id)

    def unready(self) -> list[Document]:
        """Every document left pending or ingesting (e.g. by a crash)."""
        return list(all_items(self._b.store, DOCUMENTS, "unready", index="unready"))

    def unready_of(self, tenant_id: str, agent_id: str) -> list[Document]:
        """The agent's documents still pending or ingesting (an indexed read of the tenant's unready ones)."""
        items: list[Document] = []
        cursor: str | None = None
        while True:
            page = self._b.store.query(
                DOCUMENTS,
                "unready",
                index="unready",
                sort_from=f"{tenant_id}#",
                sort_to=f"{tenant_id}#\uffff",
                limit=200,
                cursor=cursor,
            )
            items.extend(d for d in page.items if d.agent_id == agent_id)
            if page.next_cursor is None:
                return items
            cursor = page.next_cursor

    def wait_settled(self, tenant_id: str, agent_id: str, timeout: float) -> list[Document]:
        """Wait (at most `timeout` s) until none of the agent's documents is ingesting; returns those still are.

        Woken by this process's workers as documents settle; re-reads the store every second too, for
        documents another process ingests.
        """
        deadline = time.monotonic() + timeout
        while True:
            left = self.unready_of(tenant_id, agent_id)
            remaining = deadline - time.monotonic()
            if not left or remaining <= 0:
                return left
            with self._settled:
                self._settled.wait(min(remaining, 1.0))

    def resume(self, documents: list[Document] | None = None) -> int:
        """Queue `documents` (default: every unready one) for the background workers; returns how many."""
        queued = self.unready() if documents is None else documents
        for document in queued:
            if self._queue is not None:
                self._queue.submit(document.tenant_id, document.id)
        return len(queued) if self._queue is not None else 0

    def resume_unready(self, documents: list[Document] | None = None, *, stop: threading.Event | None = None) -> int:
        """Ingest `documents` (default: every unready one) in this thread until `stop` is set; how many were done."""
        count = 0
        for document in self.unready() if documents is None else documents:
            if stop is not None and stop.is_set():
                break
            try:
                outcome = self.ingest(document.tenant_id, document.id)
            except NotFound:
                continue  # deleted meanwhile
            if outcome.status is not DocumentStatus.INGESTING:  # else interrupted: still to do next time
                count += 1
        return count

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the background queue is empty and its workers idle (True), or it is closed or times out."""
        return True if self._queue is None else self._queue.wait_idle(timeout)

    def interrupt(self) -> None:
        """Stop extraction in progress (shutdown); the documents concerned stay unready for the next start."""
        self._kb.interrupt()

    def close(self) -> None:
        """Stop the background workers: waiting documents are left `ingesting` for the next start, running ones
        are interrupted (and waited for, boundedly, so none writes to a store that is closing)."""
        if self._queue is None:
            return
        busy = self._queue.pending() > 0
        self._queue.close()
        if busy:
            self._kb.interrupt()
            if not self._queue.wait_idle(CLOSE_WAIT_S):
                logger.warning("documents=%d | ingestion still running at close", self._queue.pending())

    def _run(self, tenant_id: str, document_id: str) -> None:
        """A queue worker's job: ingest, with every failure recorded on the document (never raised)."""
        try:
            self.ingest(tenant_id, document_id)
        except NotFound:
            pass  # deleted while it waited
        except Exception:  # a worker job's outermost handler: a bug or a disk error must not leave it `ingesting`
            logger.exception("tenant=%s document=%s | ingestion failed unexpectedly", tenant_id, document_id)
            try:
                current = require(self._b.store.get(DOCUMENTS, tenant_id, document_id), "document", document_id)
                reason = "ingestion failed on the server (logged); re-ingest the document to try again"
                self._finish(current, DocumentStatus.ERROR, reason)
            except Exception:  # the store itself is failing: the record stays `ingesting` for the next start
                logger.exception("tenant=%s document=%s | failure not recorded", tenant_id, document_id)

    def _begin(self, tenant_id: str, document_id: str) -> Document:
        """Count this run and mark the record `ingesting`; past `attempts_max` runs, `error` instead."""
        limit = self._settings.attempts_max
        current = require(self._b.store.get(DOCUMENTS, tenant_id, document_id), "document", document_id)
        if current.status not in (DocumentStatus.PENDING, DocumentStatus.INGESTING):
            return current  # settled meanwhile (queued twice, or finished by another process)

        def apply(doc: Document) -> Document:
            now = self._b.clock()
            if doc.ingest_attempts >= limit:
                reason = (
                    f"ingestion did not finish in {limit} attempts (the server stopped during each);"
                    " re-ingest the document, or upload it in smaller parts"
                )
                return doc.model_copy(update={**_settled(now), "status": DocumentStatus.ERROR, "status_reason": reason})
            return doc.model_copy(
                update={
                    "status": DocumentStatus.INGESTING,
                    "status_reason": None,
                    "chunks_done": 0,
                    "chunks_total": 0,
                    "ingest_attempts": doc.ingest_attempts + 1,
                    "updated_at": now,
                }
            )

        document = update_with_retry(self._b.store, DOCUMENTS, tenant_id, document_id, "document", apply)
        self._announce(document)
        return document

    def _progress(self, document: Document) -> Observer:
        """Writes chunks done/total to the record: when the total is known, then about every tenth of it."""
        last = [-1]

        def observe(done: int, total: int) -> None:
            step = max(1, total // PROGRESS_WRITES)
            if done != 0 and done < total and done - last[0] < step:
                return
            last[0] = done
            try:
                self._update_if_current(document, {"chunks_done": done, "chunks_total": total})
            except (_Superseded, NotFound):
                pass  # replaced or deleted meanwhile: that run's progress is the one to show

        return observe

    def _finish(
        self,
        document: Document,
        status: DocumentStatus,
        reason: str | None,
        *,
        chunk_count: int | None = None,
        attempts: int | None = None,
    ) -> Document:
        update: dict[str, object] = {"status": status, "status_reason": reason}
        if status is not DocumentStatus.INGESTING:
            update.update(_settled(self._b.clock()))
        else:
            update["ingest_attempts"] = max(0, attempts or 0)
        if chunk_count is not None:
            update["chunk_count"] = chunk_count
        try:
            updated = self._update_if_current(document, update)
        except _Superseded:
            # Replaced while this version was ingested: the newer content is queued and records its own outcome.
            return require(self._b.store.get(DOCUMENTS, document.tenant_id, document.id), "document", document.id)
        self._announce(updated)
        return updated

    def _update_if_current(self, document: Document, update: dict[str, object]) -> Document:
        def apply(doc: Document) -> Document:
            if doc.sha256 != document.sha256 or doc.blob_key != document.blob_key:
                raise _Superseded
            return doc.model_copy(update={**update, "updated_at": self._b.clock()})

        return update_with_retry(self._b.store, DOCUMENTS, document.tenant_id, document.id, "document", apply)

    def _announce(self, document: Document) -> None:
        self._b.emit(
            document.tenant_id,
            EventType.DOCUMENT_STATUS,
            document.id,
            agent_id=document.agent_id,
            status=document.status.value,
            reason=document.status_reason,
            chunk_count=document.chunk_count,
        )
        with self._settled:
            self._settled.notify_all()


def fresh_fields(now: object) -> dict[str, object]:
    """The fields of a document whose ingestion starts over (new content, or re-ingested by the admin)."""
    return {
        "status": DocumentStatus.INGESTING,
        "status_reason": None,
        "chunks_done": 0,
        "chunks_total": 0,
        "ingest_attempts": 0,
        "updated_at": now,
    }


def _settled(now: object) -> dict[str, object]:
    """The fields of a document whose ingestion ended (ready or error): no progress, no attempts pending."""
    return {"chunks_done": 0, "chunks_total": 0, "ingest_attempts": 0, "updated_at": now}


@asynccontextmanager
async def resuming_in_background(ingestion: Ingestion, documents: list[Document]) -> AsyncIterator[anyio.Event]:
    """Re-ingest `documents` while the caller serves; yields an event set when they are done.

    Meant for a server's lifespan: requests are answered meanwhile. With background workers the
    documents are queued to them (fair between tenants); otherwise one worker thread ingests them in
    turn. On exit the remaining documents are skipped and extraction in progress is interrupted;
    those documents stay unready for the next start.
    """
    stop = threading.Event()
    done = anyio.Event()

    def work() -> int:
        if ingestion.background:
            ingestion.resume(documents)
            ingestion.wait_idle()
            return len(documents)
        return ingestion.resume_unready(documents, stop=stop)

    async def run() -> None:
        try:
            count = await anyio.to_thread.run_sync(work)
            logger.info("documents=%d of %d | unfinished ingestion resumed", count, len(documents))
        except Exception:  # the task's outermost handler: a store outage must not take the server down with it
            logger.exception("documents=%d | resuming ingestion failed; they resume at the next start", len(documents))
        finally:
            done.set()

    async with anyio.create_task_group() as group:
        if documents:
            group.start_soon(run)
        else:
            done.set()
        try:
            yield done
        finally:
            stop.set()
            if not done.is_set():  # still resuming: stop the extraction in progress (the server is stopping)
                if ingestion.background:
                    ingestion.close()
                else:
                    ingestion.interrupt()


__all__ = ["Ingestion", "IngestionSettings", "fresh_fields", "resuming_in_background"]
