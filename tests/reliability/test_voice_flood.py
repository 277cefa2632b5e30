"""A voice caller cannot push audio faster than real time, nor record without end (issue 15, item 2).

One call used to push 30 minutes of audio in seconds (+352 MiB of server memory, a 110 MiB WAV).
Now the bridge admits customer audio only while it stays within `burst_s` of the time that passed
since the call began, and closes with 1008 beyond it; the recording (on disk) stops at
`recording_max_bytes` and the call closes with 4413; a call that reaches `call_max_s` ends as
`interrupted`. Every way out saves the recording so far and settles the session.

Pacing runs on a clock the test sets (`ManualClock`): a flood is a clock that never moves, a call
in real time is a clock moved by each frame's length before the frame is sent. No sleeps, no timing.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from oratio.platform import Platform
from oratio.runtime import ModelFactory
from schemas import SessionStatus
from tests.reliability.voice_calls import LIMITS, RATE, ManualClock, assert_refused, recorded, send_frames, serving
from tests.support.models import voice_agent
from tests.support.worlds import World
from tests.voice_bridge.client import voice_client
from voice_bridge.recording import WAV_HEADER_BYTES

pytestmark = pytest.mark.anyio

FLOOD_REASON = "audio arrives faster than real time (over 2s ahead); send it as it is spoken"


@pytest.fixture
def platform_models() -> ModelFactory:
    return voice_agent


async def test_audio_faster_than_real_time_closes_the_call_and_keeps_what_was_admitted(
    platform: Platform, world: World
) -> None:
    clock = ManualClock()  # never moves: all the audio arrives in no time
    with serving(platform, clock) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            ready = await client.start(world.secret)
            assert ready["limits"]["burst_s"] == 2.0
            await send_frames(client, 30.0, None)
            heard = await client.closed()
    assert_refused(heard, 1008, FLOOD_REASON)
    found, seconds, _ = recorded(platform, world, ready["session_id"])
    # The server took in no more than the burst: the rest was refused, not buffered.
    assert 1.9 <= seconds <= 2.0
    assert found.session.status is SessionStatus.INTERRUPTED
    assert found.session.end_reason is not None and FLOOD_REASON in found.session.end_reason


async def test_audio_in_real_time_is_never_closed(platform: Platform, world: World) -> None:
    clock = ManualClock()
    with serving(platform, clock) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            ready = await client.start(world.secret)
            await send_frames(client, 10.0, clock)  # five times the burst, at the pace it is spoken
            await client.end()
            heard = await client.closed()
    assert heard.close_code == 1000 and heard.of_type("ended"), heard
    found, seconds, _ = recorded(platform, world, ready["session_id"])
    assert seconds == pytest.approx(10.0, abs=0.05)
    assert found.session.status is SessionStatus.COMPLETED


async def test_a_burst_then_real_time_is_served(platform: Platform, world: World) -> None:
    """A client may start with a buffered second or two, then keep real time: never closed."""
    clock = ManualClock()
    with serving(platform, clock) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            await client.start(world.secret)
            await send_frames(client, 1.9, None)
            await send_frames(client, 5.0, clock)
            await client.end()
            heard = await client.closed()
    assert heard.close_code == 1000, heard


async def test_a_client_that_paused_catches_up_only_to_real_time(platform: Platform, world: World) -> None:
    """Ten seconds without audio (a half-duplex client listening) allow ten seconds of audio plus the burst; no more."""
    clock = ManualClock()
    with serving(platform, clock) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            ready = await client.start(world.secret)
            clock.now += 10.0
            await send_frames(client, 30.0, None)
            heard = await client.closed()
    assert_refused(heard, 1008, FLOOD_REASON)
    _, seconds, _ = recorded(platform, world, ready["session_id"])
    assert 11.9 <= seconds <= 12.0


async def test_the_recording_stops_at_its_limit_and_the_call_ends_with_4413(platform: Platform, world: World) -> None:
    clock = ManualClock()
    limit = WAV_HEADER_BYTES + 3 * RATE * 4  # three seconds of 16 kHz stereo
    with serving(platform, clock, replace(LIMITS, recording_max_bytes=limit)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            ready = await client.start(world.secret)
            assert ready["limits"]["recording_max_bytes"] == limit
            await send_frames(client, 6.0, clock)
            heard = await client.closed()
    assert_refused(heard, 4413, f"the call reached its recording limit of {limit} bytes")
    found, seconds, size = recorded(platform, world, ready["session_id"])
    assert (seconds, size) == (3.0, limit)
    assert found.session.status is SessionStatus.INTERRUPTED


async def test_a_call_at_its_length_limit_ends_interrupted_with_its_recording(platform: Platform, world: World) -> None:
    clock = ManualClock()
    with serving(platform, clock, replace(LIMITS, call_max_s=0.5)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            ready = await client.start(world.secret)
            await send_frames(client, 0.2, clock)
            heard = await client.closed()
    assert_refused(heard, 4413, "the call reached its limit of 0.5s")
    found, seconds, _ = recorded(platform, world, ready["session_id"])
    assert found.session.status is SessionStatus.INTERRUPTED
    assert seconds == pytest.approx(0.2, abs=0.03)
