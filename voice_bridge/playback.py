"""Agent audio paced in real time, and the call's two-track recording.

Agent audio is sent at most `lead_s` ahead of the moment it will be heard, so that on barge-in
the bridge can stop at once and the client has only that much to flush. The player also knows
whether agent audio is playing right now, which is what makes customer speech a barge-in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio

from voice_bridge.audio import SAMPLE_BYTES, Resampler, interleave, wav_bytes
from voice_bridge.speech.ports import INPUT_RATE

RECORDING_RATE = INPUT_RATE
CHUNK_S = 0.05


@dataclass
class Recording:
    """The call as a stereo WAV at 16 kHz: left the customer, right the agent.

    The customer's track is their audio in arrival order; each agent chunk is placed where the
    customer's track stood when it was sent, so replies sit after the words they answer even when
    a client streams faster than real time (tests do).
    """

    input_rate: int
    output_rate: int
    max_s: float
    _customer: bytearray = field(default_factory=bytearray)
    _agent: bytearray = field(default_factory=bytearray)

    def __post_init__(self) -> None:
        self._from_customer = Resampler(self.input_rate, RECORDING_RATE)
        self._from_agent = Resampler(self.output_rate, RECORDING_RATE)
        self._max_bytes = int(self.max_s * RECORDING_RATE) * SAMPLE_BYTES

    def customer(self, pcm16: bytes) -> None:
        if len(self._customer) < self._max_bytes:
            self._customer += self._from_customer.feed(pcm16)

    def agent(self, pcm16: bytes) -> None:
        if len(self._customer) > len(self._agent):
            self._agent += bytes(len(self._customer) - len(self._agent))
        if len(self._agent) < self._max_bytes:
            self._agent += self._from_agent.feed(pcm16)

    @property
    def seconds(self) -> float:
        return max(len(self._customer), len(self._agent)) / SAMPLE_BYTES / RECORDING_RATE

    def wav(self) -> bytes:
        stereo = interleave(bytes(self._customer[: self._max_bytes]), bytes(self._agent[: self._max_bytes]))
        return wav_bytes(stereo, RECORDING_RATE, channels=2)


class Player:
    """Sends agent audio in `CHUNK_S` chunks, never more than `lead_s` ahead of real time."""

    def __init__(
        self, send: Callable[[bytes], Awaitable[None]], rate: int, lead_s: float, recording: Recording
    ) -> None:
        self._send = send
        self._rate = rate
        self._lead = lead_s
        self._recording = recording
        self._chunk_bytes = int(rate * CHUNK_S) * SAMPLE_BYTES
        self._sent_until = 0.0  # anyio clock time at which the audio sent so far ends playing
        self._flushed = anyio.Event()
        self.last_audio_at = 0.0

    def playing(self) -> bool:
        return anyio.current_time() < self._sent_until

    async def play(self, pcm16: bytes) -> None:
        """Send `pcm16`, pacing; returns early (dropping the rest) if `flush` is called meanwhile."""
        flushed = self._flushed
        for start in range(0, len(pcm16), self._chunk_bytes):
            chunk = pcm16[start : start + self._chunk_bytes]
            wait = self._sent_until - self._lead - anyio.current_time()
            if wait > 0:
                with anyio.move_on_after(wait):
                    await flushed.wait()
            if flushed.is_set():
                return
            await self._send(chunk)
            self._recording.agent(chunk)
            now = anyio.current_time()
            self._sent_until = max(self._sent_until, now) + len(chunk) / SAMPLE_BYTES / self._rate
            self.last_audio_at = now

    def flush(self) -> bool:
        """Stop playback now; True if audio was playing (the client must drop what it buffered)."""
        was_playing = self.playing()
        self._flushed.set()
        self._flushed = anyio.Event()
        self._sent_until = anyio.current_time()
        return was_playing

    async def drain(self) -> None:
        """Wait until the audio sent so far has played (before closing a call the agent ended)."""
        wait = self._sent_until - anyio.current_time()
        if wait > 0:
            with anyio.move_on_after(wait):
                await self._flushed.wait()
