"""Agent audio paced in real time (the call's recording is voice_bridge.recording).

Agent audio is sent at most `lead_s` ahead of the moment it will be heard, so that on barge-in
the bridge can stop at once and the client has only that much to flush. The player also knows
whether agent audio is playing right now, which is what makes customer speech a barge-in.

`pause` stops sending at once but keeps the rest (customer speech that may be only "mhmm":
voice_bridge.backchannel); `resume` goes on from the next unsent chunk, `flush` drops it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

from voice_bridge.audio import SAMPLE_BYTES
from voice_bridge.recording import Recording

CHUNK_S = 0.05


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
        self._paused = False
        self._unpaused = anyio.Event()  # set by resume and flush: a paused `play` looks again
        self.last_audio_at = 0.0

    def playing(self) -> bool:
        """Agent audio is being heard now, or is paused mid-reply."""
        return self._paused or anyio.current_time() < self._sent_until

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Send no more agent audio until `resume` or `flush`; what is unsent is kept."""
        self._paused = True

    def resume(self) -> None:
        """Go on sending from where `pause` stopped (paced again from now)."""
        self._paused = False
        self._unpaused.set()
        self._unpaused = anyio.Event()

    async def play(self, pcm16: bytes) -> None:
        """Send `pcm16`, pacing; returns early (dropping the rest) if `flush` is called meanwhile."""
        flushed = self._flushed
        for start in range(0, len(pcm16), self._chunk_bytes):
            chunk = pcm16[start : start + self._chunk_bytes]
            wait = self._sent_until - self._lead - anyio.current_time()
            if wait > 0:
                with anyio.move_on_after(wait):
                    await flushed.wait()
            while self._paused and not flushed.is_set():
                await self._unpaused.wait()
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
        self._paused = False
        self._flushed.set()
        self._flushed = anyio.Event()
        self._unpaused.set()
        self._unpaused = anyio.Event()
        self._sent_until = anyio.current_time()
        return was_playing

    async def drain(self) -> None:
        """Wait until the audio sent so far has played (before closing a call the agent ended)."""
        wait = self._sent_until - anyio.current_time()
        if wait > 0:
            with anyio.move_on_after(wait):
                await self._flushed.wait()
