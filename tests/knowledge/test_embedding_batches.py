"""The embedder's batching (sorted, dynamically padded, within a token budget) keeps the vectors it made
before (reference vectors from the code at 53bf986) and reports its progress batch by batch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from oratio.knowledge import embeddings
from oratio.knowledge.embeddings import MiniLmEmbedder
from oratio.knowledge.progress import observed

REFERENCE = Path(__file__).parent / "data" / "minilm_reference.json"

pytestmark = pytest.mark.skipif(embeddings.load_default_embedder() is None, reason="the embedding extra is absent")


@pytest.fixture(scope="module")
def model() -> MiniLmEmbedder:
    loaded = MiniLmEmbedder()
    loaded.load()
    return loaded


def test_same_vectors_as_before_whatever_the_batching(model: MiniLmEmbedder) -> None:
    reference = json.loads(REFERENCE.read_text())
    texts: list[str] = reference["texts"]
    expected = np.asarray(reference["vectors"], dtype=np.float32)
    assert reference["model_id"] == model.model_id

    together = model.embed_array(texts)
    one_by_one = np.vstack([model.embed_array([text]) for text in texts])
    tiny_batches = MiniLmEmbedder(batch_size=2, batch_tokens=embeddings.MAX_TOKENS)
    reversed_order = tiny_batches.embed_array(texts[::-1])[::-1]

    for vectors in (together, one_by_one, reversed_order):
        cosines = (vectors * expected).sum(axis=1)
        assert cosines.min() > 0.99999, cosines


def test_progress_is_reported_after_each_batch() -> None:
    model = MiniLmEmbedder(batch_size=2)
    reports: list[tuple[int, int]] = []

    with observed(lambda done, total: reports.append((done, total))):
        model.embed(["one", "two", "three", "four", "five"])
    model.embed(["nobody listens"])  # outside the block: reported to nobody

    assert reports == [(2, 5), (4, 5), (5, 5)]


@pytest.mark.parametrize(
    ("lengths", "most", "tokens", "expected"),
    [
        ([10, 10, 10, 10], 32, 2048, [[0, 1, 2, 3]]),  # short texts: one call
        ([256] * 10, 32, 2048, [list(range(8)), [8, 9]]),  # full-length chunks: 8 per call
        ([5, 100, 200, 256], 32, 400, [[0, 1], [2], [3]]),  # padded size = count x longest <= budget
        ([3] * 5, 2, 2048, [[0, 1], [2, 3], [4]]),  # at most `most` sequences
    ],
)
def test_batches_fit_the_token_budget(lengths: list[int], most: int, tokens: int, expected: list[list[int]]) -> None:
    order = list(range(len(lengths)))
    assert list(embeddings._batches(lengths, order, most, tokens)) == expected
