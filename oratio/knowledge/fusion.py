"""How the lexical (BM25) and dense rankings of one search become one ranking.

A seam of its own so the fusion rule can change (weights tuned on a held-out half of the bench
questions, a relevance floor) without touching how either ranking is produced. Today: Reciprocal Rank
Fusion, which needs no score calibration between the two lists.
"""

from __future__ import annotations

from collections.abc import Sequence

RRF_K = 60  # the constant of Cormack et al.; damps the weight of the very first ranks

Ranked = Sequence[tuple[int, float]]
"""(chunk id, the ranking's own score), best first."""


def fuse(lexical: Ranked, dense: Ranked, k: int) -> list[tuple[int, float]]:
    """The `k` best chunk ids of both rankings, best first, with their fused score."""
    fused: dict[int, float] = {}
    best_rank: dict[int, int] = {}
    for ranking in ([chunk_id for chunk_id, _ in lexical], [chunk_id for chunk_id, _ in dense]):
        for rank, chunk_id in enumerate(ranking, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
            best_rank[chunk_id] = min(best_rank.get(chunk_id, rank), rank)
    order = sorted(fused, key=lambda chunk_id: (-fused[chunk_id], best_rank[chunk_id], chunk_id))[:k]
    return [(chunk_id, fused[chunk_id]) for chunk_id in order]
