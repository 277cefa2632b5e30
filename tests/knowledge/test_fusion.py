"""The fusion rule: a convex combination of the cosine and BM25 over the query's best BM25.

Properties the index and the relevance floor rely on: agreement wins, the weights are honoured, the
score does not depend on BM25's scale, and the score of a hit carries its cosine (so a floor can tell
noise from an answer) except where there is no dense list at all.
"""

from __future__ import annotations

import math
from contextlib import closing
from pathlib import Path

import pytest

from oratio.knowledge.fusion import (
    AGREED_COSINE_MIN,
    AGREED_SCORE,
    DENSE_WEIGHT,
    RELEVANCE_FLOOR,
    RRF_K,
    fuse,
    rrf,
)
from oratio.knowledge.index import HybridIndex
from oratio.knowledge.ports import Embedder
from schemas import Chunk

# BM25 likes 1 then 2 then 3; the embedder likes 2 then 1 then 4 (4 has no shared word).
LEXICAL = [(1, 12.0), (2, 6.0), (3, 3.0)]
DENSE = [(2, 0.62), (1, 0.55), (4, 0.20)]


def order(fused: list[tuple[int, float]]) -> list[int]:
    return [chunk_id for chunk_id, _ in fused]


def test_a_chunk_first_in_both_lists_is_first_with_the_cosine_and_the_full_bm25_share() -> None:
    lexical = [(7, 9.0), (8, 4.0)]
    dense = [(7, 0.71), (9, 0.40)]
    fused = fuse(lexical, dense, 3)
    assert fused[0][0] == 7
    assert fused[0][1] == pytest.approx(DENSE_WEIGHT * 0.71 + (1 - DENSE_WEIGHT) * 1.0)


def test_the_weights_are_honoured() -> None:
    assert order(fuse(LEXICAL, DENSE, 4, dense_weight=1.0))[:2] == [2, 1]  # the dense order
    assert order(fuse(LEXICAL, DENSE, 4, dense_weight=0.0))[:3] == [1, 2, 3]  # the BM25 order
    # Chunk 1 is BM25's best by twice; chunk 2 the embedder's by 0.07: the weight decides which leads.
    assert order(fuse(LEXICAL, DENSE, 1, dense_weight=0.5)) == [1]
    assert order(fuse(LEXICAL, DENSE, 1, dense_weight=0.97)) == [2]
    score = dict(fuse(LEXICAL, DENSE, 4, dense_weight=0.8))
    assert score[2] == pytest.approx(0.8 * 0.62 + 0.2 * 0.5)
    assert score[4] == pytest.approx(0.8 * 0.20)  # in the dense list only: no BM25 share


def test_a_chunk_bm25_alone_found_gets_the_lowest_cosine_of_the_dense_list() -> None:
    score = dict(fuse(LEXICAL, DENSE, 4, dense_weight=0.9))
    assert score[3] == pytest.approx(0.9 * 0.20 + 0.1 * 3.0 / 12.0)


@pytest.mark.parametrize("factor", [1e-6, 0.37, 1000.0, 1e9])
def test_the_fused_score_does_not_depend_on_the_scale_of_bm25(factor: float) -> None:
    scaled = [(chunk_id, score * factor) for chunk_id, score in LEXICAL]
    fused, reference = fuse(scaled, DENSE, 4), fuse(LEXICAL, DENSE, 4)
    assert order(fused) == order(reference)
    assert [score for _, score in fused] == pytest.approx([score for _, score in reference])


def test_bm25_scores_that_are_not_all_positive_are_scaled_between_their_worst_and_best() -> None:
    shifted = [(chunk_id, score - 100.0) for chunk_id, score in LEXICAL]  # all negative, same order
    score = dict(fuse(shifted, DENSE, 4, dense_weight=0.5))
    assert score[1] == pytest.approx(0.5 * 0.55 + 0.5 * 1.0)
    assert score[3] == pytest.approx(0.5 * 0.20 + 0.5 * 0.0)
    assert order(fuse(shifted, [], 3)) == [1, 2, 3]
    assert fuse([(5, -2.0), (6, -2.0)], [], 2) == [(5, 1.0), (6, 1.0)]  # all equal: all best


def test_a_noise_query_scores_low_and_an_answer_scores_high() -> None:
    """What the floor compares with: the cosine dominates, BM25's always-1.0 best adds only its share."""
    noise = fuse([(1, 3.0), (2, 2.0)], [(3, 0.12), (1, 0.08)], 5)
    answer = fuse([(1, 3.0), (2, 2.0)], [(1, 0.66), (3, 0.30)], 5)
    assert max(score for _, score in noise) < 0.2 < 0.6 < answer[0][1]


def test_without_a_dense_list_the_order_is_bm25s_and_the_best_scores_one() -> None:
    assert fuse(LEXICAL, [], 3) == [(1, 1.0), (2, 0.5), (3, 0.25)]
    assert fuse([], [], 3) == []
    assert order(fuse([], DENSE, 3)) == [2, 1, 4]


def test_k_bounds_the_result_and_ties_go_to_the_better_rank_then_the_smaller_id() -> None:
    assert len(fuse(LEXICAL, DENSE, 2)) == 2
    tied = fuse([(9, 1.0), (8, 1.0)], [], 2)
    assert order(tied) == [9, 8]  # same score: BM25 put 9 first
    assert order(fuse([], [(9, 0.5), (8, 0.5)], 2)) == [9, 8]


def test_scores_that_are_not_finite_count_as_nothing() -> None:
    fused = dict(fuse([(1, math.nan), (2, 4.0)], [(1, math.inf), (2, 0.5)], 2, dense_weight=0.5))
    assert fused[2] == pytest.approx(0.5 * 0.5 + 0.5 * 1.0)
    assert fused[1] == pytest.approx(0.0)


@pytest.mark.parametrize("weight", [-0.01, 1.01])
def test_a_dense_weight_outside_0_to_1_is_refused(weight: float) -> None:
    with pytest.raises(ValueError, match="dense_weight"):
        fuse(LEXICAL, DENSE, 3, dense_weight=weight)


def test_equal_weight_rrf_is_the_rule_before() -> None:
    fused = dict(rrf(LEXICAL, DENSE, 4))
    assert fused[1] == pytest.approx(1 / (RRF_K + 1) + 1 / (RRF_K + 2))
    assert fused[4] == pytest.approx(1 / (RRF_K + 3))
    assert order(rrf(LEXICAL, DENSE, 4, dense_weight=1.0))[:3] == [2, 1, 4]


def test_a_chunk_both_rankings_put_first_scores_at_least_the_agreed_score() -> None:
    """An exact code: BM25's best by far, the embedder's best by little, with a low cosine."""
    fused = fuse([(5, 8.0), (6, 1.0)], [(5, 0.33), (6, 0.31)], 2)
    assert fused[0] == (5, AGREED_SCORE)
    assert fused[1][1] == pytest.approx(DENSE_WEIGHT * 0.31 + (1 - DENSE_WEIGHT) * 1.0 / 8.0)  # no lift


def test_agreement_on_a_chunk_the_embedder_finds_unrelated_lifts_nothing() -> None:
    cosine = AGREED_COSINE_MIN - 0.05
    [(chunk_id, score)] = fuse([(5, 8.0)], [(5, cosine)], 1)
    assert chunk_id == 5
    assert score == pytest.approx(DENSE_WEIGHT * cosine + (1 - DENSE_WEIGHT))
    assert score < RELEVANCE_FLOOR


def test_an_exact_error_code_clears_the_floor_though_its_cosine_does_not(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime", reason="the embeddings extra is not installed")
    from oratio.knowledge.embeddings import MiniLmEmbedder

    embedder: Embedder = MiniLmEmbedder()
    texts = [
        "Refunds: ask for a refund within 30 days and we reimburse the price.",
        "Shipping takes 3 to 5 business days inside the EU.",
        "Error code E-7731 means the pump is blocked; clean the filter.",
    ]
    chunks = [
        Chunk(
            tenant_id="ten_aaaa",
            agent_id="agt_aaaa",
            document_id="doc_manual",
            ordinal=n,
            text=text,
            location=f"page {n + 1}",
            start_offset=0,
            end_offset=len(text),
        )
        for n, text in enumerate(texts)
    ]
    with closing(HybridIndex(tmp_path / "knowledge.db", embedder)) as index:
        index.replace_document("ten_aaaa", "agt_aaaa", "doc_manual", "manual.md", chunks)
        [dense] = index.search_dense("ten_aaaa", "agt_aaaa", "E-7731", k=1)
        [hybrid] = index.search("ten_aaaa", "agt_aaaa", "E-7731", k=1)
    assert dense.chunk.ordinal == hybrid.chunk.ordinal == 2
    assert AGREED_COSINE_MIN <= dense.score < RELEVANCE_FLOOR <= hybrid.score
