"""Speech engines for the bridge's tests: real classes implementing the cascade's Protocols.

`EspeakTts` really speaks (espeak-ng), and `speak` makes customer audio the same way, so the
voice activity detection and barge-in tests run on real speech. Recognition is scripted
(`ScriptedStt`), because which words a model hears is the speech engines' own tests' business.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from tests.system import require_program
from voice_bridge.audio import read_wav, resample
from voice_bridge.scripted import EnergyVad, ScriptedStt
from voice_bridge.speech.ports import LocalSpeech, VoiceActivityDetector

ESPEAK_RATE = 22_050


def speak(text: str, rate: int = 16_000, *, voice: str | None = None) -> bytes:
    """`text` spoken by espeak-ng (its default voice, or `voice`: "en-us"), as PCM16 mono at `rate`."""
    espeak = require_program("espeak-ng")
    choice = ["-v", voice] if voice else []
    done = subprocess.run([espeak, "--stdout", "-s", "170", *choice, text], check=True, capture_output=True, timeout=30)
    pcm, source_rate, _ = read_wav(done.stdout)
    return resample(pcm, source_rate, rate)


def silence(seconds: float, rate: int = 16_000) -> bytes:
    return bytes(int(seconds * rate) * 2)


class EspeakTts:
    """Text-to-speech by espeak-ng (a real synthesiser, as the cascade's fallback voice is)."""

    def __init__(self) -> None:
        self._program = require_program("espeak-ng")
        self.calls: list[str] = []

    @property
    def sample_rate(self) -> int:
        return ESPEAK_RATE

    def synthesize(self, text: str) -> bytes:
        self.calls.append(text)
        wav = subprocess.run(
            [self._program, "--stdout", "-s", "170", text], check=True, capture_output=True, timeout=30
        ).stdout
        pcm, rate, _ = read_wav(wav)
        assert rate == ESPEAK_RATE
        return pcm


def espeak_speech(script: Sequence[str]) -> LocalSpeech:
    """Energy VAD, scripted recognition of `script` in order, espeak-ng's voice."""

    def new_vad() -> VoiceActivityDetector:
        return EnergyVad()

    return LocalSpeech(new_vad=new_vad, stt=ScriptedStt(list(script)), tts=EspeakTts())
