"""The embedded knowledge index: chunks in their own SQLite file, searched by BM25 and by meaning, fused.

Why this shape:
- BM25 finds exact words, names and codes ("SKU-4471"); dense vectors find paraphrases ("money back"
  for "refund"). Neither is enough alone, so both rankings are fused (`oratio.knowledge.fusion`).
  Without an embedder (the optional extra is not installed), or for chunks stored without a vector,
  search is BM25 only.
- The chunks table in SQLite is the source of truth (WAL, one connection per thread, `BEGIN IMMEDIATE`
  writes, by reusing `SqliteDatabase`). The search structures are derived from it, per (tenant, agent),
  in a directory beside the file (`oratio.knowledge.agent_index`: tantivy for BM25 with this agent's
  own statistics, a usearch HNSW graph for vectors with a small delta file of the latest writes
  beside it), updated in the write's transaction and rebuilt from the chunks table when they are
  lost or stale.
- Generations, not guesses: every write draws a new random token for the agent in the same
  transaction as its chunks; the structures carry the token of the state they hold. A search uses
  them only when their token is its snapshot's; otherwise it takes the write lock, and rebuilds them
  if they are still not current (a crash between the two commits, a deleted directory, a failed
  commit). Writers of every thread and process are serialised by SQLite's write lock, so the files
  have one writer at a time; readers never wait on a writer.
- A search reads in one transaction: the token, the chunk rows and the exact vectors of the dense
  candidates come from one snapshot, and the structures are that snapshot's generation, so a
  concurrent `replace_document` is seen entirely or not at all.
- Tenancy: each (tenant, agent) has structures of its own, and every chunk row a search returns or
  re-scores is read with its tenant and agent checked again.
- User text never reaches a query parser as syntax: the query is cut into words (letters and digits),
  each is quoted, so `"`, `NEAR(`, `AND` or `*` are plain (or no) words.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oratio.datadir import make_private_dirs
from oratio.errors import BackendUnavailable, ConfigError, InvalidInput
from oratio.knowledge.agent_index import AgentFiles, Row, Snapshot
from oratio.knowledge.fusion import fuse
from oratio.knowledge.ports import Embedder, KnowledgeHit
from oratio.store.sqlite import SqliteDatabase
from schemas import Chunk, Limits

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

logger = logging.getLogger("oratio.knowledge")

INDEX_SCHEMA_VERSION = 2  # 2: the search structures left SQLite (FTS5 dropped), agents got a generation token
CANDIDATES = 50  # how deep each ranking goes before fusion
K_MAX = 50
QUERY_TERMS_MAX = 64
CACHE_BYTES = 512 * 1024 * 1024  # open agents' vector graphs (about 85 MB per 100k chunks of 384 dimensions)

_SCHEMA = (
    # AUTOINCREMENT: ids are never reused, so an id in a search structure can never name another chunk.
    """CREATE TABLE IF NOT EXISTS chunks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id TEXT NOT NULL, agent_id TEXT NOT NULL, document_id TEXT NOT NULL,
        document_name TEXT NOT NULL, ordinal INTEGER NOT NULL, text TEXT NOT NULL, location TEXT NOT NULL,
        start_offset INTEGER NOT NULL, end_offset INTEGER NOT NULL,
        embedding BLOB, model_id TEXT, scope TEXT NOT NULL,
        UNIQUE (tenant_id, agent_id, document_id, ordinal))""",
    """CREATE TABLE IF NOT EXISTS agent_versions (
        tenant_id TEXT NOT NULL, agent_id TEXT NOT NULL, version INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, agent_id)) WITHOUT ROWID""",
)
_FROM_V1 = (
    "DROP TRIGGER IF EXISTS chunks_fts_insert",
    "DROP TRIGGER IF EXISTS chunks_fts_delete",
    "DROP TRIGGER IF EXISTS chunks_fts_update",
    "DROP TABLE IF EXISTS chunks_fts",
)
_CHUNK_COLUMNS = "c.id, c.document_id, c.document_name, c.ordinal, c.text, c.location, c.start_offset, c.end_offset"
_WORD = re.compile(r"[^\W_]+")  # letters and digits: what the tokenizer keeps


class _IndexDatabase(SqliteDatabase):
    """`SqliteDatabase` (pragmas, per-thread connections, `write()`) with the index's schema instead."""

    busy_message = "the knowledge index is busy; try again shortly"

    def _create_schema(self) -> None:
        with self.busy_is_unavailable():
            self.connection().execute("PRAGMA journal_mode = WAL")
        with self.write() as tx:
            found = int(tx.execute("PRAGMA user_version").fetchone()[0])
            if found > INDEX_SCHEMA_VERSION:
                raise ConfigError(
                    f"{self.path} has index schema version {found}, newer than this Oratio ({INDEX_SCHEMA_VERSION})"
                )
            for statement in _SCHEMA:
                tx.execute(statement)
            if found < 2:
                for statement in _FROM_V1:
                    tx.execute(statement)
                columns = {row[1] for row in tx.execute("PRAGMA table_info(agent_versions)")}
                if "token" not in columns:
                    tx.execute("ALTER TABLE agent_versions ADD COLUMN token TEXT NOT NULL DEFAULT ''")
                # Every agent with chunks gets a generation; its structures are built at its first search.
                tx.execute(
                    "INSERT OR IGNORE INTO agent_versions (tenant_id, agent_id, version, token)"
                    " SELECT DISTINCT tenant_id, agent_id, 1, '' FROM chunks"
                )
                tx.execute("UPDATE agent_versions SET token = lower(hex(randomblob(12))) WHERE token = ''")
            tx.execute(f"PRAGMA user_version = {INDEX_SCHEMA_VERSION}")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every statement in it sees the same committed snapshot."""
        conn = self.connection()
        with self.busy_is_unavailable():
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")


class HybridIndex:
    """Chunks of every tenant's agents in one SQLite file, searched per (tenant, agent).

    Thread-safe; several instances (or processes) may use the same file and its structures directory.
    """

    def __init__(self, path: Path, embedder: Embedder | None, *, cache_bytes: int = CACHE_BYTES) -> None:
        self._db = _IndexDatabase(path)
        self._embedder = embedder
        self._root = path.with_name(path.name + ".search")
        make_private_dirs(self._root)
        # Least recently searched agents' snapshots go first once their total passes `cache_bytes`.
        self._cache: OrderedDict[tuple[str, str], Snapshot] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._cache_lock = threading.Lock()

    @property
    def embedder(self) -> Embedder | None:
        return self._embedder

    # -- writes ---------------------------------------------------------------------------------

    def replace_document(
        self, tenant_id: str, agent_id: str, document_id: str, document_name: str, chunks: Sequence[Chunk]
    ) -> None:
        """Make `chunks` the document's only chunks, atomically. Idempotent.

        The chunks are embedded first, outside the transaction: a failure there leaves the previous
        version searchable, and the write lock is held only for the inserts and the structures' update.
        """
        rows, blobs = self._rows(tenant_id, agent_id, document_id, document_name, chunks)
        model_id = self._embedder.model_id if self._embedder is not None else None
        with self._db.write() as tx:
            removed = _document_ids(tx, tenant_id, agent_id, document_id)
            tx.execute(
                "DELETE FROM chunks WHERE tenant_id = ? AND agent_id = ? AND document_id = ?",
                (tenant_id, agent_id, document_id),
            )
            _insert(tx, rows)
            added = _document_ids(tx, tenant_id, agent_id, document_id)
            by_ordinal = {chunk.ordinal: (chunk, blob) for chunk, blob in zip(chunks, blobs, strict=True)}
            fresh = [
                self._row(chunk_id, document_id, by_ordinal[ordinal][0].text, by_ordinal[ordinal][1], model_id)
                for chunk_id, ordinal in added
            ]
            snapshot = self._advance(tx, tenant_id, agent_id, document_id, [i for i, _ in removed], fresh)
        self._remember(tenant_id, agent_id, snapshot)  # committed: this process's next search starts warm

    def import_documents(
        self, tenant_id: str, agent_id: str, documents: Sequence[tuple[str, str, Sequence[Chunk]]]
    ) -> None:
        """Load `documents` (id, name, chunks) into an agent that has no chunks: one transaction, one build.

        For imports and the bench's 100k-chunk agents: one write per document merges the vector delta
        and commits tantivy every few documents; here the structures are built once from the chunks
        table. The write lock is held for the whole build, so other agents' writes wait meanwhile: not a
        path for uploads.
        """
        if len({document[0] for document in documents}) != len(documents):
            raise InvalidInput("the documents to import repeat a document id")
        prepared = [self._rows(tenant_id, agent_id, *document)[0] for document in documents]
        with self._db.write() as tx:
            if _has_chunks(tx, tenant_id, agent_id):
                raise InvalidInput("documents are imported only into an agent without chunks")
            for rows in prepared:
                _insert(tx, rows)
            after = _bump_version(tx, tenant_id, agent_id)
            self._forget(tenant_id, agent_id)
            snapshot = self._files(tenant_id, agent_id).rebuild(after, self._all_rows(tx, tenant_id, agent_id))
        self._remember(tenant_id, agent_id, snapshot)

    def _rows(
        self, tenant_id: str, agent_id: str, document_id: str, document_name: str, chunks: Sequence[Chunk]
    ) -> tuple[list[tuple[Any, ...]], list[bytes | None]]:
        """The chunks table's rows of a document (its chunks checked and embedded here), and the vectors' bytes."""
        for chunk in chunks:
            if (chunk.tenant_id, chunk.agent_id, chunk.document_id) != (tenant_id, agent_id, document_id):
                raise InvalidInput(f"chunk {chunk.ordinal} belongs to another document than '{document_id}'")
        if len({chunk.ordinal for chunk in chunks}) != len(chunks):
            raise InvalidInput(f"the chunks of document '{document_id}' repeat an ordinal")
        blobs: list[bytes | None] = [None] * len(chunks)
        model_id: str | None = None
        if self._embedder is not None and chunks:
            blobs = list(_embed_blobs(self._embedder, [chunk.text for chunk in chunks]))
            model_id = self._embedder.model_id
        scope = _scope(tenant_id, agent_id)
        rows = [
            (
                tenant_id,
                agent_id,
                document_id,
                document_name,
                chunk.ordinal,
                chunk.text,
                chunk.location,
                chunk.start_offset,
                chunk.end_offset,
                blob,
                model_id if blob is not None else None,
                scope,
            )
            for chunk, blob in zip(chunks, blobs, strict=True)
        ]
        return rows, blobs

    def remove_document(self, tenant_id: str, agent_id: str, document_id: str) -> None:
        """Forget the document's chunks; a no-op if it has none."""
        with self._db.write() as tx:
            removed = _document_ids(tx, tenant_id, agent_id, document_id)
            if not removed:
                return
            tx.execute(
                "DELETE FROM chunks WHERE tenant_id = ? AND agent_id = ? AND document_id = ?",
                (tenant_id, agent_id, document_id),
            )
            snapshot = self._advance(tx, tenant_id, agent_id, document_id, [i for i, _ in removed], [])
        self._remember(tenant_id, agent_id, snapshot)

    def _advance(
        self,
        tx: sqlite3.Connection,
        tenant_id: str,
        agent_id: str,
        document_id: str,
        removed: list[int],
        added: list[Row],
    ) -> Snapshot:
        """Inside the write: a new generation token, and the structures moved to it (or rebuilt).

        The structures commit before SQLite does. If SQLite's commit then fails, they hold a token the
        chunks table never had, and the next search rebuilds them.
        """
        before = _token(tx, tenant_id, agent_id)
        after = _bump_version(tx, tenant_id, agent_id)
        cached = self._forget(tenant_id, agent_id)
        files = self._files(tenant_id, agent_id)
        snapshot = files.update(before, after, document_id, removed, added, cached) if before else None
        if snapshot is None:
            if before:
                logger.info("tenant=%s agent=%s | search structures rebuilt from the chunks", tenant_id, agent_id)
            snapshot = files.rebuild(after, self._all_rows(tx, tenant_id, agent_id))
        return snapshot

    # -- reads ----------------------------------------------------------------------------------

    def count(self, tenant_id: str, agent_id: str) -> int:
        rows = self._db.fetch("SELECT COUNT(*) FROM chunks WHERE tenant_id = ? AND agent_id = ?", (tenant_id, agent_id))
        return int(rows[0][0])

    def search(self, tenant_id: str, agent_id: str, query: str, k: int = 5) -> list[KnowledgeHit]:
        """The `k` best chunks for `query`: BM25 and dense rankings fused; score = fused score."""
        _check(query, k)
        query_vector = self._query_vector(query)
        words = query_words(query)
        with self._reading(tenant_id, agent_id) as (conn, snapshot):
            lexical = snapshot.bm25(words, CANDIDATES)
            dense = self._dense(conn, snapshot, tenant_id, agent_id, query_vector, CANDIDATES)
            return _hits(conn, tenant_id, agent_id, fuse(lexical, dense, k))

    def search_bm25(self, tenant_id: str, agent_id: str, query: str, k: int = 5) -> list[KnowledgeHit]:
        """BM25 only (this agent's statistics); score = BM25 (higher is better). For comparisons with `search`."""
        _check(query, k)
        words = query_words(query)
        with self._reading(tenant_id, agent_id) as (conn, snapshot):
            return _hits(conn, tenant_id, agent_id, snapshot.bm25(words, k))

    def search_dense(self, tenant_id: str, agent_id: str, query: str, k: int = 5) -> list[KnowledgeHit]:
        """Dense only; score = cosine similarity. Empty without an embedder. For comparisons with `search`."""
        _check(query, k)
        query_vector = self._query_vector(query)
        if query_vector is None:
            return []
        with self._reading(tenant_id, agent_id) as (conn, snapshot):
            return _hits(conn, tenant_id, agent_id, self._dense(conn, snapshot, tenant_id, agent_id, query_vector, k))

    def close(self) -> None:
        with self._cache_lock:
            self._cache.clear()
        self._db.close()

    # -- generations ----------------------------------------------------------------------------

    @contextmanager
    def _reading(self, tenant_id: str, agent_id: str) -> Iterator[tuple[sqlite3.Connection, Snapshot]]:
        """A read transaction and the agent's structures at its generation (repaired first if need be)."""
        for _ in range(3):
            with self._db.read() as conn:
                token = _token(conn, tenant_id, agent_id)
                snapshot = self._current(tenant_id, agent_id, token)
                if snapshot is not None:
                    yield conn, snapshot
                    return
            self._repair(tenant_id, agent_id)
        raise BackendUnavailable("the knowledge index is being rewritten; try again shortly")

    def _current(self, tenant_id: str, agent_id: str, token: str) -> Snapshot | None:
        key = (tenant_id, agent_id)
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None and cached.token == token:
                self._cache.move_to_end(key)
                return cached
        if not token:
            return _EMPTY
        snapshot = self._files(tenant_id, agent_id).open(token)
        if snapshot is not None:
            self._remember(tenant_id, agent_id, snapshot)
        return snapshot

    def _repair(self, tenant_id: str, agent_id: str) -> None:
        """Under the write lock (no writer can move the generation meanwhile): rebuild what is not current."""
        with self._db.write() as tx:
            token = _token(tx, tenant_id, agent_id)
            if not token:
                return
            files = self._files(tenant_id, agent_id)
            snapshot = files.open(token)
            if snapshot is None:
                logger.info("tenant=%s agent=%s | search structures rebuilt from the chunks", tenant_id, agent_id)
                snapshot = files.rebuild(token, self._all_rows(tx, tenant_id, agent_id))
        self._remember(tenant_id, agent_id, snapshot)

    def _remember(self, tenant_id: str, agent_id: str, snapshot: Snapshot) -> None:
        key = (tenant_id, agent_id)
        with self._cache_lock:
            self._cache[key] = snapshot
            self._cache.move_to_end(key)
            total = sum(s.nbytes for s in self._cache.values())
            while total > self._cache_bytes and len(self._cache) > 1:
                total -= self._cache.popitem(last=False)[1].nbytes

    def _forget(self, tenant_id: str, agent_id: str) -> Snapshot | None:
        """Drop the agent's snapshot from the cache; the one dropped, if any."""
        with self._cache_lock:
            return self._cache.pop((tenant_id, agent_id), None)

    def _files(self, tenant_id: str, agent_id: str) -> AgentFiles:
        embedder = self._embedder
        return AgentFiles(
            self._root / _scope(tenant_id, agent_id),
            embedder.model_id if embedder is not None else None,
            embedder.dimensions if embedder is not None else None,
        )

    def _row(self, chunk_id: int, document_id: str, text: str, blob: bytes | None, model_id: str | None) -> Row:
        vector = None
        if blob is not None and self._embedder is not None and model_id == self._embedder.model_id:
            vector = _vector(blob, self._embedder.dimensions)
        return Row(chunk_id, document_id, text, vector)

    def _all_rows(self, tx: sqlite3.Connection, tenant_id: str, agent_id: str) -> Iterator[Row]:
        cursor = tx.execute(
            "SELECT id, document_id, text, embedding, model_id FROM chunks WHERE tenant_id = ? AND agent_id = ?"
            " ORDER BY id",
            (tenant_id, agent_id),
        )
        for chunk_id, document_id, text, blob, model_id in cursor:
            yield self._row(int(chunk_id), document_id, text, blob, model_id)

    # -- dense side -----------------------------------------------------------------------------

    def _query_vector(self, query: str) -> NDArray[np.float32] | None:
        if self._embedder is None:
            return None
        import numpy as np

        vector = np.asarray(self._embedder.embed([query]), dtype=np.float32)
        if vector.shape != (1, self._embedder.dimensions):
            raise BackendUnavailable("the embedding model returned a vector of the wrong shape")
        row: NDArray[np.float32] = vector[0]
        return row

    def _dense(
        self,
        conn: sqlite3.Connection,
        snapshot: Snapshot,
        tenant_id: str,
        agent_id: str,
        query_vector: NDArray[np.float32] | None,
        n: int,
    ) -> list[tuple[int, float]]:
        """The graph's `n` nearest chunks, re-scored with their exact float vectors (cosine), best first."""
        if query_vector is None or self._embedder is None:
            return []
        # Twice as deep as asked: int8 quantisation blurs near-ties, the exact re-score below settles them.
        candidates = snapshot.nearest(query_vector, 2 * n)
        if not candidates:
            return []
        import numpy as np

        rows = conn.execute(
            f"SELECT id, embedding FROM chunks WHERE id IN ({', '.join('?' * len(candidates))})"
            " AND +tenant_id = ? AND +agent_id = ? AND +model_id = ?",
            [*candidates, tenant_id, agent_id, self._embedder.model_id],
        ).fetchall()
        dims = self._embedder.dimensions
        rows = [(chunk_id, blob) for chunk_id, blob in rows if blob is not None and len(blob) == dims * 4]
        if not rows:
            return []
        matrix = np.frombuffer(b"".join(blob for _, blob in rows), dtype="<f4").reshape(len(rows), dims)
        scores = matrix @ query_vector
        ranked = [(int(chunk_id), float(score)) for (chunk_id, _), score in zip(rows, scores, strict=True)]
        ranked.sort(key=lambda pair: (-pair[1], pair[0]))  # best first, ties by id
        return ranked[:n]


def _check(query: str, k: int) -> None:
    if not query.strip():
        raise InvalidInput("the search query is empty", field="query")
    if len(query) > Limits.TURN_TEXT_MAX:
        raise InvalidInput(f"the search query is longer than {Limits.TURN_TEXT_MAX} characters", field="query")
    if not 1 <= k <= K_MAX:
        raise InvalidInput(f"k must be between 1 and {K_MAX}", field="k")


def _scope(tenant_id: str, agent_id: str) -> str:
    """One name per (tenant, agent): the agent's structures directory (and the `scope` column of v1 files)."""
    return "s" + hashlib.sha256(f"{tenant_id}\x00{agent_id}".encode()).hexdigest()[:24]


# Function words that appear in nearly every chunk: OR-ing them makes BM25 score most rows (the
# cost of a search grows with their postings) while adding almost nothing to the ranking.
STOPWORDS = frozenset(
    "a an and are as at be but by can could do does for from had has have how i if in is it its me my no not of "
    "on or our so than that the their them then there these they this to was we were what when where which "
    "who why will with would you your".split()
)


def query_words(text: str) -> list[str]:
    """The words of `text` a BM25 query looks for: letters and digits, lowercased, deduplicated, at most 64.

    Stopwords are dropped unless the query has nothing else. The caller quotes each word, so query
    syntax in user text is inert.
    """
    words = list(dict.fromkeys(word.lower() for word in _WORD.findall(text)))
    terms = [word for word in words if word not in STOPWORDS] or words
    return terms[:QUERY_TERMS_MAX]


def _hits(
    conn: sqlite3.Connection, tenant_id: str, agent_id: str, ranked: list[tuple[int, float]]
) -> list[KnowledgeHit]:
    """The chunks of `ranked` (id, score), in that order; the scope is checked again on every row."""
    if not ranked:
        return []
    params: list[Any] = [*(chunk_id for chunk_id, _ in ranked), tenant_id, agent_id]
    rows = conn.execute(
        # Unary + keeps the planner on the rowid lookups instead of scanning the agent's index range.
        f"SELECT {_CHUNK_COLUMNS} FROM chunks c WHERE c.id IN ({', '.join('?' * len(ranked))})"
        " AND +c.tenant_id = ? AND +c.agent_id = ?",
        params,
    ).fetchall()
    by_id = {row[0]: row for row in rows}
    hits = []
    for chunk_id, score in ranked:
        row = by_id.get(chunk_id)
        if row is None:
            continue
        _, document_id, document_name, ordinal, text, location, start, end = row
        chunk = Chunk(
            tenant_id=tenant_id,
            agent_id=agent_id,
            document_id=document_id,
            ordinal=ordinal,
            text=text,
            location=location,
            start_offset=start,
            end_offset=end,
        )
        hits.append(KnowledgeHit(chunk=chunk, document_name=document_name, score=score))
    return hits


def _embed_blobs(embedder: Embedder, texts: list[str]) -> list[bytes]:
    import numpy as np

    matrix = np.asarray(embedder.embed(texts), dtype=np.float32)
    if matrix.shape != (len(texts), embedder.dimensions):
        raise BackendUnavailable("the embedding model returned vectors of the wrong shape")
    return [row.astype("<f4").tobytes() for row in matrix]


def _bump_version(tx: sqlite3.Connection, tenant_id: str, agent_id: str) -> str:
    """A new generation for the agent; the token is random, so a rolled-back write's is never seen again."""
    token = secrets.token_hex(12)
    tx.execute(
        "INSERT INTO agent_versions (tenant_id, agent_id, version, token) VALUES (?, ?, 1, ?)"
        " ON CONFLICT (tenant_id, agent_id) DO UPDATE SET version = version + 1, token = excluded.token",
        (tenant_id, agent_id, token),
    )
    return token


def _insert(tx: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    tx.executemany(
        "INSERT INTO chunks (tenant_id, agent_id, document_id, document_name, ordinal, text, location,"
        " start_offset, end_offset, embedding, model_id, scope) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def _has_chunks(tx: sqlite3.Connection, tenant_id: str, agent_id: str) -> bool:
    found = tx.execute("SELECT 1 FROM chunks WHERE tenant_id = ? AND agent_id = ? LIMIT 1", (tenant_id, agent_id))
    return found.fetchone() is not None


def _token(conn: sqlite3.Connection, tenant_id: str, agent_id: str) -> str:
    """The agent's generation token; empty for an agent that never had a chunk."""
    row = conn.execute(
        "SELECT token FROM agent_versions WHERE tenant_id = ? AND agent_id = ?", (tenant_id, agent_id)
    ).fetchone()
    return str(row[0]) if row else ""


def _document_ids(tx: sqlite3.Connection, tenant_id: str, agent_id: str, document_id: str) -> list[tuple[int, int]]:
    """(chunk id, ordinal) of the document's chunks."""
    rows = tx.execute(
        "SELECT id, ordinal FROM chunks WHERE tenant_id = ? AND agent_id = ? AND document_id = ?",
        (tenant_id, agent_id, document_id),
    ).fetchall()
    return [(int(chunk_id), int(ordinal)) for chunk_id, ordinal in rows]


def _vector(blob: bytes, dimensions: int) -> NDArray[np.float32] | None:
    if len(blob) != dimensions * 4:
        return None
    import numpy as np

    vector: NDArray[np.float32] = np.frombuffer(blob, dtype="<f4").astype(np.float32)
    return vector


_EMPTY = Snapshot("", None, None, None, 0)  # an agent that never had a chunk: nothing to open

__all__ = ["CANDIDATES", "K_MAX", "HybridIndex", "query_words"]
