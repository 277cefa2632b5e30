"""Tenant isolation in the knowledge index's search structures (one tantivy index and one vector graph per agent).

What this pins: another tenant's documents never move this tenant's BM25 scores (statistics are per
agent; FTS5 shared them across the file), a structures directory that is not the agent's own is never
served, and a lost directory is rebuilt from this agent's chunks only.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from oratio.knowledge.index import HybridIndex
from tests.support.knowledge_corpus import AGENT, OTHER_AGENT, OTHER_TENANT, TENANT, chunks, load_corpus
from tests.support.knowledge_files import knowledge_db, opened_index, structures

pytest.importorskip("usearch", reason="the embeddings extra is not installed")

NOISE = [f"Refund request {n}: the refund of order {n} is refused, refund again later." for n in range(200)]
SECRET = "Vault code of the other tenant: zebra-orchid-4471."


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return knowledge_db(tmp_path)


@pytest.fixture
def index(db: Path) -> Iterator[HybridIndex]:
    with opened_index(db) as opened:
        yield opened


def scores(index: HybridIndex, tenant: str, agent: str, query: str) -> list[tuple[str, int, float]]:
    return [(h.chunk.document_id, h.chunk.ordinal, h.score) for h in index.search_bm25(tenant, agent, query, 10)]


def agent_dir(db: Path, index: HybridIndex, tenant: str, agent: str) -> Path:
    """The directory of (tenant, agent): the one that appears when only that agent is written."""
    return structures(db) / index._files(tenant, agent).directory.name


def test_another_tenants_documents_do_not_change_this_tenants_bm25_scores(index: HybridIndex) -> None:
    load_corpus(index)
    before = scores(index, TENANT, AGENT, "refund within 30 days")
    assert before
    for tenant, agent in ((OTHER_TENANT, AGENT), (TENANT, OTHER_AGENT)):
        index.replace_document(tenant, agent, "doc_noise", "noise.md", chunks(tenant, agent, "doc_noise", NOISE))
    assert scores(index, TENANT, AGENT, "refund within 30 days") == before


def test_another_agents_structures_put_in_place_are_never_served(db: Path, index: HybridIndex) -> None:
    load_corpus(index)
    before = scores(index, TENANT, AGENT, "refund")
    secret = chunks(OTHER_TENANT, OTHER_AGENT, "doc_vault", [SECRET])
    index.replace_document(OTHER_TENANT, OTHER_AGENT, "doc_vault", "vault.md", secret)
    index.close()
    mine, theirs = agent_dir(db, index, TENANT, AGENT), agent_dir(db, index, OTHER_TENANT, OTHER_AGENT)
    assert mine.is_dir() and theirs.is_dir()
    shutil.rmtree(mine)
    shutil.copytree(theirs, mine)  # a swapped or restored directory: its generation token is not this agent's
    with opened_index(db) as reopened:
        for search in (reopened.search, reopened.search_bm25, reopened.search_dense):
            assert all(h.chunk.tenant_id == TENANT for h in search(TENANT, AGENT, "vault code zebra orchid", 50))
        assert scores(reopened, TENANT, AGENT, "refund") == before


def test_a_lost_directory_is_rebuilt_from_this_agents_chunks_only(db: Path, index: HybridIndex) -> None:
    load_corpus(index)
    index.replace_document(
        OTHER_TENANT, AGENT, "doc_vault", "vault.md", chunks(OTHER_TENANT, AGENT, "doc_vault", [SECRET])
    )
    index.close()
    shutil.rmtree(db.with_name(db.name + ".search"))
    with opened_index(db) as reopened:
        for search in (reopened.search, reopened.search_bm25, reopened.search_dense):
            hits = search(TENANT, AGENT, "vault code zebra orchid", 50)
            assert all(h.chunk.tenant_id == TENANT and h.chunk.document_id != "doc_vault" for h in hits)
        assert [h.chunk.text for h in reopened.search_bm25(OTHER_TENANT, AGENT, "zebra orchid")] == [SECRET]
