"""Voice activity detection over a call's incoming audio, at the least event-loop cost per frame.

The listener used to hand every incoming frame to a worker thread for the endpointer: a thread hop per
frame (10-50 a second a call), which under load cost more than the detection itself (each hop wakes a
worker, which then waits for the GIL behind the loop; at 50 scripted calls the hops were ~10% of the
process's GIL time). Now:

- a detector that costs microseconds a frame (`LocalSpeech.vad_on_loop`: the energy detector) runs on
  the event loop, with no hop at all;
- audio that does not complete one detector frame is only buffered, on the loop (20 ms frames under
  Silero's 32 ms window: two hops in five were for nothing);
- frames already waiting in the call's queue when the listener wakes go to the detector together, in one
  hop (`take_waiting`): under load a call catches up in one pass instead of one per frame.

The endpointer sees the same audio in the same order either way, so the boundaries it finds are the same
(it cuts its input into detector frames whatever the pieces it is given).
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio
import anyio.to_thread
from anyio.abc import ObjectReceiveStream
from anyio.streams.memory import MemoryObjectReceiveStream

from voice_bridge.endpointing import Boundary, Endpointer

WAITING_MAX = 64
"""Frames taken from the queue at once at most (the queue holds as many: voice_bridge.call.AUDIO_QUEUE)."""


@dataclass
class DetectionStats:
    """Where the endpointer's passes ran, summed over a backend's calls (tests assert on these)."""

    on_loop: int = 0  # passes run on the event loop: a cheap detector, or audio that completes no frame
    in_thread: int = 0  # passes handed to a worker thread


class Detector:
    """One call's endpointer, fed with the least hops (see the module doc)."""

    def __init__(self, endpointer: Endpointer, stats: DetectionStats, *, on_loop: bool) -> None:
        self._endpointer = endpointer
        self._stats = stats
        self._on_loop = on_loop

    async def feed(self, pcm16: bytes) -> list[Boundary]:
        """The boundaries `pcm16` (16 kHz) completes, in order."""
        if self._on_loop or not self._endpointer.completes_frame(len(pcm16)):
            self._stats.on_loop += 1
            return self._endpointer.feed(pcm16)
        self._stats.in_thread += 1
        return await anyio.to_thread.run_sync(self._endpointer.feed, pcm16)


def take_waiting(first: bytes, frames: ObjectReceiveStream[bytes]) -> bytes:
    """`first` and the frames already waiting in `frames` after it, as one piece (never waits).

    A stream that ends meanwhile is left to end the listener's loop on its next receive; a stream that
    cannot say what is waiting (not an in-memory one) gives `first` alone."""
    if not isinstance(frames, MemoryObjectReceiveStream):
        return first
    waiting = [first]
    for _ in range(WAITING_MAX - 1):
        try:
            waiting.append(frames.receive_nowait())
        except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
            break
    return first if len(waiting) == 1 else b"".join(waiting)
