"""A small real embedder for index tests: words hashed into a fixed number of dimensions, L2-normalised.

Deterministic and instant (no model files), so tests of the index's structures do not wait on
onnxruntime; texts that share words are near, as with a sentence model.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Sequence

from oratio.knowledge.embeddings import load_default_embedder
from oratio.knowledge.ports import Embedder

_WORD = re.compile(r"[^\W_]+")


class WordHashEmbedder:
    def __init__(self, dimensions: int = 64, model_id: str = "word-hash-64") -> None:
        self._dimensions = dimensions
        self._model_id = model_id

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimensions(self) -> int:
        return self._dimensions

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._one(text) for text in texts]

    def _one(self, text: str) -> list[float]:
        vector = [0.0] * self._dimensions
        for word in _WORD.findall(text.lower()):
            digest = hashlib.sha256(word.encode()).digest()
            vector[int.from_bytes(digest[:4], "big") % self._dimensions] += 1.0 if digest[4] & 1 else -1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector] if any(vector) else [1.0 / math.sqrt(self._dimensions)] * self._dimensions


@functools.cache
def session_embedder(*, intra_op_threads: int = 2) -> Embedder | None:
    """`load_default_embedder`, one per test session: what a platform opened with `embeddings=True` embeds with.

    Loading MiniLM (its SHA-256 checks, the graph rewrite, an onnxruntime session) takes seconds, and every
    test platform used to load its own on its first embedding; the loaded model holds no state of any
    tenant or platform (only the session and tokenizer), so every platform of the session can share it.
    The model's own loading and checks are tested on instances of their own (tests/knowledge).
    """
    return load_default_embedder(intra_op_threads=intra_op_threads)
