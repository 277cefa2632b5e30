"""Issue 21 capacity: the listener runs voice activity detection with the fewest thread hops.

A cheap detector (energy) runs on the event loop; a model's frames go to a worker thread, all the frames
waiting in the call's queue in one pass, and audio that completes no detector frame goes nowhere. Which
path ran is read from the backend's counters and the detector's own record of its threads, never timing;
the answers (utterances found, replies) are the same on every path.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import anyio
import pytest

from oratio.platform import Platform
from schemas import Channel
from tests.support.worlds import World
from tests.voice_bridge.test_speculation import Heard
from voice_bridge.backend import Call
from voice_bridge.cascade import CascadeBackend
from voice_bridge.detection import DetectionStats, Detector, take_waiting
from voice_bridge.endpointing import EndpointConfig, Endpointer, SpeechStart, Utterance
from voice_bridge.scripted import EnergyVad, ScriptedStt, ToneTts, scripted_speech
from voice_bridge.speech.ports import INPUT_RATE, LocalSpeech

pytestmark = pytest.mark.anyio

FRAME = 640  # 20 ms at 16 kHz


def tone(seconds: float) -> bytes:
    return ToneTts(amplitude=4000).synthesize("x" * int(seconds * 100))


def silence(seconds: float) -> bytes:
    return bytes(int(seconds * INPUT_RATE) * 2)


@dataclass
class ThreadNotingVad(EnergyVad):
    """The energy detector, noting the thread of every frame it judges."""

    threads: set[int] = field(default_factory=set)

    def speech_probability(self, frame: bytes) -> float:
        self.threads.add(threading.get_ident())
        return super().speech_probability(frame)


async def call_once(platform: Platform, world: World, speech: LocalSpeech, frames: list[bytes]) -> CascadeBackend:
    """The frames queued at once (as a busy loop finds them), then one reply waited for (bounded)."""
    backend = CascadeBackend(speech, platform.engine)
    session = platform.sessions.start(world.acme.tenant_id, world.agent.id, Channel.VOICE)

    async def key_ok() -> None:
        return None

    heard = Heard()
    call = Call(world.acme.tenant_id, world.agent.id, session.id, INPUT_RATE, 24_000, key_ok)
    send, receive = anyio.create_memory_object_stream[bytes](len(frames))
    for frame in frames:
        send.send_nowait(frame)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(backend.run, call, receive, heard)
        with anyio.fail_after(30):
            await heard.replied.wait()
        send.close()
    assert heard.customer == ["Hello there."]
    return backend


def frames_of(audio: bytes, size: int = FRAME) -> list[bytes]:
    return [audio[i : i + size] for i in range(0, len(audio), size)]


async def test_a_cheap_detector_runs_on_the_event_loop(platform: Platform, world: World) -> None:
    vad = ThreadNotingVad()
    speech = LocalSpeech(new_vad=lambda: vad, stt=ScriptedStt(["Hello there."]), tts=ToneTts(), vad_on_loop=True)
    loop_thread = threading.get_ident()
    backend = await call_once(platform, world, speech, frames_of(silence(0.2) + tone(0.6) + silence(1.0)))
    assert vad.threads == {loop_thread}
    assert backend.detection.in_thread == 0 and backend.detection.on_loop > 0


async def test_the_scripted_backend_detects_on_the_loop() -> None:
    assert scripted_speech().vad_on_loop is True


async def test_frames_waiting_together_go_to_the_thread_in_one_pass(platform: Platform, world: World) -> None:
    vad = ThreadNotingVad()
    speech = LocalSpeech(new_vad=lambda: vad, stt=ScriptedStt(["Hello there."]), tts=ToneTts())
    frames = frames_of(silence(0.2) + tone(0.6) + silence(1.0))  # 90 frames, all queued before the call reads
    backend = await call_once(platform, world, speech, frames)
    assert threading.get_ident() not in vad.threads  # a model-like detector never runs on the loop
    # At most 64 frames a pass (the call's own queue holds no more): 2 passes where there used to be 90.
    assert backend.detection.in_thread == 2


async def test_audio_that_completes_no_detector_frame_is_only_buffered() -> None:
    stats = DetectionStats()
    endpointer = Endpointer(ThreadNotingVad(), EndpointConfig())
    detector = Detector(endpointer, stats, on_loop=False)
    assert await detector.feed(tone(0.01)) == []  # 10 ms: half a detector frame, buffered on the loop
    assert (stats.on_loop, stats.in_thread) == (1, 0)
    found: list[object] = []
    for piece in frames_of(tone(0.6) + silence(1.0), FRAME // 2):
        found.extend(await detector.feed(piece))
    # With 10 ms already buffered, every other 10 ms piece completes a frame: only those went to a thread.
    assert stats.in_thread == 80 and stats.on_loop == 1 + 80
    assert [type(b) for b in found] == [SpeechStart, Utterance]


async def test_the_same_boundaries_whatever_the_pieces() -> None:
    audio = silence(0.3) + tone(0.6) + silence(0.8) + tone(0.4) + silence(1.0)
    whole = Endpointer(EnergyVad(), EndpointConfig()).feed(audio)
    send, receive = anyio.create_memory_object_stream[bytes](400)
    for frame in frames_of(audio, 480):  # 15 ms pieces: frames straddle detector frames
        send.send_nowait(frame)
    send.close()
    detector = Detector(Endpointer(EnergyVad(), EndpointConfig()), DetectionStats(), on_loop=False)
    pieces: list[object] = []
    async for first in receive:
        pieces.extend(await detector.feed(take_waiting(first, receive)))
    assert pieces == whole and [type(b) for b in whole] == [SpeechStart, Utterance, SpeechStart, Utterance]


async def test_take_waiting_never_waits_and_leaves_the_end_to_the_loop() -> None:
    send, receive = anyio.create_memory_object_stream[bytes](4)
    assert take_waiting(b"a", receive) == b"a"  # nothing waiting: at once
    send.send_nowait(b"b")
    send.send_nowait(b"c")
    send.close()
    assert take_waiting(b"a", receive) == b"abc"
    assert [frame async for frame in receive] == []  # the stream ends on the listener's next receive
