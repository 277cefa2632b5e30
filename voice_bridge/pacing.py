"""Customer audio may not arrive faster than it is spoken (beyond a small burst).

A caller that pushes 30 minutes of audio in seconds makes the bridge buffer, transcribe and record
all of it at once. So each call counts the audio it has admitted, in seconds at the rate chosen in
`start`, against the wall-clock time since the call began: the audio may run ahead by at most
`burst_s` (a client's buffered first second, network jitter). Beyond it the call closes with 1008.
A client that falls behind (a half-duplex client listening to the agent) earns no credit beyond the
time that really passed, so it can never send more than `elapsed + burst_s` seconds in total.
"""

from __future__ import annotations

from collections.abc import Callable

from voice_bridge.audio import SAMPLE_BYTES
from voice_bridge.protocol import Close, ProtocolError

Clock = Callable[[], float]
"""Seconds from any fixed origin (`anyio.current_time` in the bridge; a settable clock in tests)."""


class AudioPacer:
    """Admits PCM16 frames while the audio stays within `burst_s` of real time; ProtocolError beyond."""

    def __init__(self, sample_rate: int, burst_s: float, clock: Clock) -> None:
        self._rate = sample_rate
        self._burst_s = burst_s
        self._clock = clock
        self._started = clock()
        self._samples = 0

    @property
    def audio_s(self) -> float:
        """Seconds of audio admitted so far."""
        return self._samples / self._rate

    def ahead_s(self) -> float:
        """How far the admitted audio runs ahead of the time that passed since the call began."""
        return self.audio_s - (self._clock() - self._started)

    def admit(self, frame: bytes) -> None:
        """Count `frame`, or refuse it (it is not admitted) when it would put the call beyond the burst."""
        samples = len(frame) // SAMPLE_BYTES
        ahead = (self._samples + samples) / self._rate - (self._clock() - self._started)
        if ahead > self._burst_s:
            raise ProtocolError(
                Close.POLICY,
                f"audio arrives faster than real time (over {self._burst_s:g}s ahead); send it as it is spoken",
            )
        self._samples += samples
