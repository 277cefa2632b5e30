"""`HybridIndex.import_documents`: many documents into an empty agent in one transaction and one build."""

from __future__ import annotations

from pathlib import Path

import pytest

from oratio.errors import InvalidInput
from oratio.knowledge.index import HybridIndex
from schemas import Chunk
from tests.support.embedders import WordHashEmbedder
from tests.support.knowledge_corpus import AGENT, FAQ, MANUAL, OTHER_AGENT, TENANT, chunks, load_corpus

pytest.importorskip("usearch", reason="the embeddings extra is not installed")

QUERIES = ["refund within 30 days", "clean the lens", "password security link"]


def served(index: HybridIndex, agent: str) -> list[list[tuple[str, int, float]]]:
    return [
        [(h.chunk.document_id, h.chunk.ordinal, round(h.score, 6)) for h in index.search(TENANT, agent, query, 10)]
        for query in QUERIES
    ]


def documents(agent: str) -> list[tuple[str, str, list[Chunk]]]:
    return [
        ("doc_faq", "faq.md", chunks(TENANT, agent, "doc_faq", FAQ)),
        ("doc_manual", "manual.pdf", chunks(TENANT, agent, "doc_manual", MANUAL)),
    ]


def test_an_import_serves_what_the_same_documents_written_one_by_one_serve(tmp_path: Path) -> None:
    index = HybridIndex(tmp_path / "knowledge.db", WordHashEmbedder())
    try:
        load_corpus(index, TENANT, AGENT)
        index.import_documents(TENANT, OTHER_AGENT, documents(OTHER_AGENT))
        assert index.count(TENANT, OTHER_AGENT) == len(FAQ) + len(MANUAL)
        assert served(index, OTHER_AGENT) == served(index, AGENT)
        # Later writes move the imported agent's structures as usual.
        index.remove_document(TENANT, OTHER_AGENT, "doc_faq")
        assert all(h.chunk.document_id == "doc_manual" for h in index.search(TENANT, OTHER_AGENT, "refund", 10))
    finally:
        index.close()
    reopened = HybridIndex(tmp_path / "knowledge.db", WordHashEmbedder())
    try:
        assert reopened.count(TENANT, OTHER_AGENT) == len(MANUAL)
    finally:
        reopened.close()


def test_an_import_into_an_agent_with_chunks_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    index = HybridIndex(tmp_path / "knowledge.db", WordHashEmbedder())
    try:
        load_corpus(index, TENANT, AGENT)
        before = served(index, AGENT)
        with pytest.raises(InvalidInput, match="without chunks"):
            index.import_documents(TENANT, AGENT, [("doc_new", "new.md", chunks(TENANT, AGENT, "doc_new", FAQ))])
        assert served(index, AGENT) == before
        assert index.count(TENANT, AGENT) == len(FAQ) + len(MANUAL)
    finally:
        index.close()


def test_an_import_repeating_a_document_or_holding_anothers_chunks_is_refused(tmp_path: Path) -> None:
    index = HybridIndex(tmp_path / "knowledge.db", WordHashEmbedder())
    try:
        twice = [*documents(AGENT), ("doc_faq", "again.md", chunks(TENANT, AGENT, "doc_faq", FAQ))]
        with pytest.raises(InvalidInput, match="repeat a document id"):
            index.import_documents(TENANT, AGENT, twice)
        foreign = [("doc_faq", "faq.md", chunks(TENANT, OTHER_AGENT, "doc_faq", FAQ))]
        with pytest.raises(InvalidInput, match="another document"):
            index.import_documents(TENANT, AGENT, foreign)
        assert index.count(TENANT, AGENT) == 0
    finally:
        index.close()
