"""The hybrid index: finds the right chunk by keyword and by meaning, keeps tenants apart, stays consistent.

Most tests run twice: with the local embedder (hybrid) and without one (BM25 only, the default when the
optional extra is missing). The embedder loads once for the module.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from oratio.errors import InvalidInput
from oratio.knowledge.fusion import AGREED_SCORE, DENSE_WEIGHT
from oratio.knowledge.index import HybridIndex, query_words
from oratio.knowledge.ports import Embedder, KnowledgeHit
from schemas import Chunk
from tests.support.knowledge_corpus import (
    AGENT,
    FAQ,
    MANUAL,
    OTHER_AGENT,
    OTHER_TENANT,
    TENANT,
    chunks,
    first,
    load_corpus,
)

INJECTIONS = [
    '"',
    '""',
    "NEAR(",
    "NEAR(refund shipping, 2)",
    "*",
    "refund*",
    "^refund",
    "(",
    ")",
    "-",
    "+refund",
    "AND",
    "OR refund OR",
    "NOT refund",
    "text: refund",
    "scope : refund",
    "{text scope}: refund",
    'refund" OR "1"="1',
    "'; DROP TABLE chunks; --",
    "refund\x00shipping",
    "caf\u00e9 \u4f60\u597d \U0001f600",
]


def ids(hits: list[KnowledgeHit]) -> set[tuple[str, int]]:
    return {(h.chunk.document_id, h.chunk.ordinal) for h in hits}


@pytest.fixture(scope="module")
def local_embedder() -> Embedder:
    pytest.importorskip("onnxruntime", reason="the embeddings extra is not installed")
    from oratio.knowledge.embeddings import MiniLmEmbedder

    model = MiniLmEmbedder()
    model.load()
    return model


@pytest.fixture(params=["hybrid", "bm25"])
def embedder(request: pytest.FixtureRequest) -> Embedder | None:
    if request.param == "bm25":
        return None
    model: Embedder = request.getfixturevalue("local_embedder")
    return model


IndexFactory = Callable[[Embedder | None], HybridIndex]


@pytest.fixture
def open_index(tmp_path: Path) -> Iterator[IndexFactory]:
    """Opens indexes on one file (as other processes would) and closes them at the end."""
    opened: list[HybridIndex] = []

    def factory(model: Embedder | None) -> HybridIndex:
        index = HybridIndex(tmp_path / "knowledge.db", model)
        opened.append(index)
        return index

    yield factory
    for index in opened:
        index.close()


@pytest.fixture
def index(open_index: IndexFactory, embedder: Embedder | None) -> HybridIndex:
    return open_index(embedder)


# -- finding ------------------------------------------------------------------------------------


def test_a_keyword_query_finds_its_chunk_first(index: HybridIndex) -> None:
    load_corpus(index)
    assert first(index.search(TENANT, AGENT, "SKU-4471 warranty")) == ("doc_faq", 3)
    assert first(index.search(TENANT, AGENT, "microfiber")) == ("doc_manual", 1)
    assert first(index.search(TENANT, AGENT, "How do I reset my password?")) == ("doc_faq", 2)
    assert first(index.search_bm25(TENANT, AGENT, "SKU-4471 warranty")) == ("doc_faq", 3)


def test_a_hit_carries_its_chunk_and_document(index: HybridIndex) -> None:
    load_corpus(index)
    hit = index.search(TENANT, AGENT, "microfiber lens", k=1)[0]
    assert hit.document_name == "manual.pdf"
    assert hit.chunk == chunks(TENANT, AGENT, "doc_manual", MANUAL)[1]
    assert hit.score > 0
    source = hit.to_source()
    assert (source.document_id, source.location) == ("doc_manual", "page 2")


def test_k_bounds_the_hits_and_they_come_best_first(index: HybridIndex) -> None:
    load_corpus(index)
    for k in (1, 2, 3):
        assert len(index.search(TENANT, AGENT, "refund shipping password warranty", k=k)) == k
    hits = index.search(TENANT, AGENT, "refund shipping password warranty", k=50)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_the_score_is_the_weighted_fusion_of_the_cosine_and_the_best_bm25(
    local_embedder: Embedder, tmp_path: Path
) -> None:
    index = HybridIndex(tmp_path / "knowledge.db", local_embedder)
    try:
        load_corpus(index)
        query = "SKU-4471 warranty"
        assert first(index.search_bm25(TENANT, AGENT, query)) == first(index.search_dense(TENANT, AGENT, query))
        cosine = index.search_dense(TENANT, AGENT, query)[0].score
        top = index.search(TENANT, AGENT, query)[0]
        # First in both lists: its cosine, plus the whole BM25 share (its BM25 is the query's best),
        # and at least the score of an agreement.
        assert top.score == pytest.approx(max(DENSE_WEIGHT * cosine + (1 - DENSE_WEIGHT) * 1.0, AGREED_SCORE))
    finally:
        index.close()


def test_stemming_matches_other_forms_of_a_word(index: HybridIndex) -> None:
    load_corpus(index)
    assert first(index.search_bm25(TENANT, AGENT, "refunded purchases")) == ("doc_faq", 0)


def test_a_paraphrase_is_found_by_meaning_where_bm25_alone_finds_nothing(
    local_embedder: Embedder, tmp_path: Path
) -> None:
    index = HybridIndex(tmp_path / "knowledge.db", local_embedder)
    try:
        load_corpus(index)
        assert ("doc_faq", 0) not in ids(index.search_bm25(TENANT, AGENT, "money back"))
        assert first(index.search_dense(TENANT, AGENT, "money back")) == ("doc_faq", 0)
        assert first(index.search(TENANT, AGENT, "money back")) == ("doc_faq", 0)
        assert first(index.search(TENANT, AGENT, "when will my parcel arrive")) == ("doc_faq", 1)
    finally:
        index.close()


def test_without_an_embedder_the_index_is_bm25_only(open_index: IndexFactory) -> None:
    index = open_index(None)
    load_corpus(index)
    assert index.search_dense(TENANT, AGENT, "money back") == []
    assert index.search(TENANT, AGENT, "money back") == []
    assert first(index.search(TENANT, AGENT, "refund")) == ("doc_faq", 0)


def test_chunks_stored_without_vectors_stay_findable_by_keyword(
    open_index: IndexFactory, local_embedder: Embedder
) -> None:
    load_corpus(open_index(None))  # ingested while the extra was missing
    index = open_index(local_embedder)
    assert index.search_dense(TENANT, AGENT, "money back") == []  # no vectors, and none made up
    assert first(index.search(TENANT, AGENT, "SKU-4471")) == ("doc_faq", 3)


def test_vectors_of_another_model_are_not_compared(open_index: IndexFactory, local_embedder: Embedder) -> None:
    class OtherModel:
        model_id = "other-model"
        dimensions = 384

        def embed(self, texts: Sequence[str]) -> list[list[float]]:
            return [[1.0] + [0.0] * 383 for _ in texts]

    load_corpus(open_index(OtherModel()))
    assert open_index(local_embedder).search_dense(TENANT, AGENT, "money back") == []


# -- writes -------------------------------------------------------------------------------------


def test_replacing_a_document_removes_its_old_chunks(index: HybridIndex) -> None:
    load_corpus(index)
    new = ["Gift cards never expire and can be used online.", "Gift cards cannot be exchanged for cash."]
    index.replace_document(TENANT, AGENT, "doc_faq", "faq v2.md", chunks(TENANT, AGENT, "doc_faq", new))
    assert index.count(TENANT, AGENT) == len(new) + len(MANUAL)
    assert index.search_bm25(TENANT, AGENT, "SKU-4471 warranty refund") == []
    hits = index.search(TENANT, AGENT, "SKU-4471 warranty refund", k=50)
    assert all(h.chunk.document_id == "doc_manual" or h.chunk.text in new for h in hits)
    hit = index.search(TENANT, AGENT, "gift cards cash", k=1)[0]
    assert (hit.document_name, hit.chunk.ordinal) == ("faq v2.md", 1)


def test_replacing_with_the_same_chunks_is_idempotent(index: HybridIndex) -> None:
    load_corpus(index)
    before = [(h.chunk, h.score) for h in index.search(TENANT, AGENT, "refund warranty", k=10)]
    load_corpus(index)
    load_corpus(index)
    assert index.count(TENANT, AGENT) == len(FAQ) + len(MANUAL)
    assert [(h.chunk, h.score) for h in index.search(TENANT, AGENT, "refund warranty", k=10)] == before


def test_removing_a_document_forgets_it_and_removing_again_is_a_no_op(index: HybridIndex) -> None:
    load_corpus(index)
    index.remove_document(TENANT, AGENT, "doc_faq")
    index.remove_document(TENANT, AGENT, "doc_faq")
    index.remove_document(TENANT, AGENT, "doc_never")
    assert index.count(TENANT, AGENT) == len(MANUAL)
    assert index.search_bm25(TENANT, AGENT, "refund SKU-4471 password shipping") == []
    assert all(h.chunk.document_id == "doc_manual" for h in index.search(TENANT, AGENT, "refund", k=50))


def test_chunks_of_another_document_are_refused(index: HybridIndex) -> None:
    with pytest.raises(InvalidInput):
        index.replace_document(TENANT, AGENT, "doc_faq", "faq.md", chunks(OTHER_TENANT, AGENT, "doc_faq", FAQ))
    with pytest.raises(InvalidInput):
        index.replace_document(TENANT, AGENT, "doc_faq", "faq.md", chunks(TENANT, AGENT, "doc_other", FAQ))
    twice = chunks(TENANT, AGENT, "doc_faq", FAQ[:1]) * 2
    with pytest.raises(InvalidInput, match="repeat"):
        index.replace_document(TENANT, AGENT, "doc_faq", "faq.md", twice)
    assert index.count(TENANT, AGENT) == 0


def test_a_failed_embedding_leaves_the_previous_version_searchable(open_index: IndexFactory) -> None:
    class Broken:
        model_id = "broken"
        dimensions = 384

        def embed(self, texts: Sequence[str]) -> list[list[float]]:
            raise RuntimeError("model crashed")

    load_corpus(open_index(None))
    with pytest.raises(RuntimeError):
        open_index(Broken()).replace_document(
            TENANT, AGENT, "doc_faq", "faq.md", chunks(TENANT, AGENT, "doc_faq", ["x"])
        )
    assert first(open_index(None).search(TENANT, AGENT, "SKU-4471")) == ("doc_faq", 3)


# -- tenancy ------------------------------------------------------------------------------------


def test_a_tenant_never_sees_another_tenants_chunks(index: HybridIndex) -> None:
    load_corpus(index, TENANT, AGENT)
    # Same agent id and same document id in another tenant: the worst case for scoping.
    other = ["Opening hours of the Lisbon store are 10:00 to 20:00."]
    index.replace_document(OTHER_TENANT, AGENT, "doc_faq", "hours.md", chunks(OTHER_TENANT, AGENT, "doc_faq", other))
    for query in ["refund SKU-4471 password microfiber", "money back", "Lisbon store hours"]:
        theirs = index.search(OTHER_TENANT, AGENT, query, k=50) + index.search_bm25(OTHER_TENANT, AGENT, query, k=50)
        theirs += index.search_dense(OTHER_TENANT, AGENT, query, k=50)
        assert {h.chunk.tenant_id for h in theirs} <= {OTHER_TENANT}
        assert all(h.chunk.text in other for h in theirs)
        ours = index.search(TENANT, AGENT, query, k=50)
        assert all(h.chunk.tenant_id == TENANT and h.chunk.text not in other for h in ours)
    assert index.count(OTHER_TENANT, AGENT) == 1
    index.remove_document(OTHER_TENANT, AGENT, "doc_faq")
    assert index.count(TENANT, AGENT) == len(FAQ) + len(MANUAL)


def test_an_agent_never_sees_another_agents_chunks(index: HybridIndex) -> None:
    load_corpus(index, TENANT, AGENT)
    assert index.search(TENANT, OTHER_AGENT, "refund SKU-4471 password microfiber money back", k=50) == []
    assert index.count(TENANT, OTHER_AGENT) == 0


# -- queries ------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", INJECTIONS)
def test_fts_syntax_in_a_query_is_inert(index: HybridIndex, query: str) -> None:
    load_corpus(index)
    for search in (index.search, index.search_bm25, index.search_dense):
        hits = search(TENANT, AGENT, query, 5)
        assert all(h.chunk.tenant_id == TENANT for h in hits)
    if "refund" in query.lower():
        assert ("doc_faq", 0) in ids(index.search_bm25(TENANT, AGENT, query))
    assert index.count(TENANT, AGENT) == len(FAQ) + len(MANUAL)


def test_the_query_keeps_only_words_and_at_most_64() -> None:
    assert query_words('NEAR(refund "x" * AND') == ["near", "refund", "x"]  # "and" is a stopword
    assert query_words('" * ( ^') == []
    assert query_words("the and of") == ["the", "and", "of"]  # only stopwords: kept
    assert len(query_words(" ".join(f"w{i}" for i in range(500)))) == 64


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_an_empty_query_is_invalid_input(index: HybridIndex, query: str) -> None:
    for search in (index.search, index.search_bm25, index.search_dense):
        with pytest.raises(InvalidInput) as caught:
            search(TENANT, AGENT, query, 5)
        assert caught.value.field == "query"


@pytest.mark.parametrize("k", [0, -1, 51])
def test_k_outside_1_to_50_is_invalid_input(index: HybridIndex, k: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        index.search(TENANT, AGENT, "refund", k)
    assert caught.value.field == "k"


def test_an_overlong_query_is_invalid_input(index: HybridIndex) -> None:
    with pytest.raises(InvalidInput, match="longer than"):
        index.search(TENANT, AGENT, "refund " * 2000)


# -- several instances and threads --------------------------------------------------------------


def test_another_instance_on_the_file_sees_the_writes_at_once(
    open_index: IndexFactory, embedder: Embedder | None
) -> None:
    reader, writer = open_index(embedder), open_index(embedder)
    load_corpus(writer)
    assert reader.count(TENANT, AGENT) == len(FAQ) + len(MANUAL)
    reader.search(TENANT, AGENT, "money back")  # the reader now holds this agent's vectors in memory
    reader.search_dense(TENANT, AGENT, "money back")

    returns = ["You get your money back within a week when you send a product back."]
    writer.replace_document(TENANT, AGENT, "doc_returns", "returns.md", chunks(TENANT, AGENT, "doc_returns", returns))
    assert reader.count(TENANT, AGENT) == len(FAQ) + len(MANUAL) + 1
    assert first(reader.search(TENANT, AGENT, "money back")) == ("doc_returns", 0)
    if embedder is not None:  # a stale matrix would not have the new chunk
        assert first(reader.search_dense(TENANT, AGENT, "money back")) == ("doc_returns", 0)

    writer.remove_document(TENANT, AGENT, "doc_returns")
    assert ("doc_returns", 0) not in ids(reader.search(TENANT, AGENT, "money back", k=50))


def test_searches_during_replacements_see_one_whole_version(index: HybridIndex) -> None:
    load_corpus(index)
    generations = 15

    def version(n: int) -> list[Chunk]:
        texts = [f"Rules gen{n}: clause {i} of the rotating terms." for i in range(3)]
        return chunks(TENANT, AGENT, "doc_rotating", texts)

    index.replace_document(TENANT, AGENT, "doc_rotating", "terms.md", version(0))
    errors: list[BaseException] = []
    seen: set[str] = set()
    stop = threading.Event()
    searched = threading.Semaphore(0)

    def search_loop() -> None:
        try:
            while not stop.is_set():
                hits = index.search(TENANT, AGENT, "rotating terms rules", k=50)
                rotating = [h.chunk.text for h in hits if h.chunk.document_id == "doc_rotating"]
                found = {m for text in rotating for m in re.findall(r"gen\d+", text)}
                assert len(rotating) == 3 and len(found) == 1, rotating
                seen.update(found)
                searched.release()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    readers = [threading.Thread(target=search_loop) for _ in range(4)]
    for thread in readers:
        thread.start()
    try:
        for n in range(1, generations + 1):
            index.replace_document(TENANT, AGENT, "doc_rotating", "terms.md", version(n))
            # Let the readers search between writes: wait (bounded) until one has completed a search.
            assert searched.acquire(timeout=30), "the readers stopped searching"
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert errors == []
    assert len(seen) > 1  # the readers did run while the versions changed
    assert index.count(TENANT, AGENT) == len(FAQ) + len(MANUAL) + 3


def test_a_tiny_vector_cache_still_gives_every_agent_its_own_results(tmp_path: Path, embedder: Embedder | None) -> None:
    index = HybridIndex(tmp_path / "knowledge.db", embedder, cache_bytes=1)  # holds one agent at a time
    try:
        load_corpus(index, TENANT, AGENT)
        other = ["Opening hours of the Lisbon store are 10:00 to 20:00."]
        index.replace_document(TENANT, OTHER_AGENT, "doc_h", "hours.md", chunks(TENANT, OTHER_AGENT, "doc_h", other))
        for _ in range(3):
            assert first(index.search(TENANT, AGENT, "microfiber lens")) == ("doc_manual", 1)
            assert [h.chunk.text for h in index.search(TENANT, OTHER_AGENT, "microfiber lens", k=50)] in ([], other)
    finally:
        index.close()


# -- the file -----------------------------------------------------------------------------------


def test_the_file_has_the_documented_tables_and_the_structures_sit_beside_it(
    index: HybridIndex, tmp_path: Path
) -> None:
    load_corpus(index)
    load_corpus(index)
    index.replace_document(TENANT, AGENT, "doc_x", "x.md", chunks(TENANT, AGENT, "doc_x", ["one", "two"]))
    index.remove_document(TENANT, AGENT, "doc_x")
    with sqlite3.connect(tmp_path / "knowledge.db") as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(chunks)")]
        embedded = conn.execute("SELECT COUNT(*) FROM chunks WHERE embedding IS NOT NULL").fetchone()[0]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"tenant_id", "agent_id", "document_id", "document_name", "ordinal", "text", "location"} <= set(columns)
    assert {"start_offset", "end_offset", "embedding", "model_id"} <= set(columns)
    assert embedded == (0 if index.embedder is None else len(FAQ) + len(MANUAL))
    assert mode == "wal"
    assert "chunks_fts" not in tables  # BM25 left SQLite for the per-agent structures
    assert len(list((tmp_path / "knowledge.db.search").iterdir())) == 1  # one agent, one directory


def test_bm25_search_works_without_numpy(tmp_path: Path) -> None:
    code = f"""
import sys
sys.modules["numpy"] = None  # as when the embeddings extra is not installed
from pathlib import Path
from oratio.knowledge.embeddings import load_default_embedder
from oratio.knowledge.index import HybridIndex
from schemas import Chunk

assert load_default_embedder() is None
index = HybridIndex(Path({str(tmp_path / "k.db")!r}), None)
text = "Refunds are paid within 30 days."
chunk = Chunk(tenant_id="ten_a", agent_id="agt_a", document_id="doc_a", ordinal=0, text=text, start_offset=0,
              end_offset=len(text))
index.replace_document("ten_a", "agt_a", "doc_a", "faq.md", [chunk])
assert [h.chunk.text for h in index.search("ten_a", "agt_a", "refund")] == [text]
assert index.search_dense("ten_a", "agt_a", "refund") == []
index.close()
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
