"""A person's typed message to a voice caller: from the message to the first TTS audio at the caller's socket.

Issue 19's target: <= 500 ms p50 on this machine. One call through the real bridge (uvicorn on
127.0.0.1, real WebSocket clients), taken over by an admin; three figures from the same run:

* baseline - the agent's own reply: from its first sentence being written (the cascade's
  `first_sentence` stage, same process, same clock) to the first reply audio frame at the caller's
  socket. This is what the caller already waits for on every agent turn: TTS of one sentence + the bridge.
* listen   - the admin types on the listen socket (`say`): the human turn is stored
  (HandoffService.say) and spoken at once. From sending `say` to the first audio frame at the caller.
* event    - the message is written elsewhere (the dashboard's message box, MCP `send_human_message`:
  HandoffService.say in another thread) and reaches the call through the event tail. From the call
  to `say` to the first audio frame: the store write, one tail poll (<= poll_interval) and the TTS.

The speech engines are the real ones (Piper, Whisper: the `voice` extra) when installed, doubles
otherwise (bench.voice.engines says which); the agent's model answers at once. Every human message
is the agent's first sentence word for word, so all three paths synthesise the same sentence and
the differences between them are the paths, not the TTS.

    .venv/bin/python -m bench.takeover_voice             # 30 messages a path (about three minutes)
    .venv/bin/python -m bench.takeover_voice --quick     # 5 a path
    .venv/bin/python -m bench.takeover_voice --espeak    # the same with espeak-ng as the voice
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import anyio
import anyio.to_thread
from websockets.asyncio.client import ClientConnection, connect

from bench.stats import percentile_or_nan as pctl
from bench.voice import bench_platform, customer_audio, engines, serve_in_thread
from bench.voice_capacity import ms
from oratio.platform import Platform
from schemas import Principal
from voice_bridge.app import create_standalone_app
from voice_bridge.cascade import CascadeBackend
from voice_bridge.protocol import VoiceLimits
from voice_bridge.speech.espeak import EspeakTextToSpeech

TARGET_S = 0.5
STEP_S = 120.0
"""Bound on one message's round trip: a lost message fails the run instead of hanging it."""
LIMITS = VoiceLimits(burst_s=600.0, idle_timeout_s=600.0, silence_timeout_s=600.0, call_max_s=3600.0)


MESSAGE = "We are open from nine to five."
"""The agent's first sentence in the baseline (bench.voice.echo), word for word: the same TTS work."""


async def first_audio(caller: ClientConnection, started: str) -> float:
    """Read the caller's socket until the first audio frame after a `started` message; its arrival time."""
    seen = False
    while True:
        frame = await caller.recv()
        if isinstance(frame, bytes):
            if seen:
                return time.perf_counter()
        elif json.loads(frame)["type"] == started:
            seen = True


async def drain(listener: ClientConnection) -> None:
    async for _ in listener:
        pass


async def until(caller: ClientConnection, kind: str) -> None:
    while True:
        frame = await caller.recv()
        if isinstance(frame, str) and json.loads(frame)["type"] == kind:
            return


async def run(count: int, espeak: bool) -> int:
    speech, label = engines()
    if espeak:  # the cascade's fallback voice: what the bridge adds, with a TTS an order of magnitude faster
        speech = dataclasses.replace(speech, tts=EspeakTextToSpeech())
        label += ", TTS espeak-ng"
    print(f"Takeover by voice: a typed message to the caller's first audio ({label}), {count} messages a path")
    with tempfile.TemporaryDirectory(prefix="oratio-bench-") as tmp, bench_platform(Path(tmp)) as bench:
        platform, tenant_id, agent_id, secret = bench
        admin = await anyio.to_thread.run_sync(platform.tenants.create_admin, tenant_id, "lead@bench.example", "Lead")
        principal = Principal(tenant_id=tenant_id, subject=admin.id, scopes=frozenset(admin.scopes))
        token = platform.access.token_for(admin)
        marks: dict[str, float] = {}

        def observe(session_id: str, stage: str) -> None:
            if stage == "first_sentence":
                marks["first_sentence"] = time.perf_counter()

        backend = CascadeBackend(speech, platform.engine, observer=observe)
        app = create_standalone_app(platform, backend=backend, limits=LIMITS)
        with serve_in_thread(app) as base:
            async with connect(f"{base}/voice/{agent_id}", max_size=2**24) as caller:
                start = {"type": "start", "api_key": secret, "audio": {"sample_rate": 16_000}}
                await caller.send(json.dumps(start))
                session_id = json.loads(await caller.recv())["session_id"]
                baseline = await agent_turns(caller, marks, count)
                await anyio.to_thread.run_sync(platform.handoff.take_over, principal, session_id)
                await until(caller, "taken_over")
                async with (
                    connect(f"{base}/voice/calls/{session_id}/listen", max_size=2**24) as listener,
                    anyio.create_task_group() as tasks,
                ):
                    await listener.send(json.dumps({"type": "listen", "token": token}))
                    tasks.start_soon(drain, listener)  # an admin hears the call meanwhile, as on the dashboard
                    listen = await listen_path(caller, listener, count)
                    tasks.cancel_scope.cancel()
                event = await event_path(caller, platform, principal, session_id, count)
                await caller.send(json.dumps({"type": "end"}))
    print(f"\n  {'path':<10} {'p50':>10} {'p90':>10} {'max':>10}")
    for name, values in (("baseline", baseline), ("listen", listen), ("event", event)):
        print(f"  {name:<10} {ms(pctl(values, 50))} {ms(pctl(values, 90))} {ms(max(values))}")
    print(f"\n  listen - baseline p50: {ms(pctl(listen, 50) - pctl(baseline, 50))}")
    print(f"  event  - baseline p50: {ms(pctl(event, 50) - pctl(baseline, 50))} (includes the tail poll)")
    worst = max(pctl(listen, 50), pctl(event, 50))
    verdict = "meets" if worst <= TARGET_S else "MISSES"
    print(f"  target <= {TARGET_S * 1000:.0f} ms p50: {verdict} (worst path p50 {ms(worst).strip()})")
    return 0 if worst <= TARGET_S else 1


async def agent_turns(caller: ClientConnection, marks: dict[str, float], count: int) -> list[float]:
    """The agent's replies: its first sentence written -> first reply audio at the caller."""
    audio, _ = customer_audio()
    times: list[float] = []
    for _ in range(count):
        marks.pop("first_sentence", None)
        for at in range(0, len(audio), 3200):
            await caller.send(audio[at : at + 3200])
        with anyio.fail_after(STEP_S):
            heard = await first_audio(caller, "agent_audio_start")
        times.append(heard - marks["first_sentence"])
        await until(caller, "agent_audio_end")
    return times


async def listen_path(caller: ClientConnection, listener: ClientConnection, count: int) -> list[float]:
    times: list[float] = []
    for _ in range(count):
        began = time.perf_counter()
        await listener.send(json.dumps({"type": "say", "text": MESSAGE}))
        with anyio.fail_after(STEP_S):
            times.append(await first_audio(caller, "human_audio_start") - began)
            await until(caller, "human_audio_end")
    return times


async def event_path(
    caller: ClientConnection, platform: Platform, principal: Principal, session_id: str, count: int
) -> list[float]:
    times: list[float] = []
    for _ in range(count):
        text = MESSAGE
        began = time.perf_counter()
        with anyio.fail_after(STEP_S):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(anyio.to_thread.run_sync, platform.handoff.say, principal, session_id, text)
                heard = await first_audio(caller, "human_audio_start")
            times.append(heard - began)
            await until(caller, "human_audio_end")
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5 messages a path instead of 30")
    parser.add_argument("--espeak", action="store_true", help="speak with espeak-ng instead of the configured TTS")
    args = parser.parse_args(argv)
    return anyio.run(run, 5 if args.quick else 30, args.espeak)


if __name__ == "__main__":
    raise SystemExit(main())
