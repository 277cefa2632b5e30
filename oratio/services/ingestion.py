"""Making stored documents searchable, one document at a time, with the outcome on its record.

A document moves pending -> ingesting -> ready | error. One bad document (encrypted PDF, binary file
named .txt, ...) ends in `error` with a reason the admin can act on and never stops the others.
Ingestion runs right after an upload; `resume_unready` picks up documents a crash left unfinished.
At server start it runs in the background (`resuming_in_background`), so a restart with many
documents to re-ingest answers requests at once instead of after the last document.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread

from oratio.errors import InvalidInput, NotFound, OratioError
from oratio.knowledge.ports import IngestionInterrupted, KnowledgeBase
from oratio.services._common import Backends, all_items, update_with_retry
from oratio.store.tables import DOCUMENTS
from schemas import Document, DocumentStatus, EventType

logger = logging.getLogger("oratio.ingestion")


class Ingestion:
    def __init__(self, backends: Backends, knowledge: KnowledgeBase) -> None:
        self._b = backends
        self._kb = knowledge

    @property
    def knowledge(self) -> KnowledgeBase:
        return self._kb

    def ingest(self, tenant_id: str, document_id: str) -> Document:
        """Ingest the document's current content and record the outcome; returns the final record."""
        document = self._set_status(tenant_id, document_id, DocumentStatus.INGESTING, None)
        try:
            content = self._b.blobs.get(document.blob_key)
            result = self._kb.ingest(document, content)
        except IngestionInterrupted:
            # Shutting down: the record stays `ingesting`, so the next start's resume picks it up.
            logger.info("tenant=%s document=%s | ingestion interrupted by shutdown", tenant_id, document_id)
            return document
        except InvalidInput as exc:
            # The content is unusable: the admin must fix the document, retrying will not help.
            logger.info("tenant=%s document=%s | ingestion refused: %s", tenant_id, document_id, exc.message)
            return self._set_status(tenant_id, document_id, DocumentStatus.ERROR, exc.message)
        except OratioError as exc:
            logger.warning("tenant=%s document=%s | ingestion failed: %s", tenant_id, document_id, exc.message)
            return self._set_status(tenant_id, document_id, DocumentStatus.ERROR, f"ingestion failed: {exc.message}")
        return self._set_status(tenant_id, document_id, DocumentStatus.READY, None, chunk_count=result.chunk_count)

    def forget(self, document: Document) -> None:
        self._kb.remove(document.tenant_id, document.agent_id, document.id)

    def unready(self) -> list[Document]:
        """Every document left pending or ingesting (e.g. by a crash)."""
        return list(all_items(self._b.store, DOCUMENTS, "unready", index="unready"))

    def resume_unready(self, documents: list[Document] | None = None, *, stop: threading.Event | None = None) -> int:
        """Ingest `documents` (default: every unready one) until `stop` is set. Returns how many were done."""
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

    def interrupt(self) -> None:
        """Stop extraction in progress (shutdown); the documents concerned stay unready for the next start."""
        self._kb.interrupt()

    def _set_status(
        self,
        tenant_id: str,
        document_id: str,
        status: DocumentStatus,
        reason: str | None,
        *,
        chunk_count: int | None = None,
    ) -> Document:
        def apply(doc: Document) -> Document:
            update: dict[str, object] = {"status": status, "status_reason": reason, "updated_at": self._b.clock()}
            if chunk_count is not None:
                update["chunk_count"] = chunk_count
            return doc.model_copy(update=update)

        updated = update_with_retry(self._b.store, DOCUMENTS, tenant_id, document_id, "document", apply)
        self._b.emit(
            tenant_id,
            EventType.DOCUMENT_STATUS,
            document_id,
            agent_id=updated.agent_id,
            status=status.value,
            reason=reason,
            chunk_count=updated.chunk_count,
        )
        return updated


@asynccontextmanager
async def resuming_in_background(ingestion: Ingestion, documents: list[Document]) -> AsyncIterator[anyio.Event]:
    """Re-ingest `documents` in a worker thread while the caller serves; yields an event set when done.

    Meant for a server's lifespan: requests are answered meanwhile (extraction runs in worker
    processes, so not even the GIL is held for long). On exit the remaining documents are skipped
    and extraction in progress is interrupted; those documents stay unready for the next start.
    """
    stop = threading.Event()
    done = anyio.Event()

    async def run() -> None:
        try:
            count = await anyio.to_thread.run_sync(lambda: ingestion.resume_unready(documents, stop=stop))
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
                ingestion.interrupt()
