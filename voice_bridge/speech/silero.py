"""Silero VAD v6 over onnxruntime: how likely each 32 ms frame of the caller's audio is speech.

The model file is the copy faster-whisper 1.2.1 ships in `faster_whisper/assets/silero_vad_v6.onnx`
(faster-whisper is needed for speech-to-text anyway, so no second package is installed for it). It is
faster-whisper's export of Silero VAD v6 for 16 kHz only, so its signature differs from the upstream
`silero_vad.onnx` (which takes `state` (2, 1, 128) and `sr`):

    input (frames, 576) float32   64 samples of context (the previous frame's tail) + 512 new samples
    h, c  (1, 1, 128) float32     LSTM state, carried from one call to the next
    ->    speech_probs (frames,), hn, cn

Streaming feeds one frame per call and carries `h`, `c` and the 64-sample context; this gives the same
probabilities as faster-whisper's batched run over the whole clip (checked in the tests).

One `SileroVadModel` holds the InferenceSession for the whole process (`run` is thread-safe in
onnxruntime); each call of the bridge gets its own `SileroDetector` from `new_detector()`, holding that
stream's state. A detector is used by one stream at a time and is not itself thread-safe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from oratio.errors import ConfigError
from voice_bridge.speech.audio import pcm16_to_float
from voice_bridge.speech.pinned import package_dir, verify
from voice_bridge.speech.ports import INPUT_RATE

logger = logging.getLogger("voice_bridge.speech")

FRAME_SAMPLES = 512
CONTEXT_SAMPLES = 64
STATE_SHAPE = (1, 1, 128)
# faster-whisper==1.2.1 faster_whisper/assets/silero_vad_v6.onnx
MODEL_SHA256 = "4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2"
_MODEL_IN_FASTER_WHISPER = "assets/silero_vad_v6.onnx"


def default_model_path() -> Path:
    return package_dir("faster_whisper") / _MODEL_IN_FASTER_WHISPER


@dataclass(frozen=True)
class SileroVadModel:
    """The loaded model, shared by every detector of the process."""

    session: ort.InferenceSession

    @classmethod
    def load(cls, path: Path | None = None, *, sha256: str = MODEL_SHA256) -> SileroVadModel:
        """Verify the file against `sha256`, then load it (one CPU thread: a frame is ~0.1 ms of work)."""
        model_path = verify(path or default_model_path(), sha256, "Silero VAD model")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])
        inputs = {i.name: i.shape for i in session.get_inputs()}
        if set(inputs) != {"input", "h", "c"} or inputs["input"][-1] != CONTEXT_SAMPLES + FRAME_SAMPLES:
            raise ConfigError(f"{model_path} is not faster-whisper's Silero VAD v6 export (inputs {inputs})")
        logger.info("vad=silero-v6 path=%s | loaded", model_path)
        return cls(session=session)

    def new_detector(self) -> SileroDetector:
        return SileroDetector(self.session)


class SileroDetector:
    """`VoiceActivityDetector` for one stream: the shared session plus this stream's LSTM state."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self._session = session
        self._h = np.zeros(STATE_SHAPE, dtype=np.float32)
        self._c = np.zeros(STATE_SHAPE, dtype=np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)

    @property
    def frame_samples(self) -> int:
        return FRAME_SAMPLES

    @property
    def sample_rate(self) -> int:
        return INPUT_RATE

    def speech_probability(self, frame: bytes) -> float:
        if len(frame) != 2 * FRAME_SAMPLES:
            raise ValueError(
                f"a VAD frame is {FRAME_SAMPLES} PCM16 samples ({2 * FRAME_SAMPLES} bytes), got {len(frame)}"
            )
        return self.probability_of(pcm16_to_float(frame))

    def probability_of(self, samples: NDArray[np.float32]) -> float:
        """As `speech_probability`, for `FRAME_SAMPLES` float samples in [-1, 1]."""
        if samples.shape != (FRAME_SAMPLES,):
            raise ValueError(f"a VAD frame is {FRAME_SAMPLES} samples, got an array of shape {samples.shape}")
        window = np.concatenate([self._context, samples])[np.newaxis, :]
        probs, self._h, self._c = self._session.run(None, {"input": window, "h": self._h, "c": self._c})
        self._context = samples[-CONTEXT_SAMPLES:].copy()
        return float(np.asarray(probs).reshape(-1)[0])

    def reset(self) -> None:
        self._h = np.zeros(STATE_SHAPE, dtype=np.float32)
        self._c = np.zeros(STATE_SHAPE, dtype=np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)


__all__ = ["FRAME_SAMPLES", "MODEL_SHA256", "SileroDetector", "SileroVadModel", "default_model_path"]
