"""The embedded knowledge base: extract -> chunk -> hybrid index (tantivy BM25 + usearch vectors, fused).

With an `ExtractionPool` (what `open_platform` builds), extraction and chunking run in a worker
process under a per-document time and memory limit; embedding and indexing stay in the calling
thread (onnxruntime and SQLite release the GIL). Without one they run in the calling thread, which
only tools and tests that handle trusted documents should do.
"""

from __future__ import annotations

import logging

from oratio.errors import InvalidInput
from oratio.knowledge.chunking import chunk_text
from oratio.knowledge.index import HybridIndex
from oratio.knowledge.isolation import ExtractionPool
from oratio.knowledge.ports import ExtractionError, IngestResult, KnowledgeHit
from oratio.knowledge.progress import report
from schemas import Chunk, Document

logger = logging.getLogger("oratio.knowledge")


class LocalKnowledgeBase:
    def __init__(self, index: HybridIndex, *, pool: ExtractionPool | None = None) -> None:
        self._index = index
        self._pool = pool

    @property
    def scores_are_relevance(self) -> bool:
        """Whether a hit's score says how relevant it is (the fused score carries the cosine), so a floor
        may apply to it; BM25-only scores only rank (`oratio.knowledge.fusion`)."""
        return self._index.embedder is not None

    def ingest(self, document: Document, content: bytes) -> IngestResult:
        if self._pool is not None:
            drafts, pages = self._pool.chunks(document.tenant_id, content, document.format)
        else:
            # Imported on first ingest: pypdf is heavy, and a process that only serves (`oratio mcp`) never needs it.
            from oratio.knowledge.extract import extract_text

            extracted = extract_text(content, document.format)
            drafts, pages = chunk_text(extracted), extracted.pages
        if not drafts:
            raise ExtractionError(f"document '{document.name}' has no text to search")
        report(0, len(drafts))  # the total is known now; the embedder reports each batch done
        chunks = [
            Chunk(
                tenant_id=document.tenant_id,
                document_id=document.id,
                agent_id=document.agent_id,
                ordinal=ordinal,
                text=draft.text,
                location=draft.location,
                start_offset=draft.start_offset,
                end_offset=draft.end_offset,
            )
            for ordinal, draft in enumerate(drafts)
        ]
        self._index.replace_document(document.tenant_id, document.agent_id, document.id, document.name, chunks)
        logger.info(
            "tenant=%s document=%s pages=%d chunks=%d | ingested",
            document.tenant_id,
            document.id,
            pages,
            len(chunks),
        )
        return IngestResult(chunk_count=len(chunks), pages=pages)

    def remove(self, tenant_id: str, agent_id: str, document_id: str) -> None:
        self._index.remove_document(tenant_id, agent_id, document_id)

    def search(self, tenant_id: str, agent_id: str, query: str, k: int = 5) -> list[KnowledgeHit]:
        if not query.strip():
            raise InvalidInput("the search query is empty", field="query")
        return self._index.search(tenant_id, agent_id, query, k)

    def interrupt(self) -> None:
        if self._pool is not None:
            self._pool.interrupt()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        self._index.close()
