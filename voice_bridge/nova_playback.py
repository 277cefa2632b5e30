"""Nova Sonic's agent audio on its way to the caller: queued without ever holding up the model's events.

Nova Sonic sends a reply's audio much faster than it is spoken, in many small pieces, and says in the same
event stream when the caller interrupted. The bridge plays audio in real time (`voice_bridge.playback`), so
whatever the model sent ahead waits here. Before, it waited in a bounded stream of 1024 pieces that the event
reader filled: once a long reply filled it, the reader waited for room, and the model's barge-in sat behind
the rest of the reply's audio until the caller had heard nearly all of it (bench/nova_barge_in.py).

Here `push` never waits while less than `max_s` of audio is queued (2 minutes: 5.8 MB at 24 kHz, the bound on
a call's memory for it), and `drop` empties the queue at once, so a barge-in is acted on as soon as the
reader sees it. Audio is queued in the player's own chunk size, and the playing task looks at the queue
before each chunk: after a `drop`, at most the chunk already on its way is sent.
"""

from __future__ import annotations

from collections import deque
from typing import Final, Protocol

import anyio

from voice_bridge.audio import SAMPLE_BYTES
from voice_bridge.backend import VoiceSink
from voice_bridge.playback import CHUNK_S

MAX_AHEAD_S: Final = 120.0
"""Agent audio queued ahead of playback before `push` waits for room."""

_END: Final = b""
"""In the queue: the end of a reply's audio (audio pieces are never empty)."""


class Playback(Protocol):
    """What the Nova Sonic backend needs of its playback (`AgentPlayback`; a bench measures an older one)."""

    async def push(self, pcm16: bytes) -> None: ...

    async def end_reply(self) -> None: ...

    def drop(self) -> None: ...

    async def drained(self) -> None: ...

    async def run(self) -> None: ...


class AgentPlayback:
    """One call's agent audio from the model to the sink, in order, dropped whole on barge-in."""

    def __init__(self, sink: VoiceSink, rate: int, max_s: float = MAX_AHEAD_S) -> None:
        self._sink = sink
        self._rate = rate
        self._chunk_bytes = int(rate * CHUNK_S) * SAMPLE_BYTES
        self._max_bytes = int(rate * max_s) * SAMPLE_BYTES
        self._queue: deque[bytes] = deque()
        self._bytes = 0
        self._changed = anyio.Event()
        self._busy = False

    @property
    def queued_s(self) -> float:
        """Seconds of audio waiting (for tests and benches)."""
        return self._bytes / SAMPLE_BYTES / self._rate

    async def push(self, pcm16: bytes) -> None:
        """Queue a piece of the reply's audio; waits only while `max_s` of audio is already queued."""
        while self._bytes >= self._max_bytes:
            await self._wait()
        for start in range(0, len(pcm16), self._chunk_bytes):
            chunk = pcm16[start : start + self._chunk_bytes]
            self._queue.append(chunk)
            self._bytes += len(chunk)
        self._wake()

    async def end_reply(self) -> None:
        """The reply has no more audio: the sink is told once what was queued before it has been sent."""
        self._queue.append(_END)
        self._wake()

    def drop(self) -> None:
        """Forget every queued piece now (barge-in, a restarted connection): none of it reaches the caller."""
        self._queue.clear()
        self._bytes = 0
        self._wake()

    async def drained(self) -> None:
        """Wait until everything queued has been handed to the sink (before the call ends on a goodbye)."""
        while self._queue or self._busy:
            await self._wait()

    async def run(self) -> None:
        """Play the queue for the whole call (cancelled with it)."""
        while True:
            while not self._queue:
                await self._wait()
            chunk = self._queue.popleft()
            self._bytes -= len(chunk)
            self._busy = True
            try:
                if chunk == _END:
                    await self._sink.agent_audio_end()
                else:
                    await self._sink.agent_audio(chunk)
            finally:
                self._busy = False
                self._wake()

    async def _wait(self) -> None:
        await self._changed.wait()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()


__all__ = ["MAX_AHEAD_S", "AgentPlayback", "Playback"]
