"""Soak: a bounded load on a real `oratio serve` on 127.0.0.1, reporting errors, latency, memory and events.

N concurrent sessions talk to one agent for T seconds through the runtime door, each session a
conversation of a few turns followed by a fresh one, on the offline `scripted` model. The server is
its own process (so its memory is measured apart from the load generator's) over a temporary data
directory. Printed at the end:

* turns and errors (any non-200 answer or transport failure), per driver;
* turn latency p50 / p99 / max, per driver;
* server RSS after warm-up, at the end and at its peak (sampled every second), and the growth;
* events written per second (the tenant's event log head before and after).

No assertions: figures to compare between runs on the same machine. Load generator and server
share the cores, so absolute numbers are conservative.

Drivers are pluggable: `DRIVERS` maps a name to a `Driver` (one customer session until the
deadline). `text` drives `POST /runtime/agents/{id}/invocations`; `voice` (`--voice N` runs N of
them beside the text sessions) calls WS `/voice/{agent_id}` with the API key, says `turns`
utterances per call in real time (100 ms frames, silence between, as a microphone does) and
records, per turn, the time from the end of its speech to the first frame of the agent's audio
(so the endpointing hangover, 0.6 s of silence, is part of every voice figure).

The voice backend of the soak's server is a choice (`--voice-backend`):

* `scripted` (default): the real bridge and cascade (VAD, turn through the platform's engine,
  sentence-by-sentence TTS, pacing, recording) over engines that need no models (energy VAD,
  scripted recognition, a tone); the utterance is a 0.5 s 220 Hz tone. This measures what the
  platform and the bridge cost under load, not how fast Whisper runs on a shared core.
* `cascade`: the real local engines (Silero VAD, faster-whisper tiny.en, Piper) from the `voice`
  extra; the utterance is "What is your refund policy?" spoken by espeak-ng (made once, through a
  subprocess). The first call loads the models (the warm-up absorbs it); expect CPU-bound figures.

    .venv/bin/python -m bench.soak                          # 10 text sessions for 20 s
    .venv/bin/python -m bench.soak --sessions 50 --seconds 120 --delay 0.01
    .venv/bin/python -m bench.soak --sessions 10 --voice 4 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import httpx
import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from bench.stats import percentile_or_nan
from tests.support.processes import stop_process

STARTUP_TIMEOUT_S = 60.0
SERVE = "import sys; from oratio_app.cli import main; sys.exit(main(['serve', '--port', sys.argv[1]]))"


@dataclass(frozen=True)
class Target:
    base_url: str
    agent_id: str
    api_key: str


@dataclass
class Record:
    """What one driver's sessions measured."""

    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


class Driver(Protocol):
    name: str

    async def session(self, target: Target, deadline: float, record: Record) -> None:
        """Play one customer until `deadline` (time.monotonic), recording every turn's latency and error."""
        ...


class TextDriver:
    """A text customer: conversations of `turns` turns through the runtime's JSON door."""

    name = "text"

    def __init__(self, client: httpx.AsyncClient, turns: int = 5) -> None:
        self._client = client
        self._turns = turns

    async def session(self, target: Target, deadline: float, record: Record) -> None:
        path = f"/runtime/agents/{target.agent_id}/invocations"
        headers = {"X-Api-Key": target.api_key}
        while time.monotonic() < deadline:
            session_id: str | None = None
            for turn in range(self._turns):
                body = {"message": f"turn {turn}: what is your refund policy?"}
                if session_id:
                    body["session_id"] = session_id
                started = time.perf_counter()
                try:
                    response = await self._client.post(path, json=body, headers=headers)
                except httpx.HTTPError as exc:
                    record.error(type(exc).__name__)
                    break
                if response.status_code != 200:
                    record.error(f"HTTP {response.status_code}")
                    break
                record.latencies.append(time.perf_counter() - started)
                session_id = response.json()["session_id"]
                if time.monotonic() >= deadline:
                    return


VOICE_RATE = 16_000
VOICE_FRAME_S = 0.1
VOICE_TURN_TIMEOUT_S = 60.0


def tone_utterance(seconds: float = 0.5) -> bytes:
    """Speech for the scripted backend's energy VAD: a 220 Hz tone, PCM16 mono at 16 kHz."""
    t = np.arange(int(seconds * VOICE_RATE)) / VOICE_RATE
    return (4000 * np.sin(2 * np.pi * 220 * t)).astype("<i2").tobytes()


def spoken_utterance(text: str = "What is your refund policy?") -> bytes:
    """`text` spoken by espeak-ng (for the real cascade, whose VAD and Whisper need speech), at 16 kHz."""
    from voice_bridge.audio import read_wav, resample

    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise SystemExit("--voice-backend cascade needs espeak-ng to make the customer's utterance")
    wav = subprocess.run([espeak, "--stdout", "-s", "170", text], check=True, capture_output=True, timeout=30).stdout
    pcm, rate, _ = read_wav(wav)
    return resample(pcm, rate, VOICE_RATE)


@dataclass
class _Listener:
    """What one call heard: when the first agent audio of the current turn came, and the reply's end."""

    first_audio: float | None = None
    replied: asyncio.Event = field(default_factory=asyncio.Event)
    closed: tuple[int, str] | None = None

    async def listen(self, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    if self.first_audio is None:
                        self.first_audio = time.perf_counter()
                elif json.loads(message).get("type") == "agent_audio_end":
                    self.replied.set()
        except ConnectionClosed as exc:
            self.closed = (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (1006, "")
        self.closed = self.closed or (1000, "")
        self.replied.set()


class VoiceDriver:
    """A caller: calls of `turns` utterances through the voice bridge, streamed in real time."""

    name = "voice"

    def __init__(self, client: httpx.AsyncClient, speech: bytes | None = None, turns: int = 3) -> None:
        self._speech = speech if speech is not None else tone_utterance()
        self._turns = turns

    async def session(self, target: Target, deadline: float, record: Record) -> None:
        url = target.base_url.replace("http://", "ws://", 1) + f"/voice/{target.agent_id}"
        while time.monotonic() < deadline:
            try:
                async with connect(url, max_size=2**22, open_timeout=30) as ws:
                    if not await self._call(ws, target, deadline, record):
                        return
            except (OSError, WebSocketException, TimeoutError) as exc:
                record.error(type(exc).__name__)
                return

    async def _call(self, ws: ClientConnection, target: Target, deadline: float, record: Record) -> bool:
        """One call; False when it failed (the error is recorded) and this caller should stop."""
        audio = {"encoding": "pcm16", "sample_rate": VOICE_RATE, "channels": 1}
        await ws.send(json.dumps({"type": "start", "api_key": target.api_key, "audio": audio}))
        ready = json.loads(await asyncio.wait_for(ws.recv(), VOICE_TURN_TIMEOUT_S))
        if ready.get("type") != "ready":
            record.error(f"refused {ready.get('code')}")
            return False
        listener = _Listener()
        listening = asyncio.create_task(listener.listen(ws))
        try:
            for _ in range(self._turns):
                listener.first_audio, listener.replied = None, asyncio.Event()
                await _stream(ws, self._speech)
                spoken = time.perf_counter()
                if not await _silence_until(ws, listener.replied, VOICE_TURN_TIMEOUT_S):
                    record.error("no reply")
                    return False
                if listener.closed is not None or listener.first_audio is None:
                    record.error(f"closed {listener.closed}" if listener.closed else "a reply without audio")
                    return False
                record.latencies.append(listener.first_audio - spoken)
                if time.monotonic() >= deadline:
                    break
            await ws.send(json.dumps({"type": "end"}))
            await asyncio.wait_for(listening, VOICE_TURN_TIMEOUT_S)
        finally:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await listening
        if listener.closed is None or listener.closed[0] != 1000:
            record.error(f"close {listener.closed}")
            return False
        return True


async def _stream(ws: ClientConnection, pcm16: bytes) -> None:
    """`pcm16` in real time, `VOICE_FRAME_S` per frame, as a microphone sends it."""
    step = int(VOICE_FRAME_S * VOICE_RATE) * 2
    started = time.perf_counter()
    for index, offset in enumerate(range(0, len(pcm16), step)):
        await ws.send(pcm16[offset : offset + step])
        await asyncio.sleep(max(0.0, started + (index + 1) * VOICE_FRAME_S - time.perf_counter()))


async def _silence_until(ws: ClientConnection, done: asyncio.Event, within_s: float) -> bool:
    """Silence in real time (the microphone stays open) until `done`; False after `within_s`."""
    frame = bytes(int(VOICE_FRAME_S * VOICE_RATE) * 2)
    give_up = time.perf_counter() + within_s
    while not done.is_set():
        if time.perf_counter() >= give_up:
            return False
        with contextlib.suppress(ConnectionClosed):
            await ws.send(frame)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), VOICE_FRAME_S)
    return True


DRIVERS: dict[str, Callable[[httpx.AsyncClient], Driver]] = {"text": TextDriver, "voice": VoiceDriver}
"""Driver factories by name (main() swaps in a `voice` with spoken audio for the real cascade)."""


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def prepare(data_dir: Path, env: dict[str, str]) -> tuple[str, str, str]:
    """A tenant with an active agent and an API key, written through the service layer: (tenant, agent, key)."""
    from oratio.config import load_settings
    from oratio.platform import open_platform
    from schemas import AgentPlan, AgentSpec, CreateAgent, DocumentContent, DocumentFormat, MintKeyRequest, Principal

    with open_platform(load_settings(env)) as platform:
        tenant = platform.tenants.create_tenant("Soak")
        admin = platform.tenants.create_admin(tenant.tenant_id, "ops@soak.example", "Ops")
        principal = Principal(tenant_id=tenant.tenant_id, subject=admin.id, scopes=frozenset(admin.scopes))
        faq = DocumentContent(
            name="faq.md", format=DocumentFormat.MARKDOWN, content=b"# Refunds\n\nRefunds within 30 days.\n"
        )
        spec = AgentSpec(name="Desk", sop="Answer from the knowledge base and hand off when asked for a person.")
        agent = platform.agents.create(principal, CreateAgent(spec=spec, documents=[faq]))
        plan = AgentPlan(persona="Desk", system_prompt="You are a helpful support agent. Answer briefly.")
        platform.agents.deploy(tenant.tenant_id, agent.id, plan)
        minted = platform.keys.mint(principal, MintKeyRequest(agent_id=agent.id, name="soak"))
        return tenant.tenant_id, agent.id, minted.reveal()


def event_head(data_dir: Path, tenant_id: str) -> int:
    from oratio.store.sqlite import SqliteDatabase, SqliteEventLog

    db = SqliteDatabase(data_dir / "oratio.db")
    try:
        (head,) = SqliteEventLog(db).head(tenant_id).positions  # one shard on SQLite
        return head
    finally:
        db.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"oratio serve exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {STARTUP_TIMEOUT_S:g}s")


async def load(
    target: Target, mix: dict[str, int], seconds: float, pid: int, drivers: Mapping[str, Callable[..., Any]]
) -> tuple[dict[str, Record], int, float]:
    """Run the sessions; returns records per driver, peak RSS and the wall time."""
    limits = httpx.Limits(max_connections=sum(mix.values()) + 5)
    async with httpx.AsyncClient(base_url=target.base_url, timeout=60.0, limits=limits) as client:
        records = {name: Record() for name in mix}
        started = time.monotonic()
        deadline = started + seconds
        peak = rss_bytes(pid)

        async def sample() -> None:
            nonlocal peak
            while time.monotonic() < deadline:
                peak = max(peak, rss_bytes(pid))
                await asyncio.sleep(1.0)

        tasks = [asyncio.create_task(sample())]
        for name, count in mix.items():
            driver: Driver = drivers[name](client)
            tasks += [asyncio.create_task(driver.session(target, deadline, records[name])) for _ in range(count)]
        await asyncio.gather(*tasks)
        return records, peak, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sessions", type=int, default=10, help="concurrent text sessions")
    parser.add_argument("--voice", type=int, default=0, help="concurrent voice calls")
    parser.add_argument(
        "--voice-backend", choices=["scripted", "cascade"], default="scripted", help="the server's speech backend"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the load runs")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before the RSS baseline")
    parser.add_argument("--delay", type=float, default=0.0, help="scripted model's delay between streamed words")
    parser.add_argument("--data-dir", type=Path, default=None, help="data directory (default: a temporary one)")
    args = parser.parse_args()
    mix = {"text": args.sessions} | ({"voice": args.voice} if args.voice else {})
    drivers: dict[str, Callable[..., Any]] = dict(DRIVERS)
    if args.voice and args.voice_backend == "cascade":
        drivers["voice"] = partial(VoiceDriver, speech=spoken_utterance())
    missing = [name for name in mix if name not in drivers]
    if missing:
        raise SystemExit(f"no driver for {missing} on this build: register one in bench.soak.DRIVERS")

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="oratio-soak-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORATIO_")} | {
        "ORATIO_DATA_DIR": str(data_dir),
        "ORATIO_MODEL": f"scripted?delay={args.delay}" if args.delay else "scripted",
        "ORATIO_EMBEDDINGS": "false",
        "ORATIO_KEY_RATE_PER_MINUTE": "100000000",
        "ORATIO_KEY_BURST": "100000000",
        "ORATIO_VOICE_BACKEND": args.voice_backend,
    }
    tenant_id, agent_id, api_key = prepare(data_dir, env)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_healthy(f"{base_url}/healthz", server)
        target = Target(base_url, agent_id, api_key)
        asyncio.run(load(target, mix, args.warmup, server.pid, drivers))
        rss_start = rss_bytes(server.pid)
        events_start = event_head(data_dir, tenant_id)
        records, peak, wall = asyncio.run(load(target, mix, args.seconds, server.pid, drivers))
        rss_end = rss_bytes(server.pid)
        peak = max(peak, rss_end)
        events = event_head(data_dir, tenant_id) - events_start
    finally:
        stop_process(server, timeout_s=30)

    voice = f", voice backend {args.voice_backend}" if args.voice else ""
    print(f"soak: {mix} for {wall:.1f}s (after {args.warmup:g}s warm-up), model delay {args.delay:g}s{voice}")
    for name, record in records.items():
        lat = record.latencies
        errors = sum(record.errors.values())
        mean = statistics.fmean(lat) if lat else float("nan")
        print(
            f"  {name:<6} turns {len(lat):>6}  ({len(lat) / wall:7.1f}/s)  errors {errors} {record.errors or ''}\n"
            f"         latency p50 {percentile_or_nan(lat, 50) * 1000:7.1f} ms"
            f"  p99 {percentile_or_nan(lat, 99) * 1000:7.1f} ms  "
            f"max {max(lat, default=float('nan')) * 1000:7.1f} ms  mean {mean * 1000:7.1f} ms"
        )
    mib = 1024 * 1024
    print(
        f"  server RSS  start {rss_start / mib:6.1f} MiB  end {rss_end / mib:6.1f} MiB  peak {peak / mib:6.1f} MiB  "
        f"growth {(rss_end - rss_start) / mib:+6.1f} MiB"
    )
    print(f"  events      {events} written, {events / wall:.1f}/s")


if __name__ == "__main__":
    main()
