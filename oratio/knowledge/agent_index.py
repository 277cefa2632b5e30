"""One agent's search structures, on disk beside the chunks file: BM25 (tantivy) and vectors (usearch HNSW).

Why this shape (figures in the commit that brought it, measured by `bench/knowledge.py`):
- tantivy: a Rust inverted index with BM25, updated in place (delete a document's postings, add the
  new ones, commit), persisted, and one index per (tenant, agent), so document frequencies and lengths
  are this agent's alone: another tenant's documents never move this agent's scores. FTS5 scored every
  row matching any query word (121 ms at 100k chunks); bm25s rebuilds its matrices on every write.
- usearch: an HNSW graph over int8-quantised cosine vectors, saved to a file and memory-mapped by
  readers, so a reader in another process opens a new generation without loading it. Brute force
  (numpy float32, usearch's int8 exact search) costs tens of milliseconds at 100k rows; the graph
  costs well under one. A write does not rewrite the graph (0.3 s at 100k chunks): it writes a small
  delta file (`oratio.knowledge.delta`: tombstones and added rows, searched exactly beside the graph),
  merged into a new graph file once it holds `MERGE_ROWS` entries.
- A generation token: the chunks table (the source of truth) carries a random token per agent, drawn
  again on every write. A marker file beside the tantivy index names the token of the postings it
  holds (removed before each commit, written after it); the delta file carries it in its name and
  names the graph file it applies to (a graph file without a delta is current only at its own
  token). A structure whose token is not the chunks table's is stale or half-written (a crash
  between the two commits, a failed SQLite commit, a lost file) and is
  rebuilt from the chunks table: detected, never guessed.
- Nothing here is thread- or process-safe by itself: `HybridIndex` changes these files only while it
  holds the SQLite write lock, which serialises writers across threads and processes.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import tantivy

from oratio.datadir import make_private_dirs
from oratio.knowledge import delta as deltas
from oratio.knowledge.delta import MERGE_ROWS, Delta

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from usearch.index import Index as VectorGraph

WRITE_HEAP = 32 * 1024 * 1024  # tantivy's indexing buffer (its minimum is 15 MB per thread)
CONNECTIVITY = 16  # HNSW edges per node: usearch's default, recall >= 0.95 on the bench (printed)
EXPANSION_ADD = 128
EXPANSION_SEARCH = 128  # >= the 100 candidates asked for (2 x 50); wider costs latency, narrower recall


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=False, indexed=False, fast=True)
    builder.add_text_field("document", stored=False, tokenizer_name="raw")  # deletes by document id
    builder.add_text_field("text", stored=False, tokenizer_name="en_stem")
    return builder.build()


SCHEMA = _schema()


@dataclass(frozen=True)
class Row:
    """A chunk as the search structures need it. `vector` is None for a chunk without (this model's) vector."""

    chunk_id: int
    document_id: str
    text: str
    vector: NDArray[np.float32] | None


@dataclass(frozen=True)
class Snapshot:
    """An agent's searchable state at one generation: searching it never sees a later write."""

    token: str
    lexicon: tantivy.Index | None  # None only for an agent that never had a chunk
    searcher: tantivy.Searcher | None
    vectors: VectorGraph | None  # None: no embedder (or an empty graph file)
    nbytes: int  # what it holds in memory (the vector graph), for the cache's budget
    # usearch's Python binding is not documented as safe for concurrent searches of one graph from
    # several threads (per-thread search contexts are its own); a sub-millisecond lock is the cheap answer.
    graph_lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)
    delta: Delta | None = None  # None: no embedder

    def bm25(self, words: Sequence[str], n: int) -> list[tuple[int, float]]:
        """The `n` best chunk ids for any of `words` (plain letters and digits), BM25 score descending."""
        if not words or self.lexicon is None or self.searcher is None:
            return []
        # Each word quoted: a one-word phrase is a term query through the field's own tokenizer (stemming).
        query = self.lexicon.parse_query(" ".join(f'"{word}"' for word in words), ["text"])
        hits = self.searcher.search(query, n, count=False).hits
        if not hits:
            return []
        ids = self.searcher.fast_field_values("id", [address for _, address in hits])
        ranked = [(int(chunk_id or 0), float(score)) for (score, _), chunk_id in zip(hits, ids, strict=True)]
        ranked.sort(key=lambda pair: (-pair[1], pair[0]))  # ties by id, as before
        return ranked

    def nearest(self, query: NDArray[np.float32], n: int) -> list[int]:
        """Up to `n` chunk ids near `query` (approximate: the caller re-scores them exactly)."""
        found = self.delta.nearest(query, n) if self.delta is not None else []
        if self.vectors is None or len(self.vectors) == 0:
            return found
        gone = self.delta.removed if self.delta is not None else frozenset()
        size = len(self.vectors)
        count = min(n, size)
        while True:
            with self.graph_lock:
                matches = self.vectors.search(query, count)
            keys = [int(key) for key in matches.keys if int(key) not in gone]
            # Tombstoned ids may crowd the first `n` out: ask deeper, at most once more (bounded by the delta).
            if len(keys) >= n or count >= size or count >= n + len(gone):
                return keys[:n] + found
            count = min(size, n + len(gone))


class AgentFiles:
    """The directory of one (tenant, agent): `lexicon/` (tantivy) and `vectors-<model>-<token>.usearch`."""

    def __init__(self, directory: Path, model_id: str | None, dimensions: int | None) -> None:
        self.directory = directory
        self._model = hashlib.sha256(model_id.encode()).hexdigest()[:16] if model_id is not None else None
        self._dimensions = dimensions

    # -- reading ------------------------------------------------------------------------------

    def open(self, token: str) -> Snapshot | None:
        """The snapshot at `token`, or None if the files are missing or at another generation."""
        lexicon_dir = self.directory / "lexicon"
        if self._generation() != token:
            return None
        try:
            if not lexicon_dir.is_dir() or not tantivy.Index.exists(str(lexicon_dir)):
                return None
            lexicon = tantivy.Index.open(str(lexicon_dir))
            lexicon.reload()
            searcher = lexicon.searcher()
        except (OSError, ValueError):  # a half-written or foreign directory: rebuilt by the caller
            return None
        if self._generation() != token:  # a writer started meanwhile: what was opened may be newer
            return None
        vectors, delta = None, None
        if self._model is not None:
            assert self._dimensions is not None
            delta = deltas.load(self._delta_path(token), token, self._dimensions)
            if delta is None:  # none written since the graph was saved at this very generation
                delta = deltas.empty(token, self._dimensions)
            path = self._vector_path(delta.base)
            if not path.exists():  # a lost delta (or graph): stale, rebuilt by the caller
                return None
            vectors = _restore(path, view=True)
            if vectors is None or vectors.ndim != self._dimensions:
                return None
        return Snapshot(token, lexicon, searcher, vectors, _nbytes(vectors, delta), delta=delta)

    # -- writing (the caller holds the SQLite write lock) -------------------------------------

    def update(
        self,
        before: str,
        after: str,
        document_id: str,
        removed: Sequence[int],
        added: Sequence[Row],
        cached: Snapshot | None = None,
    ) -> Snapshot | None:
        """Move the files from generation `before` to `after`: the document's rows out, `added` in.

        `cached`: this process's snapshot, used instead of reading the files again (the delta's
        digest costs milliseconds near `MERGE_ROWS`) when it is at `before` and the files still are.
        None if the files are not at `before` (the caller rebuilds instead).
        """
        current = cached if cached is not None and self._still_at(cached, before) else self.open(before)
        if current is None or current.lexicon is None:
            return None
        vectors, delta, merged = current.vectors, current.delta, False
        if self._model is not None and vectors is not None and delta is not None:
            gone = set(removed)
            in_graph = {chunk_id for chunk_id in gone if chunk_id in vectors and chunk_id not in delta.removed}
            fresh = [row for row in added if row.vector is not None]
            delta = delta.apply(
                gone, in_graph, [row.chunk_id for row in fresh], [row.vector for row in fresh if row.vector is not None]
            )
            if delta.size > MERGE_ROWS:
                vectors = self._merge(delta)
                if vectors is None:
                    return None
                delta, merged = deltas.empty(after, delta.vectors.shape[1]), True
        writer = current.lexicon.writer(heap_size=WRITE_HEAP, num_threads=1)
        writer.delete_documents_by_term("document", document_id)
        for row in added:
            writer.add_document(_document(row))
        self._commit_lexicon(writer, after)
        return self._publish(current.lexicon, vectors, delta, after, merged)

    def rebuild(self, token: str, rows: Iterable[Row]) -> Snapshot:
        """Build both structures from `rows` (the agent's whole chunks table) at generation `token`."""
        make_private_dirs(self.directory)
        self._marker.unlink(missing_ok=True)
        lexicon_dir = self.directory / "lexicon"
        self._clear(lexicon_dir)
        lexicon_dir.mkdir(mode=0o700)
        lexicon = tantivy.Index(SCHEMA, path=str(lexicon_dir), reuse=False)
        writer = lexicon.writer(heap_size=WRITE_HEAP, num_threads=1)
        vectors = self._new_graph() if self._model is not None else None
        batch: list[Row] = []
        for row in rows:
            writer.add_document(_document(row))
            if vectors is not None and row.vector is not None:
                batch.append(row)
                if len(batch) >= 4096:
                    _add(vectors, batch)
                    batch = []
        if vectors is not None:
            _add(vectors, batch)
        self._commit_lexicon(writer, token)
        empty = deltas.empty(token, self._dimensions) if self._dimensions is not None else None
        return self._publish(lexicon, vectors, empty, token, True)

    def _clear(self, lexicon_dir: Path) -> None:
        """Take the old postings out of the way, first by an atomic rename.

        Removing them in place raced with tantivy: a reader of the old index (a snapshot still held, its
        reload watcher) takes the meta lock when meta.json changes, which creates a lock file in the directory
        while it is being removed, so the removal left it behind and the new directory could not be made
        (seen in CI as FileExistsError). Renamed first, whatever lands in the old one goes with it; what a
        removal leaves (a file created during it) goes at the next rebuild."""
        if lexicon_dir.exists():
            os.replace(lexicon_dir, self.directory / f"lexicon.old-{secrets.token_hex(8)}")
        for old in self.directory.glob("lexicon.old-*"):
            shutil.rmtree(old, ignore_errors=True)

    def _commit_lexicon(self, writer: tantivy.IndexWriter, token: str) -> None:
        """Commit with the generation marker gone meanwhile, so no reader takes the new postings for the old token.

        The token is a file of its own rather than a document in the index: a document would count in
        BM25's statistics (and a replaced one until tantivy merges it away).
        """
        self._marker.unlink(missing_ok=True)
        writer.commit()
        writer.wait_merging_threads()  # also releases tantivy's writer lock file before SQLite commits
        partial = self._marker.with_suffix(".partial")
        partial.write_text(token)
        os.replace(partial, self._marker)

    @property
    def _marker(self) -> Path:
        return self.directory / "lexicon.generation"

    def _generation(self) -> str | None:
        try:
            return self._marker.read_text()
        except (OSError, UnicodeDecodeError):
            return None

    def _still_at(self, snapshot: Snapshot, token: str) -> bool:
        """Whether `snapshot` is at `token` and the files it was read from are there at that generation."""
        if snapshot.token != token or snapshot.lexicon is None or self._generation() != token:
            return False
        if self._model is None:
            return True
        if snapshot.delta is None or not self._vector_path(snapshot.delta.base).exists():
            return False
        return snapshot.delta.base == token or self._delta_path(token).exists()

    def _merge(self, delta: Delta) -> VectorGraph | None:
        """The graph `delta` applies to, loaded for writing, with the delta folded in."""
        graph = _restore(self._vector_path(delta.base), view=False)
        if graph is None:
            return None
        if delta.removed:
            graph.remove(sorted(delta.removed))
        if len(delta.keys):
            graph.add(delta.keys, delta.vectors, threads=0)
        return graph

    def _publish(
        self, lexicon: tantivy.Index, vectors: VectorGraph | None, delta: Delta | None, after: str, saved: bool
    ) -> Snapshot:
        """Write the vector side at `after` (the graph too if `saved`), drop older generations' files."""
        if vectors is not None and delta is not None:
            keep = {self._vector_path(delta.base)}
            if saved:
                path = self._vector_path(after)
                partial = path.with_suffix(".partial")
                vectors.save(str(partial))
                os.replace(partial, path)
            else:
                keep.add(self._delta_path(after))
                deltas.save(self._delta_path(after), after, delta)
            # Older generations go; a reader that mapped one keeps its mapping until it lets go.
            for old in [*self.directory.glob("vectors-*.usearch"), *self.directory.glob("delta-*.bin")]:
                if old not in keep:
                    old.unlink(missing_ok=True)
        lexicon.reload()
        _private(self.directory)
        return Snapshot(after, lexicon, lexicon.searcher(), vectors, _nbytes(vectors, delta), delta=delta)

    def _vector_path(self, token: str) -> Path:
        return self.directory / f"vectors-{self._model}-{token}.usearch"

    def _delta_path(self, token: str) -> Path:
        return self.directory / f"delta-{self._model}-{token}.bin"

    def _new_graph(self) -> VectorGraph:
        from usearch.index import Index

        assert self._dimensions is not None
        return Index(
            ndim=self._dimensions,
            metric="cos",
            dtype="i8",
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )


def _document(row: Row) -> tantivy.Document:
    return tantivy.Document(id=row.chunk_id, document=row.document_id, text=row.text)


def _restore(path: Path, *, view: bool) -> VectorGraph | None:
    from usearch.index import Index

    try:
        graph = Index.restore(str(path), view=view)
    except (OSError, RuntimeError, ValueError):  # truncated or foreign: rebuilt by the caller
        return None
    if graph is None:
        return None
    graph.expansion_search = EXPANSION_SEARCH  # type: ignore[misc]  # settable; not kept in the file
    return graph


def _add(graph: VectorGraph, rows: Sequence[Row]) -> None:
    if not rows:
        return
    import numpy as np

    keys = np.fromiter((row.chunk_id for row in rows), dtype=np.uint64, count=len(rows))
    matrix = np.stack([row.vector for row in rows if row.vector is not None])
    graph.add(keys, matrix, threads=0)  # 0: every core; the write lock is held meanwhile


def _private(directory: Path) -> None:
    """tantivy and usearch create files by the umask; the data dir's rule is owner-only (0600/0700)."""
    for path in directory.rglob("*"):
        try:
            mode = path.lstat().st_mode & 0o777
            wanted = 0o700 if path.is_dir() else 0o600
            if mode & ~wanted:
                path.chmod(mode & wanted)
        except FileNotFoundError:  # tantivy's merge removed it meanwhile
            continue


def _nbytes(graph: VectorGraph | None, delta: Delta | None) -> int:
    return (int(graph.memory_usage) if graph is not None else 0) + (delta.nbytes if delta is not None else 0)


__all__ = ["AgentFiles", "Row", "Snapshot"]
