"""Knowledge-base documents and the chunks they are cut into."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from schemas._base import Identifier, Limits, Model, Record, UtcDatetime, utcnow


class DocumentFormat(StrEnum):
    PDF = "pdf"
    MARKDOWN = "markdown"
    TEXT = "text"
    HTML = "html"


CONTENT_TYPES: dict[DocumentFormat, str] = {
    DocumentFormat.PDF: "application/pdf",
    DocumentFormat.MARKDOWN: "text/markdown",
    DocumentFormat.TEXT: "text/plain",
    DocumentFormat.HTML: "text/html",
}


class DocumentStatus(StrEnum):
    PENDING = "pending"
    INGESTING = "ingesting"
    READY = "ready"
    ERROR = "error"


class Document(Record):
    id: Identifier
    agent_id: Identifier
    name: str = Field(min_length=1, max_length=256)
    format: DocumentFormat
    size_bytes: int = Field(ge=1, le=Limits.DOCUMENT_BYTES_MAX)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    blob_key: str = Field(max_length=1024)
    status: DocumentStatus = DocumentStatus.PENDING
    status_reason: str | None = Field(default=None, max_length=2000)
    chunk_count: int = Field(default=0, ge=0)
    # Progress of the ingestion in flight (chunks embedded of the document's total); both 0 before the
    # document is chunked and once it is ready or in error (then `chunk_count` holds the outcome).
    chunks_done: int = Field(default=0, ge=0)
    chunks_total: int = Field(default=0, ge=0)
    # Ingestion runs started for the current content without finishing; past the configured bound
    # (a document whose ingestion keeps stopping the server) it ends in `error` instead of looping.
    ingest_attempts: int = Field(default=0, ge=0)
    created_at: UtcDatetime = Field(default_factory=utcnow)
    updated_at: UtcDatetime = Field(default_factory=utcnow)


class DocumentTotals(Record):
    """How many documents, and how many bytes of them, an agent holds (`scope` is its id) or a whole
    tenant holds (`scope` is `TENANT_SCOPE`): the document limits are checked against these counters,
    written in the same transaction as the document, so an upload never counts an agent's documents."""

    scope: str = Field(min_length=1, max_length=64)
    documents: int = Field(default=0, ge=0)
    bytes: int = Field(default=0, ge=0)


TENANT_SCOPE = "tenant"


class DocumentContent(Model):
    """A document as uploaded. Content arrives as bytes; the door decodes text or base64."""

    name: str = Field(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f/\\]+$")
    format: DocumentFormat
    content: bytes = Field(min_length=1, max_length=Limits.DOCUMENT_BYTES_MAX)


class Chunk(Model):
    tenant_id: Identifier
    document_id: Identifier
    agent_id: Identifier
    ordinal: int = Field(ge=0)
    text: str = Field(min_length=1, max_length=20_000)
    location: str = Field(default="", max_length=256)
    start_offset: int = Field(ge=0)
    end_offset: int = Field(ge=0)
