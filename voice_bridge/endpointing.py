"""Cuts the customer's 16 kHz audio into utterances with a voice activity detector and a hangover.

Speech starts after `start_frames` consecutive speech frames (one noisy frame is not a word); an
utterance ends after `hangover_s` of non-speech (people pause mid-sentence) or at `max_s`. A little
audio from before the start (`preroll_s`) is kept so the recogniser hears the first syllable.

With `pause_s` set, the first `pause_s` of non-speech inside an utterance is reported too (`Pause`, with
the audio so far), so the cascade can start transcribing before the hangover has run out (speculative
transcription, issue 21). The `Utterance` then says, in `paused_at`, how much of it had been heard at
the pause that ended it: when that equals a `Pause`'s length, no speech came after that pause and a
transcript of the `Pause`'s audio stands for the whole utterance.

`end_at(pause)` ends the utterance at such a pause, before the hangover, when something other than
silence says the turn is over (Smart Turn, `voice_bridge.turn.taker`, or the speculative transcript ending
a sentence, the cascade's text signal); then the hangover is the ceiling.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from voice_bridge.speech.ports import INPUT_RATE, ScoresFrames, VoiceActivityDetector


@dataclass(frozen=True)
class EndpointConfig:
    threshold: float = 0.5
    start_frames: int = 2
    hangover_s: float = 0.6
    preroll_s: float = 0.2
    max_s: float = 30.0
    pause_s: float | None = None  # report a Pause after this much non-speech; None: never


@dataclass(frozen=True)
class SpeechStart:
    """The customer started speaking (reported at once, for barge-in)."""


@dataclass(frozen=True)
class Pause:
    """A short pause inside utterance number `seq`: its PCM16 so far (speech may still resume)."""

    pcm16: bytes
    seq: int


@dataclass(frozen=True)
class Utterance:
    """One utterance of PCM16 at INPUT_RATE, and whether `max_s` cut it.

    `seq` numbers the endpointer's utterances; `paused_at` is the length of the `Pause` of this utterance
    that no speech followed (None when there was none)."""

    pcm16: bytes
    cut: bool = False
    seq: int = 0
    paused_at: int | None = None


Boundary = SpeechStart | Pause | Utterance


@dataclass
class Endpointer:
    vad: VoiceActivityDetector
    config: EndpointConfig = field(default_factory=EndpointConfig)
    _pending: bytearray = field(default_factory=bytearray)
    _speech: bytearray = field(default_factory=bytearray)
    _preroll: deque[bytes] = field(default_factory=deque)
    _in_speech: bool = False
    _run: int = 0
    _quiet: int = 0
    _seq: int = 0
    _paused_at: int | None = None
    _onset: int = 0  # where in `_speech` the first speech frame of the utterance in progress begins
    _scores: Callable[[bytes], Sequence[float]] | None = field(init=False, default=None)
    """The detector's batch scoring when it has one (`ScoresFrames`), looked up once: a runtime
    Protocol check costs more than the energy detector's whole frame."""

    _frame_s: float = field(init=False, default=0.0)
    _frame_bytes: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._scores = self.vad.speech_probabilities if isinstance(self.vad, ScoresFrames) else None
        # Fixed for the detector's life; read once rather than at every 20 ms frame.
        self._frame_s = self.vad.frame_samples / INPUT_RATE
        self._frame_bytes = self.vad.frame_samples * 2
        keep = max(self.config.start_frames, round(self.config.preroll_s / self._frame_s))
        self._preroll = deque(self._preroll, maxlen=keep)  # the oldest frame falls out as a new one comes

    @property
    def frame_bytes(self) -> int:
        return self._frame_bytes

    @property
    def speaking(self) -> bool:
        return self._in_speech

    @property
    def seq(self) -> int:
        """The number of the utterance in progress (or of the next one, between utterances)."""
        return self._seq

    @property
    def paused_at(self) -> int | None:
        """The length of the utterance in progress at its last reported `Pause`, while no speech came after it."""
        return self._paused_at

    @property
    def quiet_s(self) -> float:
        """Seconds of non-speech since the last speech frame of the utterance in progress."""
        return self._quiet * self.vad.frame_samples / INPUT_RATE

    @property
    def voiced_s(self) -> float:
        """Seconds from the first to the last speech frame of the utterance in progress (0 between
        utterances): speech over the agent that lasts longer than a backchannel interrupts it at once."""
        if not self._in_speech:
            return 0.0
        return max(0, len(self._speech) - self._quiet * self.frame_bytes - self._onset) / 2 / INPUT_RATE

    def completes_frame(self, size: int) -> bool:
        """Whether `size` more bytes complete at least one detector frame (else `feed` only buffers them)."""
        return len(self._pending) + size >= self.frame_bytes

    def feed(self, pcm16: bytes) -> list[Boundary]:
        """Audio at INPUT_RATE in any size; the boundaries it completes, in order.

        A stateless detector (`ScoresFrames`) scores every whole frame of the piece in one pass (one numpy
        call for a 100 ms frame's five, not five): the same probabilities, so the same boundaries."""
        self._pending += pcm16
        size = self.frame_bytes
        whole = len(self._pending) - len(self._pending) % size
        if not whole:
            return []
        found: list[Boundary] = []
        chunk = bytes(self._pending[:whole])
        del self._pending[:whole]
        scores = self._scores(chunk) if self._scores is not None else None
        for n, start in enumerate(range(0, whole, size)):
            frame = chunk[start : start + size]
            probability = scores[n] if scores is not None else self.vad.speech_probability(frame)
            found.extend(self._frame(frame, probability))
        return found

    def _frame(self, frame: bytes, probability: float) -> list[Boundary]:
        is_speech = probability >= self.config.threshold
        frame_s = self._frame_s
        if not self._in_speech:
            self._preroll.append(frame)
            self._run = self._run + 1 if is_speech else 0
            if self._run < self.config.start_frames:
                return []
            self._in_speech, self._quiet = True, 0
            self._speech = bytearray(b"".join(self._preroll))
            self._onset = len(self._speech) - self.config.start_frames * self.frame_bytes
            self._preroll.clear()
            return [SpeechStart()]
        self._speech += frame
        self._quiet = 0 if is_speech else self._quiet + 1
        if is_speech:
            self._paused_at = None  # speech resumed: a transcript of the pause no longer covers the utterance
        if self._quiet * frame_s >= self.config.hangover_s:
            return [self._finish(cut=False)]
        if len(self._speech) / 2 / INPUT_RATE >= self.config.max_s:
            return [self._finish(cut=True)]
        pause_s = self.config.pause_s
        if pause_s is not None and self._paused_at is None and self._quiet and self._quiet * frame_s >= pause_s:
            self._paused_at = len(self._speech)
            return [Pause(bytes(self._speech), self._seq)]
        return []

    def _finish(self, *, cut: bool) -> Utterance:
        utterance = Utterance(bytes(self._speech), cut=cut, seq=self._seq, paused_at=self._paused_at)
        self._seq += 1
        self._paused_at = None
        self._speech = bytearray()
        self._in_speech, self._run, self._quiet = False, 0, 0
        self.vad.reset()
        return utterance

    def end_at(self, pause: Pause) -> Utterance | None:
        """End the utterance now if it is still `pause`'s and no speech came after that pause; else None.

        Not thread-safe against `feed`: the caller serialises the two (`TurnTaker` holds one lock for both).
        """
        return self.end_paused(pause.seq, len(pause.pcm16))

    def end_paused(self, seq: int, length: int) -> Utterance | None:
        """`end_at` by the pause's number and length: None unless utterance `seq` is in progress and no speech
        came after its pause of `length` bytes. Not thread-safe against `feed` either."""
        if not self._in_speech or seq != self._seq or self._paused_at != length:
            return None
        return self._finish(cut=False)

    def flush(self) -> Utterance | None:
        """At the end of the call: the utterance in progress, if any."""
        if not self._in_speech or not self._speech:
            return None
        return self._finish(cut=False)
