"""Issue 21 capacity: a stateless detector scores a piece of audio's whole frames in one pass.

The energy detector's per-frame numpy call was most of the listener's cost per frame at 100 calls. What is
asserted is that the endpointer asks once per piece and that every answer, and so every boundary, is the
same as frame by frame; never timing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voice_bridge.endpointing import Boundary, EndpointConfig, Endpointer, Pause, Utterance
from voice_bridge.scripted import ENERGY_FRAME, EnergyVad, ToneTts
from voice_bridge.speech.ports import INPUT_RATE, ScoresFrames


def tone(seconds: float, amplitude: int = 4000) -> bytes:
    return ToneTts(amplitude=amplitude).synthesize("x" * int(seconds * 100))


def silence(seconds: float) -> bytes:
    return bytes(int(seconds * INPUT_RATE) * 2)


def noise(seconds: float, level: int, seed: int) -> bytes:
    values = np.random.default_rng(seed).normal(0, level, int(seconds * INPUT_RATE))
    return bytes(np.clip(values, -32768, 32767).astype("<i2").tobytes())


def conversation() -> bytes:
    """Utterances with a mid-sentence pause, one cut at `max_s`, and noise around the threshold between."""
    return (
        noise(0.3, 450, 1)
        + tone(0.5)
        + silence(0.3)
        + tone(0.4)
        + silence(0.8)
        + noise(0.5, 520, 2)
        + tone(2.5, amplitude=1000)
        + silence(1.0)
        + tone(0.06)  # one word too short to be speech
        + silence(0.7)
    )


@dataclass
class FrameByFrame:
    """The energy detector asked one frame at a time (no `speech_probabilities`): the reference."""

    inner: EnergyVad
    frames: int = 0

    @property
    def frame_samples(self) -> int:
        return self.inner.frame_samples

    def speech_probability(self, frame: bytes) -> float:
        self.frames += 1
        return self.inner.speech_probability(frame)

    def reset(self) -> None:
        self.inner.reset()


@dataclass
class CountingScorer(FrameByFrame):
    """The energy detector with its batch scoring, counting how it is asked."""

    passes: int = 0

    def speech_probabilities(self, pcm16: bytes) -> Sequence[float]:
        self.passes += 1
        return self.inner.speech_probabilities(pcm16)


def boundaries(endpointer: Endpointer, audio: bytes, piece: int) -> tuple[list[Boundary], int]:
    """What the endpointer finds in `audio` fed in `piece`-byte pieces, and how many pieces completed a frame."""
    found: list[Boundary] = []
    completing = 0
    for start in range(0, len(audio), piece):
        chunk = audio[start : start + piece]
        completing += endpointer.completes_frame(len(chunk))
        found.extend(endpointer.feed(chunk))
    return found, completing


def test_the_energy_detector_scores_a_piece_as_it_scores_each_frame() -> None:
    vad = EnergyVad()
    audio = conversation()
    frame = ENERGY_FRAME * 2
    for size in (frame, 5 * frame, 3200 * 7, len(audio) - len(audio) % frame):
        piece = audio[:size]
        expected = [vad.speech_probability(piece[i : i + frame]) for i in range(0, size - size % frame, frame)]
        assert vad.speech_probabilities(piece) == expected
    # A level exactly at the threshold is speech, as `rms` >= threshold says frame by frame.
    edge = np.full(ENERGY_FRAME, 500, dtype="<i2").tobytes() + np.full(ENERGY_FRAME, 499, dtype="<i2").tobytes()
    assert vad.speech_probabilities(edge) == [1.0, 0.0]
    assert vad.speech_probabilities(b"") == []


def test_the_endpointer_asks_a_stateless_detector_once_per_piece_and_finds_the_same_boundaries() -> None:
    audio = conversation()
    config = EndpointConfig(max_s=2.0, pause_s=0.2)
    for piece in (3200, 1234, 640, 48_000):  # 100 ms frames, odd sizes, a detector frame, 1.5 s at once
        reference = FrameByFrame(EnergyVad())
        expected, _ = boundaries(Endpointer(reference, config), audio, piece)
        scorer = CountingScorer(EnergyVad())
        assert isinstance(scorer, ScoresFrames)
        found, completing = boundaries(Endpointer(scorer, config), audio, piece)
        assert found == expected
        assert scorer.frames == 0 and scorer.passes == completing  # one pass per piece that completes a frame
    utterances = [boundary for boundary in expected if isinstance(boundary, Utterance)]
    assert len(utterances) >= 3 and any(u.cut for u in utterances)  # the audio has what it is meant to have
    assert any(isinstance(boundary, Pause) for boundary in expected)
