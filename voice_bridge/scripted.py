"""A scripted speech backend: the real cascade over speech engines that need no models.

For benchmarks and tests where the models are not the point (how many calls the bridge holds, what
the bridge itself adds), and for `python -m oratio_app serve-door voice --speech scripted` on a machine without the
`voice` extra. Detection is by energy, "recognition" reads the next line of a script, and speech is
a tone whose length follows the text, so every part of the bridge (turns stored through the engine,
pacing, barge-in, recordings) runs for real.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from oratio.runtime import ConversationEngine
from voice_bridge.audio import rms, samples
from voice_bridge.cascade import CascadeBackend, StageObserver
from voice_bridge.endpointing import EndpointConfig
from voice_bridge.speech.ports import LocalSpeech, VoiceActivityDetector

ENERGY_FRAME = 320  # 20 ms at 16 kHz


@dataclass
class EnergyVad:
    """Speech is a frame louder than `threshold` RMS (about -36 dBFS by default): fine for clean audio."""

    threshold: float = 500.0

    @property
    def frame_samples(self) -> int:
        return ENERGY_FRAME

    def speech_probability(self, frame: bytes) -> float:
        return 1.0 if rms(frame) >= self.threshold else 0.0

    def speech_probabilities(self, pcm16: bytes) -> list[float]:
        """`speech_probability` of each whole frame, in one pass (`ScoresFrames`): the same exact integer
        sums of squares as `rms`, so the same answers, at one numpy call per piece instead of one per frame.
        A subclass that judges frames its own way (`speech_probability` overridden) is asked frame by frame."""
        whole = len(pcm16) - len(pcm16) % (ENERGY_FRAME * 2)
        if type(self).speech_probability is not EnergyVad.speech_probability:
            return [self.speech_probability(pcm16[i : i + ENERGY_FRAME * 2]) for i in range(0, whole, ENERGY_FRAME * 2)]
        frames = samples(pcm16[:whole]).reshape(-1, ENERGY_FRAME)
        wide = frames.astype(np.int64)
        levels = np.sqrt(np.einsum("ij,ij->i", wide, wide) / ENERGY_FRAME)
        scores: list[float] = np.where(levels >= self.threshold, 1.0, 0.0).tolist()
        return scores

    def reset(self) -> None:
        return None


@dataclass
class ScriptedStt:
    """Returns the script's lines in order, one per utterance, then `fallback` (numbered)."""

    script: Sequence[str] = ()
    fallback: str = "Utterance {n}."
    _count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def transcribe(self, pcm16: bytes) -> str:
        with self._lock:
            self._count += 1
            n = self._count
        if n <= len(self.script):
            return self.script[n - 1]
        return self.fallback.format(n=n)


@dataclass
class ToneTts:
    """A 440 Hz tone, `seconds_per_char` long per character: audio whose length follows the text."""

    rate: int = 16_000
    seconds_per_char: float = 0.01
    amplitude: int = 3000

    @property
    def sample_rate(self) -> int:
        return self.rate

    def synthesize(self, text: str) -> bytes:
        count = max(1, int(len(text) * self.seconds_per_char * self.rate))
        t = np.arange(count) / self.rate
        return (self.amplitude * np.sin(2 * np.pi * 440.0 * t)).astype("<i2").tobytes()


def scripted_speech(script: Sequence[str] = (), *, seconds_per_char: float = 0.01) -> LocalSpeech:
    def new_vad() -> VoiceActivityDetector:
        return EnergyVad()

    tts = ToneTts(seconds_per_char=seconds_per_char)
    return LocalSpeech(new_vad=new_vad, stt=ScriptedStt(list(script)), tts=tts, vad_on_loop=True)


def scripted_backend(
    engine: ConversationEngine,
    script: Sequence[str] = (),
    *,
    seconds_per_char: float = 0.01,
    endpoint: EndpointConfig | None = None,
    observer: StageObserver | None = None,
) -> CascadeBackend:
    """The cascade over `scripted_speech`: the deployed agent still answers every turn."""
    speech = scripted_speech(script, seconds_per_char=seconds_per_char)
    return CascadeBackend(speech, engine, endpoint=endpoint, observer=observer, name="scripted")
