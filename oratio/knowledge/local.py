"""The embedded knowledge base: extract -> chunk -> hybrid index (SQLite FTS5 + dense vectors)."""

from __future__ import annotations

import logging

from oratio.errors import InvalidInput
from oratio.knowledge.chunking import chunk_text
from oratio.knowledge.index import HybridIndex
from oratio.knowledge.ports import ExtractionError, IngestResult, KnowledgeHit
from schemas import Chunk, Document

logger = logging.getLogger("oratio.knowledge")


class LocalKnowledgeBase:
    def __init__(self, index: HybridIndex) -> None:
        self._index = index

    def ingest(self, document: Document, content: bytes) -> IngestResult:
        # Imported on first ingest: pypdf is heavy, and a process that only serves (`oratio mcp`) never needs it.
        from oratio.knowledge.extract import extract_text

        extracted = extract_text(content, document.format)
        drafts = chunk_text(extracted)
        if not drafts:
            raise ExtractionError(f"document '{document.name}' has no text to search")
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
            extracted.pages,
            len(chunks),
        )
        return IngestResult(chunk_count=len(chunks), pages=extracted.pages)

    def remove(self, tenant_id: str, agent_id: str, document_id: str) -> None:
        self._index.remove_document(tenant_id, agent_id, document_id)

    def search(self, tenant_id: str, agent_id: str, query: str, k: int = 5) -> list[KnowledgeHit]:
        if not query.strip():
            raise InvalidInput("the search query is empty", field="query")
        return self._index.search(tenant_id, agent_id, query, k)

    def close(self) -> None:
        self._index.close()
