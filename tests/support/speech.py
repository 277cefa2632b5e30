"""The local speech engines, loaded once per test session (`voice_bridge.speech.local`, the `voice` extra).

Loading them (silero VAD, Whisper tiny.en, Piper) verifies and reads every file: seconds each time, and
tests/speech and tests/voice_bridge used to load them once per module or test. The loaded engines keep no
state between calls (the VAD hands out a new detector per call), which is why the bridge itself loads
them once at start and shares them; the tests do the same.
"""

from __future__ import annotations

import functools
import importlib
import os

import pytest

from oratio.errors import ConfigError
from voice_bridge.speech.ports import LocalSpeech


@functools.cache
def session_speech() -> LocalSpeech:
    """`load_local_speech()`, loaded on first use and shared; its `ConfigError` (not cached) is the caller's."""
    local = importlib.import_module("voice_bridge.speech.local")
    speech: LocalSpeech = local.load_local_speech()
    return speech


def real_speech() -> LocalSpeech:
    """The shared engines for a test; it skips where they are absent, and under CI a missing package fails it."""
    try:
        importlib.import_module("voice_bridge.speech.local")  # absent from this checkout: skip
    except ImportError:
        pytest.skip("voice_bridge.speech.local (the speech engines) is not part of this checkout")
    try:
        speech = session_speech()
    except ConfigError as exc:
        if os.environ.get("CI"):
            pytest.fail(exc.message)
        pytest.skip(exc.message)
    return speech
