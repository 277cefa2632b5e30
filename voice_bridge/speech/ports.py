"""The seams between the voice bridge's cascade and the speech engines behind it.

All audio crossing these seams is PCM16 little-endian mono (`bytes`). The cascade resamples the
customer's audio to `INPUT_RATE` before it reaches a detector or recogniser, and a synthesiser says
at which rate its audio comes out, so no engine needs to know the customer's format.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

INPUT_RATE = 16_000
"""Sample rate of audio given to voice activity detection and speech-to-text."""


class SttWindow(StrEnum):
    """How much audio Whisper's encoder reads: `trimmed` max(10 s, utterance + 1 s), or the `full` 30 s."""

    TRIMMED = "trimmed"
    FULL = "full"


class VoiceActivityDetector(Protocol):
    """Says how likely one short frame is speech. Stateful (recurrent models): `reset` between utterances."""

    @property
    def frame_samples(self) -> int:
        """Samples per frame at INPUT_RATE that `speech_probability` takes (silero: 512)."""
        ...

    def speech_probability(self, frame: bytes) -> float:
        """Probability 0..1 that this frame (exactly `frame_samples` PCM16 samples at INPUT_RATE) is speech."""
        ...

    def reset(self) -> None: ...


@runtime_checkable
class ScoresFrames(Protocol):
    """A detector whose probability for a frame depends on that frame alone (no state, `reset` does
    nothing): it may score many frames in one pass. The endpointer then asks once per piece of audio,
    not once per frame (the energy detector: one numpy call per 100 ms frame instead of five)."""

    def speech_probabilities(self, pcm16: bytes) -> Sequence[float]:
        """`speech_probability` of each whole frame of `pcm16` (a multiple of `frame_samples` samples), in order."""
        ...


class SpeechToText(Protocol):
    def transcribe(self, pcm16: bytes) -> str:
        """The words in one utterance of PCM16 at INPUT_RATE; "" when nothing intelligible was said."""
        ...


@runtime_checkable
class TranscribesAfter(Protocol):
    """A recogniser that can hear audio as the continuation of words said just before it (Whisper's prompt):
    the cascade's stretches give it their committed text, for casing and punctuation across the cut."""

    def transcribe_after(self, pcm16: bytes, prompt: str) -> str:
        """`transcribe(pcm16)`, conditioned on `prompt` (the words before it; not part of the result)."""
        ...


class TextToSpeech(Protocol):
    @property
    def sample_rate(self) -> int:
        """Sample rate of the audio `synthesize` returns."""
        ...

    def synthesize(self, text: str) -> bytes:
        """PCM16 mono audio speaking `text` at `sample_rate`."""
        ...


@dataclass(frozen=True)
class LocalSpeech:
    """The three engines of the offline cascade, loaded once per process and shared by its calls.

    Detectors carry per-stream state, so each call gets its own from `new_vad` (sharing the loaded model).
    `vad_on_loop`: the detector costs microseconds a frame (an energy threshold), so it runs on the event
    loop; a model (Silero) runs in a worker thread (voice_bridge.detection).
    """

    new_vad: Callable[[], VoiceActivityDetector]
    stt: SpeechToText
    tts: TextToSpeech
    vad_on_loop: bool = False


__all__ = [
    "INPUT_RATE",
    "LocalSpeech",
    "ScoresFrames",
    "SpeechToText",
    "SttWindow",
    "TextToSpeech",
    "TranscribesAfter",
    "VoiceActivityDetector",
]
