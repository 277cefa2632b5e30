"""bench.ir_metrics against values computed by hand (the arithmetic is spelled out next to each)."""

from __future__ import annotations

import math

import pytest

from bench.ir_metrics import (
    dcg,
    evaluate,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank_at_k,
    unique_ranking,
)

GRADED = {"a": 3, "b": 2, "c": 1}
LOG2_3 = math.log2(3)  # 1.5849625...


def test_dcg_is_linear_gain_over_log2_of_rank_plus_one() -> None:
    # 3/log2(2) + 2/log2(3) + 1/log2(4) = 3 + 1.2618595 + 0.5
    assert dcg([3, 2, 1]) == pytest.approx(4.7618595, abs=1e-6)
    assert dcg([]) == 0.0


def test_ndcg_graded() -> None:
    # ranking b, x, a, c at k=3: DCG = 2/1 + 0/log2(3) + 3/2 = 3.5
    # ideal a, b, c: IDCG = 3/1 + 2/log2(3) + 1/2 = 4.7618595
    assert ndcg_at_k(["b", "x", "a", "c"], GRADED, 3) == pytest.approx(0.7350069, abs=1e-6)
    assert ndcg_at_k(["a", "b", "c"], GRADED, 3) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "y"], GRADED, 3) == 0.0


def test_ndcg_ideal_counts_relevant_documents_that_were_not_retrieved() -> None:
    # only a retrieved (rank 1): DCG = 1; ideal a, b: IDCG = 1 + 1/log2(3) = 1.6309298
    assert ndcg_at_k(["a"], {"a": 1, "b": 1}, 10) == pytest.approx(0.6131472, abs=1e-6)


def test_ndcg_binary_single_relevant() -> None:
    # d1 at rank 3: 1/log2(4) = 0.5, ideal 1
    assert ndcg_at_k(["x", "y", "d1"], {"d1": 1}, 10) == pytest.approx(0.5)
    assert ndcg_at_k(["x", "y", "d1"], {"d1": 1}, 2) == 0.0


def test_repeated_documents_count_at_their_first_rank() -> None:
    assert unique_ranking(["x", "x", "d1", "x", "d1"]) == ["x", "d1"]
    # x, x, d1 is x, d1: d1 at rank 2 -> 1/log2(3) = 0.6309298
    assert ndcg_at_k(["x", "x", "d1"], {"d1": 1}, 10) == pytest.approx(0.6309298, abs=1e-6)
    # and the repeat does not use up the cutoff: d1 is within the first 2 distinct documents
    assert recall_at_k(["x", "x", "d1"], {"d1": 1}, 2) == 1.0
    assert reciprocal_rank_at_k(["x", "x", "d1"], {"d1": 1}, 10) == 0.5


def test_zero_and_negative_judgments_are_not_relevant() -> None:
    judged = {"a": -1, "b": 0, "c": 2}
    # gains 0, 0, 2: DCG = 2/log2(4) = 1; ideal [2] -> 2
    assert ndcg_at_k(["a", "b", "c"], judged, 10) == pytest.approx(0.5)
    assert recall_at_k(["a", "b"], judged, 10) == 0.0
    assert reciprocal_rank_at_k(["a", "b", "c"], judged, 10) == pytest.approx(1 / 3)


def test_recall_at_k() -> None:
    # a and b of a, b, c within the first 3
    assert recall_at_k(["b", "x", "a", "c"], GRADED, 3) == pytest.approx(2 / 3)
    assert recall_at_k(["b", "x", "a", "c"], GRADED, 4) == 1.0
    assert recall_at_k([], GRADED, 10) == 0.0


def test_reciprocal_rank_at_k() -> None:
    assert reciprocal_rank_at_k(["b", "x"], GRADED, 10) == 1.0
    assert reciprocal_rank_at_k(["x", "y", "c"], GRADED, 10) == pytest.approx(1 / 3)
    assert reciprocal_rank_at_k(["x", "y", "c"], GRADED, 2) == 0.0


@pytest.mark.parametrize("measure", [ndcg_at_k, recall_at_k])
def test_undefined_without_relevant_documents(measure: object) -> None:
    assert callable(measure)
    with pytest.raises(ValueError, match="without relevant"):
        measure(["a"], {"a": 0, "b": -1}, 10)
    with pytest.raises(ValueError, match="without relevant"):
        measure(["a"], {}, 10)


@pytest.mark.parametrize("measure", [ndcg_at_k, recall_at_k, reciprocal_rank_at_k])
def test_k_must_be_positive(measure: object) -> None:
    assert callable(measure)
    with pytest.raises(ValueError, match="k must be"):
        measure(["a"], {"a": 1}, 0)


def test_evaluate_means_over_judged_queries() -> None:
    run = {"q1": ["b", "x", "a", "c"], "q2": ["x", "y", "d1"], "q3": ["z"]}
    qrels = {"q1": GRADED, "q2": {"d1": 1}, "q3": {"z": 0}, "q4": {"w": 1}}
    scores = evaluate(run, qrels, k=3)
    # q3 has no relevant document: skipped. q4 is not in the run: an empty ranking, all zeros.
    assert (scores.queries, scores.skipped, scores.k) == (3, 1, 3)
    # nDCG@3: q1 0.7350069, q2 0.5 (d1 at rank 3), q4 0 -> 1.2350069 / 3
    assert scores.ndcg == pytest.approx(0.4116690, abs=1e-6)
    # recall@3: 2/3, 1, 0 -> 5/9
    assert scores.recall == pytest.approx(5 / 9)
    # RR@3: 1, 1/3, 0 -> 4/9
    assert scores.mrr == pytest.approx(4 / 9)


def test_evaluate_needs_a_judged_query() -> None:
    with pytest.raises(ValueError, match="no query"):
        evaluate({"q": ["a"]}, {"q": {"a": 0}})
