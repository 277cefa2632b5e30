"""What a voice call's steady work costs the bridge's process, before and after issue 21's capacity changes.

The end-to-end capacity run (`bench/voice_capacity.py`) measures wall-clock latency, which on a shared
machine says as much about the neighbours as about the bridge. These are the per-unit costs behind it, as
process CPU time (`time.process_time`: all threads), each beside the way it was done before, in one run:

* detection - one 100 ms frame of customer audio through the endpointer with the energy detector: before,
  a worker-thread hop per frame and the float RMS; now, on the loop with the integer RMS, a piece's whole
  frames scored in one numpy pass (voice_bridge.detection, voice_bridge.audio.rms, `ScoresFrames`);
* events    - one session event in a process holding 100 calls of one tenant: before, every call's
  subscription was queued and woken for it; now only the call whose session it is (EventTail `subject`);
* key check - the per-turn re-check of the caller's key: before, a worker-thread hop; now, a key verified
  lately is answered on the loop (voice_bridge.auth).

and, unchanged, for scale: one turn of the deployed agent (the engine, Strands and the store, with the
zero-latency scripted model), the largest single cost of a scripted call.

    .venv/bin/python -m bench.voice_call_costs
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import anyio.to_thread
import numpy as np
from pydantic import SecretStr

from bench.voice_capacity import provision
from oratio.config import Settings
from oratio.platform import open_platform
from oratio.services.live import EventTail
from oratio.store.sqlite import SqliteDatabase, SqliteEventLog
from schemas import Channel, EventType, NewEvent
from voice_bridge.auth import authenticate
from voice_bridge.detection import DetectionStats, Detector
from voice_bridge.endpointing import EndpointConfig, Endpointer
from voice_bridge.scripted import EnergyVad

RATE = 16_000
CALLS = 100


class FloatRmsVad(EnergyVad):
    """The energy detector as it was: RMS through float64 `np.mean`."""

    def speech_probability(self, frame: bytes) -> float:
        values = np.frombuffer(frame, dtype="<i2").astype(np.float64)
        return 1.0 if float(np.sqrt(np.mean(values * values))) >= self.threshold else 0.0


async def cpu_per(count: int, work: Callable[[], Awaitable[None]]) -> float:
    """Process CPU seconds per unit of `work` (which does `count` units)."""
    began = time.process_time()
    await work()
    return (time.process_time() - began) / count


def cycle_frames(cycles: int) -> list[bytes]:
    t = np.arange(int(0.6 * RATE)) / RATE
    tone = (4000 * np.sin(2 * np.pi * 220 * t)).astype("<i2").tobytes()
    audio = (tone + bytes(int(1.4 * RATE) * 2)) * cycles
    size = int(0.1 * RATE) * 2
    return [audio[i : i + size] for i in range(0, len(audio), size)]


async def detection(frames: list[bytes]) -> tuple[float, float]:
    async def before() -> None:
        endpointer = Endpointer(FloatRmsVad(), EndpointConfig())
        for frame in frames:
            await anyio.to_thread.run_sync(endpointer.feed, frame)

    async def after() -> None:
        detector = Detector(Endpointer(EnergyVad(), EndpointConfig()), DetectionStats(), on_loop=True)
        for frame in frames:
            await detector.feed(frame)

    return await cpu_per(len(frames), before), await cpu_per(len(frames), after)


async def fan_out(log: SqliteEventLog, tenant_id: str, events: int, *, by_subject: bool) -> float:
    """CPU per event with CALLS subscribers, each following its own session as a call does."""
    tail = EventTail(log)
    sessions = [f"ses_{n}" for n in range(CALLS)]
    subscriptions = [await tail.open(tenant_id, subject=s if by_subject else None) for s in sessions]
    taken = [0]

    async def follow(n: int) -> None:  # Takeover.follow's loop: take a batch, keep the call's own events
        while True:
            for event in await subscriptions[n].next_batch():
                if event.subject == sessions[n]:
                    taken[0] += 1

    async def work() -> None:
        async with anyio.create_task_group() as tasks:
            for n in range(CALLS):
                tasks.start_soon(follow, n)
            for k in range(events):
                log.append(NewEvent(tenant_id=tenant_id, type=EventType.SESSION_TURN, subject=sessions[k % CALLS]))
                await tail.poll()  # one poll per event: the nudge after each write of this process
                await anyio.wait_all_tasks_blocked()
            tasks.cancel_scope.cancel()

    cost = await cpu_per(events, work)
    assert taken[0] == events
    for subscription in subscriptions:
        subscription.close()
    return cost


async def main() -> None:
    frames = cycle_frames(50)
    print(f"per-unit process CPU, before -> after ({len(frames)} frames, {CALLS} subscribers):")
    old, new = await detection(frames)
    print(f"  detection, one 100 ms frame      {old * 1e6:7.0f} us -> {new * 1e6:5.0f} us  ({old / new:.1f}x)")
    with tempfile.TemporaryDirectory() as tmp:
        db = SqliteDatabase(Path(tmp) / "events.db")
        try:
            log = SqliteEventLog(db)
            old = await fan_out(log, "ten_bench", 300, by_subject=False)
            new = await fan_out(log, "ten_bench", 300, by_subject=True)
            print(
                f"  one session event, {CALLS} calls     {old * 1e6:7.0f} us -> {new * 1e6:5.0f} us  ({old / new:.1f}x)"
            )
        finally:
            db.close()
        config = Settings(
            data_dir=Path(tmp) / "p",
            jwt_secret=SecretStr("b" * 40),
            embeddings=False,
            model="scripted",
            key_rate_per_minute=10_000_000,
            key_burst=10_000_000,
        )
        with open_platform(config) as platform:
            tenant, agent_id, secret = provision(platform)
            checks = 500

            async def hop() -> None:
                for _ in range(checks):
                    await anyio.to_thread.run_sync(platform.keys.authenticate_for_agent, secret, agent_id)

            async def on_loop() -> None:
                for _ in range(checks):
                    await authenticate(platform, secret, agent_id)

            old, new = await cpu_per(checks, hop), await cpu_per(checks, on_loop)
            print(f"  key re-check, one turn           {old * 1e6:7.0f} us -> {new * 1e6:5.0f} us  ({old / new:.1f}x)")
            turns = 120

            async def converse() -> None:
                session_id: str | None = None
                for n in range(turns):
                    if n % 6 == 0:  # a call of six turns, as in the capacity run
                        session_id = platform.sessions.start(tenant, agent_id, Channel.VOICE).id
                    await platform.engine.turn_async(tenant, agent_id, session_id, f"Utterance {n}.", Channel.VOICE)

            turn = await cpu_per(turns, converse)
            print(
                f"  the agent's turn (unchanged)     {turn * 1e6:7.0f} us   (engine + Strands + store, scripted model)"
            )


if __name__ == "__main__":
    anyio.run(main)
