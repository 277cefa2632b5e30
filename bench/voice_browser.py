"""End of speech -> first agent audio through the browser page, beside the WebSocket figure of the same clips.

Issue 21's target holds "both over the WebSocket and through the browser page". This bench measures the page:

* a bridge process (`python -m bench.voice_browser --serve`: the app `oratio serve-door voice` serves, with the
  offline cascade built as the configured one is, `ORATIO_VOICE_*` applies) over a fresh embedded platform whose
  agent answers at once with one short sentence (ScriptedModel, zero latency). Its only addition: the cascade's
  stage observer appends each stage's wall time to a file, so the per-stage split comes from the bridge itself;
* headless Chromium opens the real voice page (`/voice/client`) with a fake microphone playing a WAV: 1 s of
  silence, then one Piper question (2-12 s) ten times, each followed by GAP_S of silence for the reply. The page's
  timing hook (User Timing marks `oratio:speech-end` at the last voiced microphone frame and `oratio:first-audio`
  when the reply's first audio is scheduled to play, `voice_bridge/static/client.js: markTurn`) gives the latency
  as the browser hears it;
* the baseline, in the same run and against the same process: the same WAV fed in real time (20 ms frames) by a
  WebSocket client, first binary frame after the end of each question. Browser and WebSocket calls alternate.

Printed per path: the split per stage (p50), end of speech -> first audio p50/p95, turn 1 beside turn 10, per
question, and the load average. Stages are wall-clock times from two processes (`time.time()` and the page's
`performance.timeOrigin + startTime`, the same system clock): "upload + VAD endpoint" runs from the end of speech
at the client to the bridge's endpoint, "delivery + playback" from the bridge's first TTS audio to the client's.

    .venv/bin/python -m bench.voice_browser            # 4 questions x 10 turns, both paths: ~15 minutes
    .venv/bin/python -m bench.voice_browser --quick    # 2 questions x 3 turns: ~3 minutes
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import uvicorn
from websockets.asyncio.client import connect

from bench.stats import percentile_or_nan as pctl
from bench.voice import bench_platform
from bench.voice_turns import QUESTIONS
from oratio.models import Say
from oratio.models.scripted import Prompt, Step
from tests.support.processes import stop_process
from tests.system import HEADLESS_CHROMIUM_ARGS
from voice_bridge.app import create_standalone_app
from voice_bridge.audio import resample, samples, wav_bytes
from voice_bridge.settings import VoiceSettings

RATE = 16_000
FRAME_S = 0.02
LEAD_S = 1.0
GAP_S = 7.0  # silence after each question: the reply (~2 s) and its latency must end before the next one
REPLY = "We are open from nine to five."
VOICED = 500  # PCM16 amplitude (about -36 dBFS): the end of a clip's speech, as the page's VOICED_RMS
STAGES = [
    ("utterance_end", "upload + VAD endpoint"),
    ("transcribed", "speech-to-text"),
    ("first_sentence", "agent's first sentence"),
    ("first_audio", "TTS first audio"),
    ("heard", "delivery + playback"),
]


def short_reply(prompt: Prompt) -> Step:
    return Say(REPLY)


# --- the bridge process ------------------------------------------------------------------------------------


def serve(stage_file: Path) -> None:
    """The bridge over a fresh platform; prints one JSON line (port, agent id, key), serves until SIGTERM."""
    from voice_bridge.cascade import CascadeBackend
    from voice_bridge.speech.local import load_local_speech  # type: ignore[import-not-found,unused-ignore]

    settings = VoiceSettings()
    lock = threading.Lock()
    log = stage_file.open("a", encoding="utf-8")

    def observe(session_id: str, stage: str) -> None:
        # Called on the event loop and from worker threads: one short line each, under a lock.
        with lock:
            log.write(json.dumps({"session": session_id, "stage": stage, "t": time.time()}) + "\n")
            log.flush()

    speech = load_local_speech(stt_window=settings.stt_window)
    pause_s = settings.speculate_pause_seconds if settings.speculate else None
    with tempfile.TemporaryDirectory() as tmp, bench_platform(Path(tmp), rules=[short_reply]) as (platform, *ids):
        _, agent_id, secret = ids
        backend = CascadeBackend(speech, platform.engine, observer=observe, speculate_pause_s=pause_s)
        app = create_standalone_app(platform, backend=backend, settings=settings)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        print(json.dumps({"port": port, "agent_id": agent_id, "secret": secret}), flush=True)
        uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    log.close()


@dataclass
class Bridge:
    port: int
    agent_id: str
    secret: str
    stage_file: Path
    pid: int

    def stages(self, session_id: str) -> list[tuple[str, float]]:
        lines = [json.loads(line) for line in self.stage_file.read_text(encoding="utf-8").splitlines()]
        return sorted(((e["stage"], e["t"]) for e in lines if e["session"] == session_id), key=lambda e: e[1])


@contextmanager
def bridge_process(work: Path) -> Iterator[Bridge]:
    stage_file = work / "stages.jsonl"
    stage_file.touch()
    command = [sys.executable, "-m", "bench.voice_browser", "--serve", str(stage_file)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the engines load first: tens of seconds on a busy machine
        if not line:
            raise RuntimeError("the bridge process did not start")
        info = json.loads(line)
        yield Bridge(info["port"], info["agent_id"], info["secret"], stage_file, process.pid)
    finally:
        stop_process(process, timeout_s=30)


# --- the caller's audio ------------------------------------------------------------------------------------


@dataclass
class CallAudio:
    pcm: bytes
    speech_ends: list[float]  # seconds into `pcm` where each question's speech ends
    speech_s: float


def call_audio(question: bytes, turns: int) -> CallAudio:
    lead = bytes(int(LEAD_S * RATE) * 2)
    gap = bytes(int(GAP_S * RATE) * 2)
    speech_s = len(question) / 2 / RATE
    ends = [LEAD_S + n * (speech_s + GAP_S) + speech_s for n in range(turns)]
    return CallAudio(lead + (question + gap) * turns, ends, speech_s)


def piper_clips(texts: Sequence[str]) -> list[bytes]:
    from voice_bridge.speech.local import TtsChoice, load_tts  # type: ignore[import-not-found,unused-ignore]

    tts = load_tts(TtsChoice.AUTO)
    clips = []
    for text in texts:
        pcm = resample(tts.synthesize(text), tts.sample_rate, RATE)
        loud = np.where(np.abs(samples(pcm).astype(int)) > VOICED)[0]
        clips.append(pcm[2 * int(loud[0]) : 2 * (int(loud[-1]) + 1)])
    return clips


# --- one call, two ways ------------------------------------------------------------------------------------


@dataclass
class Turn:
    question: int
    number: int
    speech_end: float  # wall-clock seconds
    heard: float | None
    stages: dict[str, float] = field(default_factory=dict)
    speculated: int = 0

    @property
    def total(self) -> float:
        return (self.heard or float("nan")) - self.speech_end


def attach_stages(turns: list[Turn], events: list[tuple[str, float]]) -> None:
    """Each turn's bridge stages: the first of each stage, in order, after the turn's end of speech.
    Also how many speculative transcriptions finished in the call (the bridge starts one at each short pause)."""
    if turns:
        turns[0].speculated = sum(1 for name, _ in events if name == "speculated")
    for turn in turns:
        after = turn.speech_end - 0.05
        for stage, _ in STAGES[:-1]:
            found = next((t for name, t in events if name == stage and t >= after), None)
            if found is None:
                break
            turn.stages[stage] = after = found
        if turn.heard is not None:
            turn.stages["heard"] = turn.heard


async def websocket_call(bridge: Bridge, audio: CallAudio, question: int) -> list[Turn]:
    start = {
        "type": "start",
        "api_key": bridge.secret,
        "audio": {"encoding": "pcm16", "sample_rate": RATE, "channels": 1},
        "output_sample_rate": RATE,
    }
    ends: list[float] = []
    heard: list[float | None] = []
    async with connect(f"ws://127.0.0.1:{bridge.port}/voice/{bridge.agent_id}", max_size=2**22) as ws:
        await ws.send(json.dumps(start))
        ready = json.loads(await ws.recv())
        assert ready["type"] == "ready", ready

        async def listen() -> None:
            # The first audio frame after each question's end (a greeting before the first one is not a reply).
            async for message in ws:
                if isinstance(message, bytes) and heard and heard[-1] is None:
                    heard[-1] = time.time()

        frame = int(FRAME_S * RATE) * 2
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(listen)
            began = time.monotonic()
            for n, offset in enumerate(range(0, len(audio.pcm), frame)):
                await ws.send(audio.pcm[offset : offset + frame])
                at = (offset + frame) / 2 / RATE
                if len(ends) < len(audio.speech_ends) and at >= audio.speech_ends[len(ends)]:
                    ends.append(time.time())
                    heard.append(None)
                delay = began + (n + 1) * FRAME_S - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            tasks.cancel_scope.cancel()
        await ws.send(json.dumps({"type": "end"}))
    turns = [Turn(question, n + 1, end, at) for n, (end, at) in enumerate(zip(ends, heard, strict=True))]
    attach_stages(turns, bridge.stages(ready["session_id"]))
    return turns


# The page's own marks, read back after the call.
READ_MARKS = """() => ({
  origin: performance.timeOrigin,
  speechEnd: performance.getEntriesByName("oratio:speech-end").map((m) => m.startTime),
  firstAudio: performance.getEntriesByName("oratio:first-audio").map((m) => [m.startTime, m.detail]),
  status: document.getElementById("status").textContent,
})"""


def browser_call(bridge: Bridge, audio: CallAudio, question: int, work: Path) -> list[Turn]:
    from playwright.sync_api import sync_playwright

    capture = work / f"caller-{question}.wav"
    capture.write_bytes(wav_bytes(audio.pcm, RATE))
    args = [
        *HEADLESS_CHROMIUM_ARGS,
        "--autoplay-policy=no-user-gesture-required",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={capture}%noloop",
    ]
    turns = len(audio.speech_ends)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=args)
        try:
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{bridge.port}/voice/client#agent={bridge.agent_id}&key={bridge.secret}")
            page.get_by_role("button", name="Start call").click()
            duration_ms = len(audio.pcm) / 2 / RATE * 1000
            page.wait_for_function(
                '(n) => performance.getEntriesByName("oratio:first-audio").length >= n',
                arg=turns,
                timeout=duration_ms + 30_000,
            )
            marks: dict[str, Any] = page.evaluate(READ_MARKS)
            cpu = browser_cpu_s(bridge.pid)
            print(f"  browser call: Chromium + Playwright CPU {cpu:.1f} s over {duration_ms / 1000:.0f} s of audio")
            page.get_by_role("button", name="End call").click()
        finally:
            browser.close()
    origin = marks["origin"]
    result = [
        Turn(question, n + 1, (origin + end) / 1000, (origin + first) / 1000)
        for n, (end, (first, _)) in enumerate(zip(marks["speechEnd"], marks["firstAudio"], strict=True))
    ]
    output = [detail.get("output_ms", 0) for _, detail in marks["firstAudio"]]
    print(f"  browser call: audio output latency the browser reports (not in the figures): {max(output)} ms")
    session_id = marks["status"].rsplit("session ", 1)[-1].rstrip(")")
    attach_stages(result, bridge.stages(session_id))
    return result


def browser_cpu_s(bridge_pid: int) -> float:
    """CPU seconds used so far by this process's descendants other than the bridge: Playwright and Chromium.

    On this machine the caller's browser shares the two cores with the bridge (a real caller's does not)."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [c for c in children.get(os.getpid(), []) if c != bridge_pid]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo.extend(children.get(pid, []))
    return total


# --- the report --------------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:6.0f} ms"


def report(name: str, done: Sequence[Turn], lengths: Sequence[float], turns: int) -> None:
    print(f"\n{name}  ({len(done)} turns measured)")
    previous = ""
    for stage, title in STAGES:
        spans = [t.stages[stage] - t.stages.get(previous, t.speech_end) for t in done if stage in t.stages]
        print(f"  {title:<34} p50 {ms(pctl(spans, 50))}   p95 {ms(pctl(spans, 95))}")
        previous = stage
    totals = [t.total for t in done if t.heard is not None]
    print(f"  {'total: speech end -> first audio':<34} p50 {ms(pctl(totals, 50))}   p95 {ms(pctl(totals, 95))}")
    first = [t.total for t in done if t.number == 1]
    last = [t.total for t in done if t.number == turns]
    print(f"  {f'turn 1 / turn {turns} (p50 over questions)':<34} {ms(pctl(first, 50))} / {ms(pctl(last, 50))}")
    for number, seconds in enumerate(lengths):
        mine = [t.total for t in done if t.question == number and t.heard is not None]
        print(f"  {f'{seconds:4.1f} s question':<34} p50 {ms(pctl(mine, 50))}   p95 {ms(pctl(mine, 95))}")
    jobs = sum(t.speculated for t in done) / max(1, len(done))
    print(f"  {'speculative transcriptions a turn':<34} {jobs:.2f}  (1.00: every pause was the end of the turn)")


def load() -> str:
    return ", ".join(f"{v:.1f}" for v in os.getloadavg())


def run(*, quick: bool, turns: int = 10, questions: Sequence[int] = range(len(QUESTIONS))) -> None:
    if not shutil.which("chromium"):
        print("browser: skipped (no chromium on PATH)")
        return
    turns = 3 if quick else turns
    texts = QUESTIONS[::3] if quick else [QUESTIONS[n] for n in questions]
    clips = piper_clips(texts)
    lengths = [len(c) / 2 / RATE for c in clips]
    print(
        f"questions of {', '.join(f'{s:.1f}' for s in lengths)} s (Piper), {turns} turns a call, {GAP_S:g} s of"
        f" silence after each; agent: ScriptedModel, one short sentence; load average before: {load()}"
    )
    with tempfile.TemporaryDirectory() as tmp, bridge_process(Path(tmp)) as bridge:
        websocket: list[Turn] = []
        browser: list[Turn] = []
        for number, clip in enumerate(clips):
            audio = call_audio(clip, turns)
            browser.extend(browser_call(bridge, audio, number, Path(tmp)))  # alternate: load falls on both
            websocket.extend(asyncio.run(websocket_call(bridge, audio, number)))
            print(f"  question {number + 1}/{len(clips)} done; load average {load()}", flush=True)
    report("WebSocket client (baseline: the same clips, same bridge, same run)", websocket, lengths, turns)
    report("browser page (headless Chromium, fake microphone, the page's own marks)", browser, lengths, turns)
    paired = [b.total - w.total for b, w in zip(browser, websocket, strict=False) if b.heard and w.heard]
    print(f"\n  browser minus WebSocket, paired turns: p50 {ms(pctl(paired, 50))}")
    print(f"load average after: {load()}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.voice_browser", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="two questions, three turns a call")
    parser.add_argument("--turns", type=int, default=10, help="turns a call (default 10)")
    parser.add_argument(
        "--questions", default="0,1,2,3", help="which of bench/voice_turns.py's questions (1.8-11 s), e.g. 0,3"
    )
    parser.add_argument("--serve", type=Path, metavar="STAGE_FILE", help="(internal) run the bridge process")
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
    else:
        run(quick=args.quick, turns=args.turns, questions=[int(n) for n in args.questions.split(",")])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
