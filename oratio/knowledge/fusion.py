"""How the lexical (BM25) and dense rankings of one search become one ranking, and what its score means.

A seam of its own so the fusion rule can change without touching how either ranking is produced.

The rule: a convex combination of the two lists' scores,

    score = DENSE_WEIGHT * cosine + (1 - DENSE_WEIGHT) * bm25 / best bm25 of this query

Why this one, and why these numbers (all measured by `bench/fusion.py`, tuned on one half of the bench
questions and reported on the other):
- Equal-weight Reciprocal Rank Fusion (the rule before) throws the scores away and gives the weaker list
  as much say as the stronger: on the bench it made hybrid *worse* than dense alone. Weighted RRF helps
  but still ranks by position only; the convex combination of scores ranks at least as well as dense on
  the held-out half, where both RRF variants fall below it.
- BM25 is divided by the query's best BM25 score, so the fused score does not depend on the absolute
  scale of BM25 (which changes with the implementation, the collection's statistics and the query's
  length). Scores that are not all positive are min-max scaled instead, for the same reason.
- The cosine is kept raw (not rescaled per query): it is the one absolute signal of the two, so the
  fused score says how relevant the best hit is, not only which hit is best. That is what the relevance
  floor (`RELEVANCE_FLOOR`, applied by the knowledge service before hits reach the model) compares with.
- A chunk in the lexical list only has a cosine below every chunk of the dense list: it is given the
  list's lowest cosine (an upper bound on its own). A chunk in the dense list only gets 0 from BM25.
- Agreement: a chunk *both* rankings put first, with a cosine of at least `AGREED_COSINE_MIN`, scores at
  least `AGREED_SCORE`, over the default floor. An exact code or name ("E-7731" alone) is what BM25 is
  for, and the embedder scores it low (cosine 0.33 for the chunk that holds it): without this, the floor
  would drop the one chunk that answers. Two independent rankings agreeing is rare by chance: 1 of the 60
  unanswerable bench questions, with a cosine of 0.21; half of the answerable ones. The lift never
  changes the order (that chunk already has the best cosine and the best BM25).
- With no dense list (no embedder, or no vectors stored) the score is BM25 / best BM25: the order is
  BM25's, and the score has no absolute meaning, so no floor is applied there (see `KnowledgeService`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

DENSE_WEIGHT = 0.97
"""The cosine's share of the fused score; tuned by `bench/fusion.py` on the tuning half of the bench questions."""

RELEVANCE_FLOOR = 0.36
"""Fused score under which a hit is taken for noise (default of ORATIO_KNOWLEDGE_FLOOR); tuned by `bench/fusion.py`."""

AGREED_SCORE = 0.5
"""The least score of a chunk both rankings put first (see the module docstring)."""

AGREED_COSINE_MIN = 0.25
"""...as long as its cosine is at least this: agreement on a chunk the embedder finds unrelated is chance."""

RRF_K = 60  # the constant of Cormack et al. for `rrf`, kept as the baseline the bench compares with

Ranked = Sequence[tuple[int, float]]
"""(chunk id, the ranking's own score), best first."""


def fuse(lexical: Ranked, dense: Ranked, k: int, *, dense_weight: float = DENSE_WEIGHT) -> list[tuple[int, float]]:
    """The `k` best chunk ids of both rankings, best first, with their fused score (see the module docstring).

    `lexical` holds BM25 scores (higher is better, any scale); `dense` holds cosine similarities.
    Ties are broken by the best rank either list gave the chunk, then by chunk id, so the order is stable.
    """
    if not 0.0 <= dense_weight <= 1.0:
        raise ValueError("dense_weight must be between 0 and 1")
    lexical_share = 1.0 - dense_weight
    words = _scaled(lexical)
    cosines = {chunk_id: _finite(score) for chunk_id, score in dense}
    best_rank: dict[int, int] = {}
    for ranking in (lexical, dense):
        for rank, (chunk_id, _) in enumerate(ranking, start=1):
            best_rank[chunk_id] = min(best_rank.get(chunk_id, rank), rank)
    fused: dict[int, float]
    if not cosines:
        fused = dict(words)
    else:
        unseen_cosine = min(cosines.values())
        fused = {
            chunk_id: dense_weight * cosines.get(chunk_id, unseen_cosine) + lexical_share * words.get(chunk_id, 0.0)
            for chunk_id in best_rank
        }
        agreed = lexical[0][0] if lexical and lexical[0][0] == dense[0][0] else None
        if agreed is not None and cosines[agreed] >= AGREED_COSINE_MIN:
            fused[agreed] = max(fused[agreed], AGREED_SCORE)
    order = sorted(fused, key=lambda chunk_id: (-fused[chunk_id], best_rank[chunk_id], chunk_id))[:k]
    return [(chunk_id, fused[chunk_id]) for chunk_id in order]


def rrf(lexical: Ranked, dense: Ranked, k: int, *, dense_weight: float = 0.5) -> list[tuple[int, float]]:
    """(Weighted) Reciprocal Rank Fusion: the rule before `fuse`; 0.5 is equal weight. For the bench."""
    fused: dict[int, float] = {}
    best_rank: dict[int, int] = {}
    for weight, ranking in ((1.0 - dense_weight, lexical), (dense_weight, dense)):
        for rank, (chunk_id, _) in enumerate(ranking, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + 2.0 * weight / (RRF_K + rank)
            best_rank[chunk_id] = min(best_rank.get(chunk_id, rank), rank)
    order = sorted(fused, key=lambda chunk_id: (-fused[chunk_id], best_rank[chunk_id], chunk_id))[:k]
    return [(chunk_id, fused[chunk_id]) for chunk_id in order]


def _scaled(lexical: Ranked) -> dict[int, float]:
    """BM25 scores mapped to [0, 1] without regard to their scale: over the best, or min-max if not all positive."""
    scores = {chunk_id: _finite(score) for chunk_id, score in lexical}
    if not scores:
        return {}
    best, worst = max(scores.values()), min(scores.values())
    if worst > 0.0:
        return {chunk_id: score / best for chunk_id, score in scores.items()}
    if best == worst:
        return dict.fromkeys(scores, 1.0)
    return {chunk_id: (score - worst) / (best - worst) for chunk_id, score in scores.items()}


def _finite(score: float) -> float:
    """A score a broken ranking could have sent as NaN or infinite counts as nothing."""
    return score if math.isfinite(score) else 0.0


__all__ = ["AGREED_COSINE_MIN", "AGREED_SCORE", "DENSE_WEIGHT", "RELEVANCE_FLOOR", "RRF_K", "Ranked", "fuse", "rrf"]
