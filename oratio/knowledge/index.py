"""The embedded knowledge index: chunks in their own SQLite file, searched by BM25 and by meaning, fused.

Why this shape:
- BM25 (SQLite FTS5) finds exact words, names and codes ("SKU-4471"); dense vectors find paraphrases
  ("money back" for "refund"). Neither is enough alone, so both rankings are fused with Reciprocal
  Rank Fusion, which needs no score calibration between them. Without an embedder (the optional extra
  is not installed), or for chunks stored without a vector, search is BM25 only.
- A file of its own: the index is derived data (rebuildable from the stored documents) with a schema
  of its own; it follows the record store's SQLite rules (WAL, one connection per thread,
  `BEGIN IMMEDIATE` writes) by reusing `SqliteDatabase`.
- Tenancy: every query filters on (tenant_id, agent_id). The FTS side also matches a per-agent scope
  token, so a keyword search costs the agent's postings rather than every tenant's.
- User text never reaches FTS5 as syntax: the query is cut into words, each is quoted, and they are
  OR-ed, so `"`, `NEAR(` or `*` are plain (or no) words.
- Dense search is a numpy dot product over the agent's vectors, held in memory per (tenant, agent).
  Writes bump a per-agent version row in the same transaction; a search compares it with the cached
  matrix's, so writes by other instances or processes are seen at the next search.
- A search reads in one transaction: the version, the vectors, the BM25 rows and the chunk rows come
  from one snapshot, so a concurrent `replace_document` is seen entirely or not at all.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oratio.errors import BackendUnavailable, ConfigError, InvalidInput
from oratio.knowledge.fusion import RRF_K, fuse
from oratio.knowledge.ports import Embedder, KnowledgeHit
from oratio.store.sqlite import SqliteDatabase
from schemas import Chunk, Limits

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

INDEX_SCHEMA_VERSION = 1
CANDIDATES = 50  # how deep each ranking goes before fusion
K_MAX = 50
QUERY_TERMS_MAX = 64
CACHE_BYTES = 256 * 1024 * 1024  # 1k chunks of 384 floats take 1.5 MB

_SCHEMA = (
    # AUTOINCREMENT: ids are never reused, so a cached id can never name another chunk.
    """CREATE TABLE IF NOT EXISTS chunks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id TEXT NOT NULL, agent_id TEXT NOT NULL, document_id TEXT NOT NULL,
        document_name TEXT NOT NULL, ordinal INTEGER NOT NULL, text TEXT NOT NULL, location TEXT NOT NULL,
        start_offset INTEGER NOT NULL, end_offset INTEGER NOT NULL,
        embedding BLOB, model_id TEXT, scope TEXT NOT NULL,
        UNIQUE (tenant_id, agent_id, document_id, ordinal))""",
    # External content: the text is stored once, in `chunks`; the triggers keep the FTS index in step.
    """CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
        text, scope, content='chunks', content_rowid='id', tokenize='porter unicode61')""",
    """CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN
        INSERT INTO chunks_fts (rowid, text, scope) VALUES (new.id, new.text, new.scope); END""",
    """CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
        INSERT INTO chunks_fts (chunks_fts, rowid, text, scope) VALUES ('delete', old.id, old.text, old.scope); END""",
    """CREATE TRIGGER IF NOT EXISTS chunks_fts_update AFTER UPDATE ON chunks BEGIN
        INSERT INTO chunks_fts (chunks_fts, rowid, text, scope) VALUES ('delete', old.id, old.text, old.scope);
        INSERT INTO chunks_fts (rowid, text, scope) VALUES (new.id, new.text, new.scope); END""",
    """CREATE TABLE IF NOT EXISTS agent_versions (
        tenant_id TEXT NOT NULL, agent_id TEXT NOT NULL, version INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, agent_id)) WITHOUT ROWID""",
)
_CHUNK_COLUMNS = "c.id, c.document_id, c.document_name, c.ordinal, c.text, c.location, c.start_offset, c.end_offset"
_WORD = re.compile(r"[^\W_]+")  # letters and digits: what the unicode61 tokenizer keeps


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
            try:
                for statement in _SCHEMA:
                    tx.execute(statement)
            except sqlite3.OperationalError as exc:
                if "fts5" in str(exc):
                    raise ConfigError("this Python's SQLite has no FTS5; the knowledge index needs it") from exc
                raise
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


@dataclass(frozen=True)
class _Vectors:
    """One agent's vectors for one model, as of `version` of the agent's chunks."""

    version: int
    ids: NDArray[np.int64]
    matrix: NDArray[np.float32]  # (len(ids), dimensions), rows L2-normalised


class HybridIndex:
    """Chunks of every tenant's agents in one SQLite file, searched per (tenant, agent).

    Thread-safe; several instances (or processes) may use the same file.
    """

    def __init__(self, path: Path, embedder: Embedder | None, *, cache_bytes: int = CACHE_BYTES) -> None:
        self._db = _IndexDatabase(path)
        self._embedder = embedder
        # Least recently searched agents' vectors go first once their total passes `cache_bytes`.
        self._cache: OrderedDict[tuple[str, str], _Vectors] = OrderedDict()
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
        version searchable, and the write lock is held only for the inserts.
        """
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
        with self._db.write() as tx:
            tx.execute(
                "DELETE FROM chunks WHERE tenant_id = ? AND agent_id = ? AND document_id = ?",
                (tenant_id, agent_id, document_id),
            )
            tx.executemany(
                "INSERT INTO chunks (tenant_id, agent_id, document_id, document_name, ordinal, text, location,"
                " start_offset, end_offset, embedding, model_id, scope) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            _bump_version(tx, tenant_id, agent_id)
        self._forget(tenant_id, agent_id)

    def remove_document(self, tenant_id: str, agent_id: str, document_id: str) -> None:
        """Forget the document's chunks; a no-op if it has none."""
        with self._db.write() as tx:
            cur = tx.execute(
                "DELETE FROM chunks WHERE tenant_id = ? AND agent_id = ? AND document_id = ?",
                (tenant_id, agent_id, document_id),
            )
            if cur.rowcount > 0:
                _bump_version(tx, tenant_id, agent_id)
        self._forget(tenant_id, agent_id)

    # -- reads ----------------------------------------------------------------------------------

    def count(self, tenant_id: str, agent_id: str) -> int:
        rows = self._db.fetch("SELECT COUNT(*) FROM chunks WHERE tenant_id = ? AND agent_id = ?", (tenant_id, agent_id))
        return int(rows[0][0])

    def search(self, tenant_id: str, agent_id: str, query: str, k: int = 5) -> list[KnowledgeHit]:
        """The `k` best chunks for `query`: BM25 and dense rankings fused by RRF; score = fused score."""
        _check(query, k)
        query_vector = self._query_vector(query)
        with self._db.read() as conn:
            lexical = _bm25(conn, tenant_id, agent_id, query, CANDIDATES)
            dense = self._dense(conn, tenant_id, agent_id, query_vector, CANDIDATES) if query_vector is not None else []
            return _hits(conn, tenant_id, agent_id, fuse(lexical, dense, k))

    def search_bm25(self, tenant_id: str, agent_id: str, query: str, k: int = 5) -> list[KnowledgeHit]:
        """BM25 only; score = -bm25() (higher is better). For comparisons with `search`."""
        _check(query, k)
        with self._db.read() as conn:
            return _hits(conn, tenant_id, agent_id, _bm25(conn, tenant_id, agent_id, query, k))

    def search_dense(self, tenant_id: str, agent_id: str, query: str, k: int = 5) -> list[KnowledgeHit]:
        """Dense only; score = cosine similarity. Empty without an embedder. For comparisons with `search`."""
        _check(query, k)
        query_vector = self._query_vector(query)
        if query_vector is None:
            return []
        with self._db.read() as conn:
            return _hits(conn, tenant_id, agent_id, self._dense(conn, tenant_id, agent_id, query_vector, k))

    def close(self) -> None:
        with self._cache_lock:
            self._cache.clear()
        self._db.close()

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
        self, conn: sqlite3.Connection, tenant_id: str, agent_id: str, query_vector: NDArray[np.float32], n: int
    ) -> list[tuple[int, float]]:
        import numpy as np

        vectors = self._vectors(conn, tenant_id, agent_id)
        if vectors is None or len(vectors.ids) == 0:
            return []
        scores = vectors.matrix @ query_vector
        if len(scores) > n:
            top = np.argpartition(-scores, n)[:n]
        else:
            top = np.arange(len(scores))
        top = top[np.lexsort((vectors.ids[top], -scores[top]))]  # best first, ties by id
        return [(int(vectors.ids[i]), float(scores[i])) for i in top]

    def _vectors(self, conn: sqlite3.Connection, tenant_id: str, agent_id: str) -> _Vectors | None:
        """The agent's vectors as of the reading transaction's snapshot, from the cache when still current."""
        assert self._embedder is not None
        import numpy as np

        row = conn.execute(
            "SELECT version FROM agent_versions WHERE tenant_id = ? AND agent_id = ?", (tenant_id, agent_id)
        ).fetchone()
        version = int(row[0]) if row else 0
        key = (tenant_id, agent_id)
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None and cached.version == version:
                self._cache.move_to_end(key)
                return cached
        dims = self._embedder.dimensions
        rows = conn.execute(
            "SELECT id, embedding FROM chunks WHERE tenant_id = ? AND agent_id = ? AND model_id = ?"
            " AND embedding IS NOT NULL ORDER BY id",
            (tenant_id, agent_id, self._embedder.model_id),
        ).fetchall()
        rows = [(chunk_id, blob) for chunk_id, blob in rows if len(blob) == dims * 4]
        ids = np.fromiter((chunk_id for chunk_id, _ in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(b"".join(blob for _, blob in rows), dtype="<f4").reshape(len(rows), dims)
        vectors = _Vectors(version=version, ids=ids, matrix=matrix.astype(np.float32, copy=False))
        with self._cache_lock:
            current = self._cache.get(key)
            if current is None or current.version <= version:  # never replace a newer snapshot's
                self._cache[key] = vectors
                self._cache.move_to_end(key)
                total = sum(v.matrix.nbytes for v in self._cache.values())
                while total > self._cache_bytes and len(self._cache) > 1:
                    total -= self._cache.popitem(last=False)[1].matrix.nbytes
        return vectors

    def _forget(self, tenant_id: str, agent_id: str) -> None:
        with self._cache_lock:
            self._cache.pop((tenant_id, agent_id), None)


def _check(query: str, k: int) -> None:
    if not query.strip():
        raise InvalidInput("the search query is empty", field="query")
    if len(query) > Limits.TURN_TEXT_MAX:
        raise InvalidInput(f"the search query is longer than {Limits.TURN_TEXT_MAX} characters", field="query")
    if not 1 <= k <= K_MAX:
        raise InvalidInput(f"k must be between 1 and {K_MAX}", field="k")


def _scope(tenant_id: str, agent_id: str) -> str:
    """One FTS token per (tenant, agent): letters and digits only, so unicode61 keeps it whole."""
    return "s" + hashlib.sha256(f"{tenant_id}\x00{agent_id}".encode()).hexdigest()[:24]


# Function words that appear in nearly every chunk: OR-ing them makes FTS5 score most rows (the
# benchmark's 100k-chunk BM25 latency) while adding almost nothing to the ranking.
STOPWORDS = frozenset(
    "a an and are as at be but by can could do does for from had has have how i if in is it its me my no not of "
    "on or our so than that the their them then there these they this to was we were what when where which "
    "who why will with would you your".split()
)


def fts_query(text: str, scope: str) -> str | None:
    """An FTS5 query matching any word of `text` in this scope, or None if `text` has no words.

    Each word is quoted (a word has no quote in it), so FTS5 operators in user text are inert.
    Stopwords are dropped unless the query has nothing else.
    """
    words = list(dict.fromkeys(word.lower() for word in _WORD.findall(text)))
    terms = [word for word in words if word not in STOPWORDS] or words
    terms = terms[:QUERY_TERMS_MAX]
    if not terms:
        return None
    return f'scope : "{scope}" AND text : (' + " OR ".join(f'"{term}"' for term in terms) + ")"


def _bm25(conn: sqlite3.Connection, tenant_id: str, agent_id: str, query: str, n: int) -> list[tuple[int, float]]:
    match = fts_query(query, _scope(tenant_id, agent_id))
    if match is None:
        return []
    # Weight 0 for the scope column: the scope token filters but does not score.
    rows = conn.execute(
        "SELECT c.id, bm25(chunks_fts, 1.0, 0.0) AS s FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid"
        " WHERE chunks_fts MATCH ? AND c.tenant_id = ? AND c.agent_id = ? ORDER BY s, c.id LIMIT ?",
        (match, tenant_id, agent_id, n),
    ).fetchall()
    return [(int(chunk_id), -float(score)) for chunk_id, score in rows]


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


def _bump_version(tx: sqlite3.Connection, tenant_id: str, agent_id: str) -> None:
    tx.execute(
        "INSERT INTO agent_versions (tenant_id, agent_id, version) VALUES (?, ?, 1)"
        " ON CONFLICT (tenant_id, agent_id) DO UPDATE SET version = version + 1",
        (tenant_id, agent_id),
    )


__all__ = ["CANDIDATES", "K_MAX", "RRF_K", "HybridIndex", "fts_query"]
