"""Smart Turn v3.2 on onnxruntime: `SmartTurn.probability(pcm16) -> float`, the chance the turn is over.

One intra-op thread (docs/voice-latency.md: ~100-125 ms on one idle core for features and inference;
a second thread gained nothing under load, and one leaves the other core to speech-to-text). One
session serves every call of a process: onnxruntime's `run` is safe to call from several threads, and
the cascade bounds how many run at once (`TurnTaker`'s limiter). Blocking: call it in a worker thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from voice_bridge.turn.features import pcm16_features
from voice_bridge.turn.files import read_model


class SmartTurn:
    """The end-of-turn model, loaded from bytes that `read_model` checked."""

    def __init__(self, model: bytes, threads: int = 1) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])

    def probability(self, pcm16: bytes) -> float:
        """P(the speaker has finished) for PCM16 mono at 16 kHz ending at the pause (the last 8 s count)."""
        features = pcm16_features(pcm16)
        outputs = self._session.run(None, {"input_features": features[None]})
        return float(np.asarray(outputs[0]).reshape(-1)[0])


def load_smart_turn(path: Path | None = None, threads: int = 1) -> SmartTurn:
    """The pinned model from `path` (default location if None); ConfigError if missing or not the pinned file."""
    return SmartTurn(read_model(path), threads)


__all__ = ["SmartTurn", "load_smart_turn"]
