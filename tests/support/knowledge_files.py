"""The local knowledge index on disk, for tests that reopen it or inspect, lose or forge its files.

The chunks live in the SQLite file `db`; the search structures in `<db>.search/<one directory per
agent>/`: the tantivy `lexicon/`, the vector graph `vectors-<model>-<token>.usearch` and the write
deltas `delta-<model>-<token>.bin` (oratio/knowledge/delta.py). Shared by tests/knowledge and the
reliability tests of those files, so both read the same layout.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from oratio.knowledge.index import HybridIndex
from tests.support.embedders import WordHashEmbedder
from tests.support.knowledge_corpus import AGENT, TENANT

REBUILT = "search structures rebuilt"
"""What the index logs when it rebuilds its structures from the chunks table (a lost, stale or foreign file)."""


def knowledge_db(tmp_path: Path) -> Path:
    """Where a test's index keeps its chunks."""
    return tmp_path / "knowledge.db"


@contextmanager
def opened_index(db: Path) -> Iterator[HybridIndex]:
    """An index on `db` with the word-hash embedder (no model), closed at the end; a second one on the
    same file is how a test sees what another process, or a restart, would."""
    index = HybridIndex(db, WordHashEmbedder())
    try:
        yield index
    finally:
        index.close()


def structures(db: Path) -> Path:
    return db.with_name(db.name + ".search")


def agent_dirs(db: Path) -> list[Path]:
    return sorted(structures(db).iterdir())


def agent_dir(db: Path) -> Path:
    """The structures of the only agent written."""
    (only,) = agent_dirs(db)
    return only


def graphs(db: Path) -> list[Path]:
    """The only agent's vector graph files (one once older generations are cleaned up)."""
    return sorted(agent_dir(db).glob("vectors-*.usearch"))


def delta_files(db: Path) -> list[Path]:
    """The only agent's delta files."""
    return sorted(agent_dir(db).glob("delta-*.bin"))


def delta_in(directory: Path) -> Path:
    """The one delta file in an agent's structures directory."""
    (only,) = directory.glob("delta-*.bin")
    return only


def dense(index: HybridIndex, query: str, *, agent: str = AGENT, k: int = 50) -> list[tuple[str, int]]:
    """(document, ordinal) of the vector search's hits for TENANT's `agent`."""
    return [(h.chunk.document_id, h.chunk.ordinal) for h in index.search_dense(TENANT, agent, query, k)]
