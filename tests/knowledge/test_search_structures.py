"""The search structures beside the chunks file: persisted, moved per write, rebuilt when lost or stale.

The chunks table is the source of truth; the structures (tantivy for BM25, a usearch graph for vectors)
carry the generation token of the state they hold, and a search uses them only at its snapshot's token.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from oratio.knowledge.index import HybridIndex
from tests.support.knowledge_corpus import AGENT, FAQ, MANUAL, RETURNS, TENANT, chunks, first, load_corpus
from tests.support.knowledge_files import REBUILT, agent_dir, knowledge_db, opened_index, structures

pytest.importorskip("usearch", reason="the embeddings extra is not installed")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return knowledge_db(tmp_path)


@pytest.fixture
def index(db: Path) -> Iterator[HybridIndex]:
    with opened_index(db) as opened:
        yield opened


def results(index: HybridIndex, query: str) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    bm25 = [(h.chunk.document_id, h.chunk.ordinal) for h in index.search_bm25(TENANT, AGENT, query, 10)]
    dense = [(h.chunk.document_id, h.chunk.ordinal) for h in index.search_dense(TENANT, AGENT, query, 10)]
    return bm25, dense


def test_the_structures_are_persisted_beside_the_file_and_serve_a_new_instance(db: Path, index: HybridIndex) -> None:
    load_corpus(index)
    before = results(index, "refund within 30 days")
    assert (agent_dir(db) / "lexicon").is_dir()
    assert len(list(agent_dir(db).glob("vectors-*.usearch"))) == 1  # older generations' files are gone
    with opened_index(db) as reader:
        assert results(reader, "refund within 30 days") == before


def test_writes_move_the_structures_without_a_rebuild(
    db: Path, index: HybridIndex, caplog: pytest.LogCaptureFixture
) -> None:
    load_corpus(index)
    caplog.set_level(logging.INFO, logger="oratio.knowledge")
    index.replace_document(TENANT, AGENT, "doc_returns", "returns.md", chunks(TENANT, AGENT, "doc_returns", RETURNS))
    assert first(index.search_bm25(TENANT, AGENT, "parcel label")) == ("doc_returns", 0)
    assert first(index.search_dense(TENANT, AGENT, "returns label parcel")) == ("doc_returns", 0)
    index.remove_document(TENANT, AGENT, "doc_faq")
    assert index.search_bm25(TENANT, AGENT, "refund") == []
    assert all(h.chunk.document_id != "doc_faq" for h in index.search_dense(TENANT, AGENT, "refund", 50))
    assert REBUILT not in caplog.text
    assert agent_dir(db).is_dir()


def test_lost_structures_are_rebuilt_from_the_chunks(
    db: Path, index: HybridIndex, caplog: pytest.LogCaptureFixture
) -> None:
    load_corpus(index)
    before = results(index, "clean the lens")
    index.close()
    assert structures(db).is_dir()
    shutil.rmtree(structures(db))
    caplog.set_level(logging.INFO, logger="oratio.knowledge")
    with opened_index(db) as reopened:
        assert results(reopened, "clean the lens") == before
        assert reopened.count(TENANT, AGENT) == len(FAQ) + len(MANUAL)
    assert REBUILT in caplog.text


def test_a_torn_vector_file_is_rebuilt(db: Path, index: HybridIndex, caplog: pytest.LogCaptureFixture) -> None:
    load_corpus(index)
    before = results(index, "password security link")
    index.close()
    (vectors,) = agent_dir(db).glob("vectors-*.usearch")
    vectors.write_bytes(vectors.read_bytes()[:100])
    caplog.set_level(logging.INFO, logger="oratio.knowledge")
    with opened_index(db) as reopened:
        assert results(reopened, "password security link") == before
    assert REBUILT in caplog.text


def test_chunks_written_behind_the_structures_back_are_detected_by_their_generation(
    db: Path, index: HybridIndex, caplog: pytest.LogCaptureFixture
) -> None:
    """As after a crash between the structures' commit and SQLite's, or a restored chunks file."""
    load_corpus(index)
    index.search(TENANT, AGENT, "refund")  # warm: this instance holds the agent's snapshot
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO chunks (tenant_id, agent_id, document_id, document_name, ordinal, text, location,"
            " start_offset, end_offset, embedding, model_id, scope) VALUES (?, ?, 'doc_new', 'new.md', 0,"
            " 'Gift cards never expire.', 'page 1', 0, 24, NULL, NULL, 's')",
            (TENANT, AGENT),
        )
        conn.execute("UPDATE agent_versions SET token = 'restored' WHERE tenant_id = ?", (TENANT,))
    caplog.set_level(logging.INFO, logger="oratio.knowledge")
    assert first(index.search_bm25(TENANT, AGENT, "gift cards")) == ("doc_new", 0)
    assert REBUILT in caplog.text


def test_another_process_writes_and_this_one_sees_it_at_its_next_search(db: Path, index: HybridIndex) -> None:
    load_corpus(index)
    assert index.search_bm25(TENANT, AGENT, "loyalty points") == []  # warm, at the old generation
    code = f"""
from pathlib import Path
from oratio.knowledge.index import HybridIndex
from tests.support.knowledge_corpus import chunks
from tests.support.embedders import WordHashEmbedder
index = HybridIndex(Path({str(db)!r}), WordHashEmbedder())
texts = ["Loyalty points are credited a day after delivery."]
written = chunks({TENANT!r}, {AGENT!r}, "doc_points", texts)
index.replace_document({TENANT!r}, {AGENT!r}, "doc_points", "points.md", written)
index.close()
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert first(index.search_bm25(TENANT, AGENT, "loyalty points")) == ("doc_points", 0)
    assert first(index.search_dense(TENANT, AGENT, "loyalty points credited delivery")) == ("doc_points", 0)


def test_a_file_of_the_fts5_schema_is_upgraded_and_its_chunks_stay_searchable(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.executescript(V1_SCHEMA)
        conn.execute(
            "INSERT INTO chunks (tenant_id, agent_id, document_id, document_name, ordinal, text, location,"
            " start_offset, end_offset, embedding, model_id, scope) VALUES (?, ?, 'doc_old', 'old.md', 0,"
            " 'Opening hours are nine to five.', 'page 1', 0, 31, NULL, NULL, 's')",
            (TENANT, AGENT),
        )
        conn.execute("INSERT INTO agent_versions VALUES (?, ?, 1)", (TENANT, AGENT))
        conn.execute("PRAGMA user_version = 1")
    with opened_index(db) as upgraded:
        assert first(upgraded.search_bm25(TENANT, AGENT, "opening hours")) == ("doc_old", 0)
    with sqlite3.connect(db) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    assert "chunks_fts" not in tables and version == 2


V1_SCHEMA = """
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL, agent_id TEXT NOT NULL, document_id TEXT NOT NULL,
    document_name TEXT NOT NULL, ordinal INTEGER NOT NULL, text TEXT NOT NULL, location TEXT NOT NULL,
    start_offset INTEGER NOT NULL, end_offset INTEGER NOT NULL,
    embedding BLOB, model_id TEXT, scope TEXT NOT NULL,
    UNIQUE (tenant_id, agent_id, document_id, ordinal));
CREATE VIRTUAL TABLE chunks_fts USING fts5(text, scope, content='chunks', content_rowid='id',
    tokenize='porter unicode61');
CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts (rowid, text, scope) VALUES (new.id, new.text, new.scope); END;
CREATE TABLE agent_versions (
    tenant_id TEXT NOT NULL, agent_id TEXT NOT NULL, version INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, agent_id)) WITHOUT ROWID;
"""
