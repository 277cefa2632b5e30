"""The streamlined MiniLM graph: the export's waste taken out, the vectors unchanged, anything else run as is."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from oratio.knowledge import embeddings
from oratio.knowledge.embeddings import MiniLmEmbedder

pytestmark = pytest.mark.skipif(embeddings.load_default_embedder() is None, reason="the embedding extra is absent")
onnx = pytest.importorskip("onnx")

from oratio.knowledge.minilm_graph import streamline  # noqa: E402  (needs onnx)

# Texts whose token counts differ widely, so one batch pads short ones to the longest (the mask matters).
TEXTS = [
    "Refund?",
    "How do I get my money back after a return?",
    " ".join(["The refund is paid to the card used for the purchase within ten business days."] * 18),
    "Opening hours: 9 to 5, Monday to Friday.",
    " ".join(["Premium members may return items for ninety days, others for thirty."] * 6),
]


def _pinned() -> bytes:
    return embeddings._default_model_path().read_bytes()


def test_the_rewrites_take_out_the_export_waste() -> None:
    before = Counter(node.op_type for node in onnx.load_from_string(_pinned()).graph.node)
    after_model = onnx.load_from_string(streamline(_pinned()))
    onnx.checker.check_model(after_model)
    after = Counter(node.op_type for node in after_model.graph.node)

    assert (before["IsNaN"], before["Erf"], before["GatherND"]) == (6, 6, 1)
    assert (after["IsNaN"], after["Erf"], after["GatherND"]) == (0, 0, 0)  # NaN guards, spelled-out GELU, full mask
    assert after["Gelu"] == 6
    assert after["MatMul"] == before["MatMul"]  # the products themselves are untouched


def test_the_streamlined_graph_gives_the_vectors_of_the_file_as_shipped() -> None:
    shipped = MiniLmEmbedder(streamline=False)
    streamlined = MiniLmEmbedder()
    assert (shipped.streamlined, streamlined.streamlined) == (False, True)

    together = streamlined.embed_array(TEXTS)  # one padded batch
    one_by_one = np.vstack([streamlined.embed_array([text]) for text in TEXTS])  # no padding at all
    expected = shipped.embed_array(TEXTS)

    for vectors in (together, one_by_one):
        assert np.abs(vectors - expected).max() < 1e-5
        assert (vectors * expected).sum(axis=1).min() > 0.99999


def test_a_graph_of_another_shape_runs_as_shipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A GELU that is not 0.5 * x * (1 + erf(x / sqrt 2)) is not fused: no rewrite changes the arithmetic."""
    model = onnx.load_from_string(_pinned())
    halves = {node.input[0] for node in model.graph.node if node.op_type == "Mul"} | {
        node.input[1] for node in model.graph.node if node.op_type == "Mul"
    }
    for init in model.graph.initializer:
        value = onnx.numpy_helper.to_array(init)
        if init.name in halves and value.size == 1 and value.dtype.kind == "f" and float(value) == 0.5:
            almost = np.array(0.499, dtype=value.dtype).reshape(value.shape)
            init.CopyFrom(onnx.numpy_helper.from_array(almost, init.name))
    changed = model.SerializeToString()
    assert streamline(changed) is None

    path = tmp_path / "model.onnx"
    path.write_bytes(changed)
    other = MiniLmEmbedder(model_path=path, model_sha256=hashlib.sha256(changed).hexdigest())
    with caplog.at_level(logging.WARNING, logger="oratio.knowledge"):
        vectors = other.embed_array(TEXTS[:2])
    assert other.streamlined is False
    assert "not the shape the rewrites expect" in caplog.text
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_graph_without_the_expected_nodes_is_left_alone() -> None:
    helper = onnx.helper
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
    )
    assert streamline(helper.make_model(graph).SerializeToString()) is None
