"""Ranking quality measures for the retrieval benchmarks: nDCG@k (graded), recall@k, MRR@k.

Conventions are trec_eval's (and so BEIR's, which reports pytrec_eval's `ndcg_cut` and `recall`):
- a judgment above 0 is relevant; 0 and negative judgments (Cranfield's -1) count as non-relevant;
- nDCG uses the linear gain: a document judged `r` at rank `i` (1-based) adds `r / log2(i + 1)`, and the
  ideal ranking sorts *every* judged-relevant document by grade, whether it was retrieved or not;
- a document that appears more than once in a ranking counts at its first rank only (a chunk index
  returns several chunks of one document; the document is retrieved once);
- documents without a judgment are non-relevant;
- a query without any relevant document has no nDCG or recall: `evaluate` leaves it out of the means
  and reports how many queries it used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

Qrels = Mapping[str, int]  # document id -> graded judgment, for one query


def unique_ranking(ranking: Iterable[str]) -> list[str]:
    """`ranking` with later repeats of a document removed, order kept."""
    return list(dict.fromkeys(ranking))


def relevant(qrels: Qrels) -> dict[str, int]:
    """The judged-relevant documents (judgment above 0) and their grades."""
    return {doc: grade for doc, grade in qrels.items() if grade > 0}


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain of gains listed by rank (rank 1 first)."""
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def ndcg_at_k(ranking: Sequence[str], qrels: Qrels, k: int) -> float:
    """nDCG@k of `ranking` (best first) against graded `qrels`; 0.0 to 1.0.

    Raises ValueError when k < 1 or no document is judged relevant (nDCG is undefined there).
    """
    _check_k(k)
    grades = relevant(qrels)
    if not grades:
        raise ValueError("nDCG is undefined for a query without relevant documents")
    gains = [float(grades.get(doc, 0)) for doc in unique_ranking(ranking)[:k]]
    ideal = sorted((float(grade) for grade in grades.values()), reverse=True)[:k]
    return dcg(gains) / dcg(ideal)


def recall_at_k(ranking: Sequence[str], qrels: Qrels, k: int) -> float:
    """The share of the judged-relevant documents found in the first k; 0.0 to 1.0.

    Raises ValueError when k < 1 or no document is judged relevant.
    """
    _check_k(k)
    grades = relevant(qrels)
    if not grades:
        raise ValueError("recall is undefined for a query without relevant documents")
    found = sum(1 for doc in unique_ranking(ranking)[:k] if doc in grades)
    return found / len(grades)


def reciprocal_rank_at_k(ranking: Sequence[str], qrels: Qrels, k: int) -> float:
    """1 / rank of the first relevant document within the first k, else 0.0."""
    _check_k(k)
    grades = relevant(qrels)
    for rank, doc in enumerate(unique_ranking(ranking)[:k], start=1):
        if doc in grades:
            return 1.0 / rank
    return 0.0


@dataclass(frozen=True)
class Scores:
    """Means over the queries that have at least one relevant document."""

    k: int
    ndcg: float
    recall: float
    mrr: float
    queries: int  # how many queries the means are over
    skipped: int  # queries of the run left out: no relevant document judged


def evaluate(run: Mapping[str, Sequence[str]], qrels: Mapping[str, Qrels], k: int = 10) -> Scores:
    """Mean nDCG@k, recall@k and MRR@k of `run` (query id -> ranking) over the judged queries.

    A query of `qrels` missing from `run` counts as an empty ranking (scores 0); a query of `run`
    without relevant judgments is skipped. Raises ValueError if no query is left.
    """
    _check_k(k)
    ndcgs: list[float] = []
    recalls: list[float] = []
    rrs: list[float] = []
    skipped = 0
    for query in sorted(set(run) | set(qrels)):
        judged = qrels.get(query, {})
        if not relevant(judged):
            skipped += 1
            continue
        ranking = run.get(query, ())
        ndcgs.append(ndcg_at_k(ranking, judged, k))
        recalls.append(recall_at_k(ranking, judged, k))
        rrs.append(reciprocal_rank_at_k(ranking, judged, k))
    if not ndcgs:
        raise ValueError("no query has a relevant document")
    count = len(ndcgs)
    return Scores(
        k=k,
        ndcg=sum(ndcgs) / count,
        recall=sum(recalls) / count,
        mrr=sum(rrs) / count,
        queries=count,
        skipped=skipped,
    )


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError("k must be at least 1")


__all__ = [
    "Qrels",
    "Scores",
    "dcg",
    "evaluate",
    "ndcg_at_k",
    "recall_at_k",
    "reciprocal_rank_at_k",
    "relevant",
    "unique_ranking",
]
