"""Helpers for the voice bridge's reliability tests: a settable pacing clock, a served bridge, checks.

The bridge runs the `scripted` speech backend under a real uvicorn, and the tests call it with a
real WebSocket client (tests/voice_bridge/client.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from websockets.exceptions import ConnectionClosed

from oratio.platform import Platform
from schemas import SessionWithTranscript
from tests.net import uvicorn_in_thread
from tests.support.worlds import World
from tests.voice_bridge.client import Heard, VoiceClient
from voice_bridge.app import create_standalone_app
from voice_bridge.audio import read_wav
from voice_bridge.protocol import VoiceLimits
from voice_bridge.scripted import scripted_backend

RATE = 16_000
FRAME_S = 0.02
FRAME = bytes(int(RATE * FRAME_S) * 2)
"""20 ms of silence: nobody speaks, so no turn gets in the way."""
LIMITS = VoiceLimits(start_timeout_s=5.0, idle_timeout_s=30.0, silence_timeout_s=60.0, call_max_s=120.0, burst_s=2.0)


class ManualClock:
    """The bridge's pacing clock, set by the test (read from the server's thread, written from the test's)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def serving(platform: Platform, clock: ManualClock, limits: VoiceLimits = LIMITS) -> Iterator[str]:
    """The standalone bridge pacing on `clock`; yields its ws:// base (append /voice/<agent id>)."""
    app = create_standalone_app(platform, backend=scripted_backend(platform.engine), limits=limits, clock=clock)
    with uvicorn_in_thread(lambda port: app) as port:
        yield f"ws://127.0.0.1:{port}"


async def send_frames(client: VoiceClient, seconds: float, clock: ManualClock | None) -> None:
    """Send `seconds` of 20 ms frames, moving `clock` by each frame first (None: a flood)."""
    try:
        for _ in range(round(seconds / FRAME_S)):
            if clock is not None:
                clock.now += FRAME_S
            await client.ws.send(FRAME)
    except ConnectionClosed:
        pass  # the server closed: what it said is read next


def recorded(platform: Platform, world: World, session_id: str) -> tuple[SessionWithTranscript, float, int]:
    """The session, and its one recording's length in seconds and size in bytes."""
    found = platform.sessions.get(world.acme.principal, session_id)
    [key] = found.recordings
    wav = platform.backends.blobs.get(key)
    pcm, rate, channels = read_wav(wav)
    assert (rate, channels) == (RATE, 2)
    return found, len(pcm) / 4 / rate, len(wav)


def assert_refused(heard: Heard, code: int, reason: str) -> None:
    """Closed with `code` and `reason`, after an `error` message saying the same."""
    assert (heard.close_code, heard.close_reason) == (code, reason), heard
    [error] = heard.of_type("error")
    assert (error["code"], error["message"]) == (code, reason)
