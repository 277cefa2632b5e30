"""Session-wide speech engines: each model loads once for the whole test session (seconds each)."""

from __future__ import annotations

import pytest

from tests.support.speech import session_speech
from tests.system import require_program
from voice_bridge.speech.espeak import EspeakTextToSpeech
from voice_bridge.speech.piper import PiperTextToSpeech
from voice_bridge.speech.ports import LocalSpeech
from voice_bridge.speech.silero import SileroVadModel
from voice_bridge.speech.whisper import WhisperSpeechToText


@pytest.fixture(scope="session")
def local_speech() -> LocalSpeech:
    """The cascade as the bridge loads it (Piper installed by the dev extra, so Piper speaks)."""
    require_program("espeak-ng")
    return session_speech()  # the one `load_local_speech()` of the session (tests.support.speech)


@pytest.fixture(scope="session")
def whisper(local_speech: LocalSpeech) -> WhisperSpeechToText:
    assert isinstance(local_speech.stt, WhisperSpeechToText)
    return local_speech.stt


@pytest.fixture(scope="session")
def piper(local_speech: LocalSpeech) -> PiperTextToSpeech:
    assert isinstance(local_speech.tts, PiperTextToSpeech)
    return local_speech.tts


@pytest.fixture(scope="session")
def espeak() -> EspeakTextToSpeech:
    require_program("espeak-ng")
    return EspeakTextToSpeech()


@pytest.fixture(scope="session")
def vad_model() -> SileroVadModel:
    return SileroVadModel.load()
