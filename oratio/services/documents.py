"""Knowledge-base documents: stored as blobs, tracked as records, replaced by name.

Uploading a document with the name of an existing one replaces it (same id, new content), and
uploading identical content again changes nothing: re-running an upload script is always safe.
Every stored version is ingested into the agent's knowledge base (`Ingestion`): the upload returns the
record as `ingesting` and background workers index it (or, configured inline, the upload waits for it);
progress and the outcome (ready, or error with a reason) are on the document record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from oratio.errors import Conflict, InvalidInput, NotFound
from oratio.ids import new_id
from oratio.services._common import Backends, all_items, authorize, check_limit, require
from oratio.services.document_totals import ATTEMPTS, DocumentLimits, DocumentTotalsBook
from oratio.services.ingestion import Ingestion, fresh_fields
from oratio.store.ports import Insert, Page, Replace, Write
from oratio.store.tables import AGENTS, DOCUMENTS
from schemas import (
    CONTENT_TYPES,
    Document,
    DocumentContent,
    DocumentStatus,
    EventType,
    Limits,
    Principal,
    Scope,
)


class DocumentService:
    def __init__(
        self,
        backends: Backends,
        *,
        max_bytes: int = Limits.DOCUMENT_BYTES_MAX,
        ingestion: Ingestion | None = None,
        limits: DocumentLimits | None = None,
    ) -> None:
        self._b = backends
        self._max_bytes = max_bytes
        self._ingestion = ingestion
        self._totals = DocumentTotalsBook(backends, limits or DocumentLimits())

    def check(self, content: DocumentContent) -> None:
        """Refuse a document before anything is stored, so a bad one never leaves a partial write."""
        if len(content.content) > self._max_bytes:
            raise InvalidInput(
                f"document '{content.name}' is {len(content.content)} bytes; the limit is {self._max_bytes}",
                field="content",
            )

    def upload(self, principal: Principal, agent_id: str, content: DocumentContent) -> Document:
        tenant_id = authorize(principal, Scope.AGENTS_WRITE)
        require(self._b.store.get(AGENTS, tenant_id, agent_id), "agent", agent_id)
        return self.store_for_agent(tenant_id, agent_id, content)

    def store_for_agent(self, tenant_id: str, agent_id: str, content: DocumentContent) -> Document:
        """Store or replace a document of an agent the caller has already checked."""
        self.check(content)
        digest = hashlib.sha256(content.content).hexdigest()
        existing = self._by_name(tenant_id, agent_id, content.name)
        if existing is not None and existing.sha256 == digest and existing.format is content.format:
            if existing.status in (DocumentStatus.READY, DocumentStatus.INGESTING) or self._ingestion is None:
                return existing
            return self._ingestion.restart(tenant_id, existing.id)  # same content, earlier attempt failed
        if existing is None:
            self._totals.writes(tenant_id, agent_id, 1, len(content.content))  # refused before the blob is written
        doc_id = existing.id if existing is not None else new_id("document")
        # Content-addressed key: the old blob stays readable until the record points elsewhere.
        blob_key = f"{tenant_id}/documents/{agent_id}/{doc_id}/{digest}"
        self._b.blobs.put(blob_key, content.content, content_type=CONTENT_TYPES[content.format])
        now = self._b.clock()
        if existing is None:
            document = Document(
                tenant_id=tenant_id,
                id=doc_id,
                agent_id=agent_id,
                name=content.name,
                format=content.format,
                size_bytes=len(content.content),
                sha256=digest,
                blob_key=blob_key,
                status=DocumentStatus.INGESTING if self._ingestion is not None else DocumentStatus.PENDING,
                created_at=now,
                updated_at=now,
            )
            try:
                stored = self._insert_counted(document)
            except (Conflict, InvalidInput):
                self._b.blobs.delete(blob_key)
                raise
            self._b.emit(tenant_id, EventType.DOCUMENT_ADDED, doc_id, agent_id=agent_id, name=content.name)
            return self._ingested(stored)

        def replace(doc: Document) -> Document:
            return doc.model_copy(
                update={
                    "format": content.format,
                    "size_bytes": len(content.content),
                    "sha256": digest,
                    "blob_key": blob_key,
                    **fresh_fields(now),
                    "status": DocumentStatus.INGESTING if self._ingestion is not None else DocumentStatus.PENDING,
                    "chunk_count": 0,
                }
            )

        try:
            stored = self._replace_counted(tenant_id, doc_id, replace)
        except (Conflict, InvalidInput, NotFound):
            if existing.blob_key != blob_key:  # the same key is the live version's blob: keep it
                self._b.blobs.delete(blob_key)
            raise
        if existing.blob_key != blob_key:
            self._b.blobs.delete(existing.blob_key)
        self._b.emit(tenant_id, EventType.DOCUMENT_ADDED, doc_id, agent_id=agent_id, name=content.name, replaced=True)
        return self._ingested(stored)

    def _ingested(self, document: Document) -> Document:
        if self._ingestion is None:
            return document
        return self._ingestion.start(document)

    def reingest(self, principal: Principal, document_id: str) -> Document:
        """Ingest a document again, e.g. after a backend outage left it in `error`."""
        tenant_id = authorize(principal, Scope.AGENTS_WRITE)
        document = require(self._b.store.get(DOCUMENTS, tenant_id, document_id), "document", document_id)
        if self._ingestion is None:
            return document
        return self._ingestion.restart(tenant_id, document_id)

    def wait_settled(self, principal: Principal, agent_id: str, timeout: float) -> list[Document]:
        """Wait (at most `timeout` s) until no document of the agent is being ingested; returns those still are.

        For callers that need the agent's knowledge complete (the AgentCreator's test conversations).
        """
        tenant_id = authorize(principal, Scope.AGENTS_READ)
        if self._ingestion is None:
            return []
        return self._ingestion.wait_settled(tenant_id, agent_id, timeout)

    def _insert_counted(self, document: Document) -> Document:
        """Store a new document with the agent's and tenant's counters moved in the same transaction."""
        for _ in range(ATTEMPTS):
            writes: list[Write] = [Insert(DOCUMENTS, document)]
            writes += self._totals.writes(document.tenant_id, document.agent_id, 1, document.size_bytes)
            try:
                stored: Document = self._b.store.transact(writes)[0]
                return stored
            except Conflict:
                if self._by_name(document.tenant_id, document.agent_id, document.name) is not None:
                    raise Conflict(f"document '{document.name}' is being uploaded concurrently; try again") from None
        raise Conflict(f"document '{document.name}' could not be stored: too many concurrent uploads; try again")

    def _replace_counted(self, tenant_id: str, doc_id: str, change: Callable[[Document], Document]) -> Document:
        """Replace a document's content with its size change counted in the same transaction."""
        for _ in range(ATTEMPTS):
            current = require(self._b.store.get(DOCUMENTS, tenant_id, doc_id), "document", doc_id)
            updated = change(current)
            writes: list[Write] = [Replace(DOCUMENTS, updated)]
            writes += self._totals.writes(tenant_id, current.agent_id, 0, updated.size_bytes - current.size_bytes)
            try:
                stored: Document = self._b.store.transact(writes)[0]
                return stored
            except Conflict:
                continue
        raise Conflict(f"document '{doc_id}' is being changed by others; try again")

    def find(self, principal: Principal, agent_id: str, name: str) -> Document | None:
        """The agent's document with this name (names match case-insensitively), or None."""
        return self._by_name(authorize(principal, Scope.AGENTS_READ), agent_id, name)

    def _by_name(self, tenant_id: str, agent_id: str, name: str) -> Document | None:
        # The DOCUMENTS table's unique value: a name is unique per agent, case-insensitively.
        return self._b.store.get_unique(DOCUMENTS, tenant_id, f"{agent_id}#{name.casefold()}")

    def get(self, principal: Principal, document_id: str) -> Document:
        tenant_id = authorize(principal, Scope.AGENTS_READ)
        return require(self._b.store.get(DOCUMENTS, tenant_id, document_id), "document", document_id)

    def read_content(self, principal: Principal, document_id: str) -> bytes:
        return self._b.blobs.get(self.get(principal, document_id).blob_key)

    def list(
        self, principal: Principal, agent_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[Document]:
        tenant_id = authorize(principal, Scope.AGENTS_READ)
        check_limit(limit)
        require(self._b.store.get(AGENTS, tenant_id, agent_id), "agent", agent_id)
        return self._b.store.query(DOCUMENTS, f"{tenant_id}#{agent_id}", index="by_agent", limit=limit, cursor=cursor)

    def delete(self, principal: Principal, document_id: str) -> None:
        tenant_id = authorize(principal, Scope.AGENTS_WRITE)
        document = require(self._b.store.get(DOCUMENTS, tenant_id, document_id), "document", document_id)
        self._delete(document)

    def delete_for_agent(self, tenant_id: str, agent_id: str) -> None:
        """Cascade from an agent's deletion: every document of the agent, with its chunks and blob."""
        for document in all_items(self._b.store, DOCUMENTS, f"{tenant_id}#{agent_id}", index="by_agent"):
            self._delete(document, counted=False)
        self._totals.forget_agent(tenant_id, agent_id)  # once for all, not one counter write per document

    def _delete(self, document: Document, *, counted: bool = True) -> None:
        # Chunks first: a crash after this leaves a record the admin can delete again, never an
        # unlisted document that is still searchable. Counters last: a crash before leaves them high.
        if self._ingestion is not None:
            self._ingestion.forget(document)
        deleted = self._b.store.delete(DOCUMENTS, document.tenant_id, document.id)
        self._b.blobs.delete(document.blob_key)
        if deleted and counted:
            self._totals.release(document.tenant_id, document.agent_id, 1, document.size_bytes)
        self._b.emit(document.tenant_id, EventType.DOCUMENT_DELETED, document.id, agent_id=document.agent_id)
