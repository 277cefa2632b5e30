"""Knowledge-base documents: stored as blobs, tracked as records, replaced by name.

Uploading a document with the name of an existing one replaces it (same id, new content), and
uploading identical content again changes nothing: re-running an upload script is always safe.
Every stored version is ingested into the agent's knowledge base (`Ingestion`): the upload returns the
record as `ingesting` and background workers index it (or, configured inline, the upload waits for it);
progress and the outcome (ready, or error with a reason) are on the document record.
"""

from __future__ import annotations

import hashlib

from oratio.errors import Conflict, InvalidInput
from oratio.ids import new_id
from oratio.services._common import Backends, all_items, authorize, check_limit, require, update_with_retry
from oratio.services.ingestion import Ingestion, fresh_fields
from oratio.store.ports import Page
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
        self, backends: Backends, *, max_bytes: int = Limits.DOCUMENT_BYTES_MAX, ingestion: Ingestion | None = None
    ) -> None:
        self._b = backends
        self._max_bytes = max_bytes
        self._ingestion = ingestion

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
            self._check_count(tenant_id, agent_id)
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
                stored = self._b.store.insert(DOCUMENTS, document)
            except Conflict:
                self._b.blobs.delete(blob_key)
                raise Conflict(f"document '{content.name}' is being uploaded concurrently; try again") from None
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

        stored = update_with_retry(self._b.store, DOCUMENTS, tenant_id, doc_id, "document", replace)
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

    def _check_count(self, tenant_id: str, agent_id: str) -> None:
        page = self._b.store.query(
            DOCUMENTS, f"{tenant_id}#{agent_id}", index="by_agent", limit=Limits.DOCUMENTS_PER_AGENT_MAX
        )
        if len(page.items) >= Limits.DOCUMENTS_PER_AGENT_MAX:
            raise InvalidInput(f"an agent can have at most {Limits.DOCUMENTS_PER_AGENT_MAX} documents")

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
            self._delete(document)

    def _delete(self, document: Document) -> None:
        # Chunks first: a crash after this leaves a record the admin can delete again, never an
        # unlisted document that is still searchable.
        if self._ingestion is not None:
            self._ingestion.forget(document)
        self._b.store.delete(DOCUMENTS, document.tenant_id, document.id)
        self._b.blobs.delete(document.blob_key)
        self._b.emit(document.tenant_id, EventType.DOCUMENT_DELETED, document.id, agent_id=document.agent_id)
