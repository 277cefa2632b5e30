"""Knowledge-base seams: text extraction, chunking, embedding and the searchable index.

Two implementations sit behind `KnowledgeBase`: the embedded default (extract -> chunk -> chunks in
SQLite, searched by a per-agent tantivy BM25 index and usearch HNSW vectors, weighted fusion) and
Amazon Bedrock Knowledge Bases (the raw file goes to S3; Bedrock extracts, chunks and embeds). So the
Protocol is at the document level: `ingest` takes the stored document and its bytes, and each backend
decides how to make it searchable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from oratio.errors import BackendUnavailable, InvalidInput
from schemas import Chunk, Document, Source


class ExtractionError(InvalidInput):
    """The document's content cannot be turned into text (encrypted, corrupt, binary, too large...).

    Raised per document: the ingestion service records it as the document's `error` status and goes
    on with the others.
    """

    code = "extraction_failed"


class IngestionInterrupted(BackendUnavailable):
    """The server is stopping: the document was not finished and is ingested again at the next start."""

    code = "ingestion_interrupted"


@dataclass(frozen=True)
class Section:
    """A run of text with where it came from: a page ("page 3") or a heading path ("Refunds > Fees")."""

    text: str
    location: str
    start_offset: int  # offset of `text` in the document's full extracted text


@dataclass(frozen=True)
class ExtractedText:
    sections: list[Section]
    pages: int  # 1 for formats without pages


@dataclass(frozen=True)
class ChunkDraft:
    """A chunk before it belongs to a stored document."""

    text: str
    location: str
    start_offset: int
    end_offset: int


@dataclass(frozen=True)
class KnowledgeHit:
    """One search result: the chunk, its document's name, and the fused score (higher is better)."""

    chunk: Chunk
    document_name: str
    score: float

    def to_source(self, snippet_chars: int = 300) -> Source:
        return Source(
            document_id=self.chunk.document_id,
            document_name=self.document_name,
            location=self.chunk.location,
            snippet=self.chunk.text[:snippet_chars],
            score=self.score,
        )


@dataclass(frozen=True)
class IngestResult:
    chunk_count: int
    pages: int


class Embedder(Protocol):
    """Sentence embeddings. Vectors are L2-normalised, so a dot product is the cosine similarity."""

    @property
    def model_id(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class KnowledgeBase(Protocol):
    """Per-agent searchable knowledge. Every call is scoped by tenant and agent."""

    def ingest(self, document: Document, content: bytes) -> IngestResult:
        """Make the document searchable, replacing any earlier version of it (same document id).

        Idempotent: ingesting the same content again leaves the same chunks. Raises ExtractionError
        for content that cannot be used; the previous version's chunks are then left untouched.
        """
        ...

    def remove(self, tenant_id: str, agent_id: str, document_id: str) -> None:
        """Forget the document's chunks; a no-op if it has none."""
        ...

    def search(self, tenant_id: str, agent_id: str, query: str, k: int = 5) -> list[KnowledgeHit]:
        """The `k` best chunks of this agent's documents for `query`, best first."""
        ...

    def interrupt(self) -> None:
        """Stop ingestion work in progress (the server is stopping); a no-op where nothing runs locally.

        An interrupted `ingest` raises `IngestionInterrupted`; the document is ingested again later.
        """
        ...

    def close(self) -> None: ...


__all__ = [
    "ChunkDraft",
    "Embedder",
    "ExtractedText",
    "ExtractionError",
    "IngestResult",
    "IngestionInterrupted",
    "KnowledgeBase",
    "KnowledgeHit",
    "Section",
]
