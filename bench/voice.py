"""Voice bridge latency and capacity: where the time goes between the customer's last word and the reply.

Four measurements in one run, each against a baseline taken in the same process:

* turns   - today's cascade (30 s Whisper window, transcription after the hangover) beside issue 21's
  (trimmed window, speculative transcription at the first 0.2 s pause): end of speech -> first agent audio
  p50/p95 for 2-12 s questions, ten turns a call, turn 1 beside turn 10, stages and CPU per engine
  (`bench/voice_turns.py`; real engines only).

* stages  - voice-to-voice latency (end of customer speech to the first reply audio), split into
  the VAD endpoint (the hangover), speech-to-text, the agent's first sentence and the first TTS
  audio. The backend is called directly (no socket), with the customer's audio fed in real time.
  The speech engines are the real ones (`voice_bridge.speech.local`, the `voice` extra) when
  installed, otherwise doubles (energy VAD, scripted recognition, espeak-ng or a tone): the run
  says which. The agent's model is a zero-latency ScriptedModel, so "agent" is the platform's share.
* bridge  - the same turns through the WebSocket bridge (real uvicorn, real client, real-time
  audio): the difference to `stages` is what the bridge adds (transport, JSON, pacing, recording).
* capacity - concurrent calls held by one `python -m oratio_app serve-door voice` process with the scripted
  backend: every call streams real-time audio (100 ms frames) and is answered each utterance; a
  level is held when every call gets every reply and p99 voice-to-voice latency stays within twice
  the single-call figure. 127.0.0.1 only; levels and durations are bounded.

    .venv/bin/python -m bench.voice            # about two minutes on 2 cores
    .venv/bin/python -m bench.voice --quick    # a smoke run
    .venv/bin/python -m bench.voice --capacity-only --data-dir /dev/shm   # the store on tmpfs: CPU only
    .venv/bin/python -m bench.voice --turns-only [--quick]   # today's pipeline beside issue 21's

Through the browser page (headless Chromium, fake microphone, the page's timing marks) beside the WebSocket
figure of the same clips: `bench/voice_browser.py` (`python -m bench.voice_browser [--quick]`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import numpy as np
from pydantic import SecretStr
from starlette.types import ASGIApp
from websockets.asyncio.client import connect

from bench.stats import percentile_or_nan
from bench.voice_capacity import measure_capacity, ms, provision
from bench.voice_turns import measure_turns
from oratio.blobs.local import LocalBlobStore
from oratio.config import Settings
from oratio.knowledge.index import HybridIndex
from oratio.knowledge.local import LocalKnowledgeBase
from oratio.loopback import serving_on_loopback
from oratio.models import Say, ScriptedModel
from oratio.models.scripted import Prompt, Step
from oratio.platform import Platform, build_services
from oratio.services import Backends
from oratio.store.sqlite import SqliteDatabase, SqliteEventLog, SqliteRecordStore
from schemas import Channel
from voice_bridge.app import create_standalone_app
from voice_bridge.audio import read_wav, resample, samples
from voice_bridge.backend import Call, Speaker
from voice_bridge.cascade import CascadeBackend
from voice_bridge.scripted import EnergyVad, ScriptedStt, ToneTts
from voice_bridge.speech.ports import LocalSpeech, VoiceActivityDetector

RATE = 16_000
FRAME_S = 0.02
REPLY_WAIT_S = 10.0
QUESTION = "What are your opening hours on Saturday?"


def echo(prompt: Prompt) -> Step:
    return Say(f"We are open from nine to five. You asked: {prompt.last_user_text()}")


class EspeakTts:
    def __init__(self, program: str) -> None:
        self._program = program

    @property
    def sample_rate(self) -> int:
        return 22_050

    def synthesize(self, text: str) -> bytes:
        wav = subprocess.run([self._program, "--stdout", text], check=True, capture_output=True, timeout=30).stdout
        return read_wav(wav)[0]


def engines() -> tuple[LocalSpeech, str]:
    try:
        from voice_bridge.speech.local import load_local_speech  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        pass
    else:
        speech: LocalSpeech = load_local_speech()
        return speech, "real engines (voice_bridge.speech.local)"

    def new_vad() -> VoiceActivityDetector:
        return EnergyVad()

    espeak = shutil.which("espeak-ng")
    tts = EspeakTts(espeak) if espeak else ToneTts()
    label = "doubles: energy VAD, scripted STT, " + ("espeak-ng TTS" if espeak else "tone TTS")
    return LocalSpeech(new_vad=new_vad, stt=ScriptedStt(fallback=QUESTION), tts=tts), label


def customer_audio() -> tuple[bytes, float]:
    """The question (espeak-ng, or a tone) then 1.5 s of silence; and where the speech ends (s)."""
    espeak = shutil.which("espeak-ng")
    if espeak:
        wav = subprocess.run([espeak, "--stdout", QUESTION], check=True, capture_output=True, timeout=30).stdout
        pcm, rate, _ = read_wav(wav)
        speech = resample(pcm, rate, RATE)
    else:
        t = np.arange(int(2.0 * RATE)) / RATE
        speech = (4000 * np.sin(2 * np.pi * 220 * t)).astype("<i2").tobytes()
    loud = np.where(np.abs(samples(speech).astype(int)) > 500)[0]
    end_s = (loud[-1] + 1) / RATE if len(loud) else 0.0
    return speech + bytes(int(1.5 * RATE) * 2), end_s


@contextmanager
def bench_platform(
    data_dir: Path, rules: Sequence[Callable[[Prompt], Step]] = (echo,)
) -> Iterator[tuple[Platform, str, str, str]]:
    """The embedded platform with an agent whose model answers at once: (platform, tenant, agent id, key)."""
    config = Settings(data_dir=data_dir, jwt_secret=SecretStr("b" * 40), embeddings=False, model="scripted")
    db = SqliteDatabase(config.database_path)
    backends = Backends(store=SqliteRecordStore(db), events=SqliteEventLog(db), blobs=LocalBlobStore(config.blob_root))
    knowledge = LocalKnowledgeBase(HybridIndex(config.knowledge_path, embedder=None))
    platform = build_services(config, backends, knowledge, model_factory=lambda spec: ScriptedModel(rules=list(rules)))
    try:
        tenant_id, agent_id, secret = provision(platform)
        yield platform, tenant_id, agent_id, secret
    finally:
        platform.handoff.close()
        knowledge.close()
        db.close()


StageLog = dict[str, dict[str, float]]
"""Stage times by session id, as the bridge's backend reports them."""


@dataclass
class Marks:
    """Stage times of one turn (monotonic seconds)."""

    speech_end: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    first_audio: float | None = None


class TimingSink:
    """A VoiceSink that notes when the first reply audio arrives (no pacing: the floor)."""

    def __init__(self, marks: Marks) -> None:
        self.marks = marks
        self.done = anyio.Event()

    async def speech_started(self) -> bool:
        return False

    async def transcript(self, role: Speaker, text: str, *, final: bool) -> None:
        if role == "agent" and final:
            self.done.set()

    async def agent_audio(self, pcm16: bytes) -> None:
        if self.marks.first_audio is None:
            self.marks.first_audio = time.monotonic()

    async def agent_audio_end(self) -> None:
        return None

    async def handoff(self, reason: str) -> None:
        return None

    async def ended(self, reason: str) -> None:
        return None


async def feed_real_time(
    send: Callable[[bytes], Awaitable[None]], audio: bytes, speech_end_s: float, marks: Marks, frame_s: float
) -> None:
    """Send `audio` in frames at real-time pace; mark when the last spoken frame went out."""
    frame = int(frame_s * RATE) * 2
    start = time.monotonic()
    for n, offset in enumerate(range(0, len(audio), frame)):
        await send(audio[offset : offset + frame])
        if marks.speech_end == 0.0 and (offset + frame) / 2 / RATE >= speech_end_s:
            marks.speech_end = time.monotonic()
        delay = start + (n + 1) * frame_s - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


async def direct_turn(
    platform: Platform, speech: LocalSpeech, tenant_id: str, agent_id: str, audio: bytes, end_s: float
) -> Marks:
    """One turn straight into the backend: the floor the bridge is compared with."""
    marks = Marks()

    def observe(session_id: str, stage: str) -> None:
        marks.stages.setdefault(stage, time.monotonic())

    backend = CascadeBackend(speech, platform.engine, observer=observe)
    session = platform.sessions.start(tenant_id, agent_id, Channel.VOICE)

    async def key_ok() -> None:
        return None

    call = Call(tenant_id, agent_id, session.id, RATE, 24_000, key_ok)
    sink = TimingSink(marks)
    send, receive = anyio.create_memory_object_stream[bytes](1024)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(backend.run, call, receive, sink)
        async with send:
            await feed_real_time(send.send, audio, end_s, marks, FRAME_S)
            with anyio.fail_after(60):
                await sink.done.wait()
    return marks


async def bridge_turn(
    base: str, agent_id: str, secret: str, audio: bytes, end_s: float, frame_s: float, stages: StageLog | None = None
) -> Marks:
    """One turn through the bridge: a real socket, real-time audio; time to the first agent audio frame."""
    marks = Marks()
    start = {"type": "start", "api_key": secret, "audio": {"encoding": "pcm16", "sample_rate": RATE, "channels": 1}}
    async with connect(f"{base}/voice/{agent_id}", max_size=2**22) as ws:
        await ws.send(json.dumps(start))
        ready = json.loads(await ws.recv())
        assert ready["type"] == "ready", ready
        if stages is not None:
            marks.stages = stages.setdefault(ready["session_id"], {})
        replied = anyio.Event()

        async def listen() -> None:
            async for message in ws:
                if isinstance(message, bytes):
                    if marks.first_audio is None:
                        marks.first_audio = time.monotonic()
                elif json.loads(message).get("type") == "transcript" and json.loads(message)["role"] == "agent":
                    if json.loads(message)["final"]:
                        replied.set()
                        return

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(listen)
            await feed_real_time(ws.send, audio, end_s, marks, frame_s)
            with anyio.fail_after(60):
                await replied.wait()
        await ws.send(json.dumps({"type": "end"}))
    return marks


def print_stages(turns: Sequence[Marks], names: Sequence[tuple[str, str]]) -> None:
    previous = "speech_end"
    for stage, title in names:
        spans = [m.stages[stage] - m.stages.get(previous, m.speech_end) for m in turns if stage in m.stages]
        print(f"  {title:<28} {ms(percentile_or_nan(spans, 50))}")
        previous = stage


async def measure_latency(turns: int) -> float:
    speech, label = engines()
    audio, end_s = customer_audio()
    print(f"speech engines: {label}; agent model: ScriptedModel (zero latency)")
    print(f"customer audio: {len(audio) / 2 / RATE:.1f} s, speech ends at {end_s:.2f} s; fed in real time\n")
    with tempfile.TemporaryDirectory() as tmp, bench_platform(Path(tmp)) as (platform, tenant_id, agent_id, secret):
        # Direct and bridged turns alternate, so the machine's other load falls on both alike.
        direct: list[Marks] = []
        bridged: list[Marks] = []
        stage_log: StageLog = {}

        def observe(session_id: str, stage: str) -> None:
            stage_log.setdefault(session_id, {}).setdefault(stage, time.monotonic())

        bridge_backend = CascadeBackend(speech, platform.engine, observer=observe)
        with serve_in_thread(create_standalone_app(platform, backend=bridge_backend)) as base:
            for _ in range(turns):
                direct.append(await direct_turn(platform, speech, tenant_id, agent_id, audio, end_s))
                bridged.append(await bridge_turn(base, agent_id, secret, audio, end_s, FRAME_S, stage_log))
        names = [
            ("utterance_end", "VAD endpoint (hangover)"),
            ("transcribed", "speech-to-text"),
            ("first_sentence", "agent's first sentence"),
            ("first_audio", "TTS first audio"),
        ]
        print("voice-to-voice latency by stage, backend called directly (median of", turns, "turns):")
        print_stages(direct, names)
        direct_total = [(m.first_audio or 0.0) - m.speech_end for m in direct]
        print(f"  {'total: speech end -> audio':<28} {ms(percentile_or_nan(direct_total, 50))}\n")

        bridge_total = [(m.first_audio or 0.0) - m.speech_end for m in bridged]
        added = percentile_or_nan([b - d for b, d in zip(bridge_total, direct_total, strict=True)], 50)
        print("through the bridge (WebSocket, 20 ms frames, pacing, recording):")
        print_stages(bridged, names)
        bridge_p50 = percentile_or_nan(bridge_total, 50)
        print(f"  {'total: speech end -> audio':<28} {ms(bridge_p50)}   p99 {ms(percentile_or_nan(bridge_total, 99))}")
        ratio = bridge_p50 / percentile_or_nan(direct_total, 50)
        print(f"  {'added by the bridge':<28} {ms(added)}   (median of paired turns; {ratio:.2f}x direct)\n")
        return bridge_p50


async def compare_pipelines(
    *,
    quick: bool,
    smart_turn: bool = True,
    since_main: bool = False,
    pick: Sequence[int] | None = None,
    stretch_s: float | None = None,
    turns: int | None = None,
    stretch_prompted: bool = False,
) -> None:
    speech, label = engines()
    if not label.startswith("real"):
        print("turns: skipped (the real speech engines are not installed: pip install 'oratio[voice]')\n")
        return
    print("today's cascade beside issue 21's (backend called directly, real engines, zero-latency agent):")
    with tempfile.TemporaryDirectory() as tmp, bench_platform(Path(tmp)) as (platform, tenant_id, agent_id, _):
        await measure_turns(
            platform,
            speech,
            (tenant_id, agent_id),
            quick=quick,
            smart_turn=smart_turn,
            since_main=since_main,
            pick=pick,
            stretch_s=stretch_s,
            turns=turns,
            stretch_prompted=stretch_prompted,
        )
    print()


@contextmanager
def serve_in_thread(app: ASGIApp) -> Iterator[str]:
    with serving_on_loopback(lambda port: app) as port:
        yield f"ws://127.0.0.1:{port}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.voice", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer turns, two small levels")
    parser.add_argument(
        "--data-dir", type=Path, help="where the capacity run's store lives (e.g. /dev/shm: no fsync cost)"
    )
    parser.add_argument("--capacity-only", action="store_true", help="skip the latency measurements")
    parser.add_argument("--turns-only", action="store_true", help="only today's pipeline beside issue 21's")
    parser.add_argument("--no-smart-turn", action="store_true", help="turns: leave out the smart_turn pipeline")
    parser.add_argument("--since-main", action="store_true", help="turns: leave out the 30 s window pipeline")
    parser.add_argument("--questions", help="turns: which questions, e.g. 0,1,3 (default all; --quick 0,3)")
    parser.add_argument(
        "--stretch", type=float, nargs="?", const=3.0, help="turns: issue 21 beside stretches of this many s (3)"
    )
    parser.add_argument("--stretch-prompted", action="store_true", help="turns: --stretch also with the prompt")
    parser.add_argument("--turns", type=int, help="turns: turns a call (default 10; --quick 3)")
    parser.add_argument("--levels", type=int, nargs="+", help="concurrent calls to try (default 25 50 100 150)")
    parser.add_argument("--seconds", type=float, help="how long each call of a level lasts (default 12)")
    parser.add_argument("--in-step", action="store_true", help="capacity: every call's turns at the same instant")
    args = parser.parse_args(argv)
    turns = 2 if args.quick else 8
    levels = args.levels or ([5, 20] if args.quick else [25, 50, 100, 150])
    seconds = args.seconds or (4.0 if args.quick else 12.0)

    async def run() -> None:
        if not args.capacity_only:
            pick = [int(n) for n in args.questions.split(",")] if args.questions else None
            await compare_pipelines(
                quick=args.quick,
                smart_turn=not args.no_smart_turn,
                since_main=args.since_main,
                pick=pick,
                stretch_s=args.stretch,
                turns=args.turns,
                stretch_prompted=args.stretch_prompted,
            )
            if args.turns_only:
                return
            await measure_latency(turns)
        await measure_capacity(levels, seconds, args.data_dir, in_step=args.in_step)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
