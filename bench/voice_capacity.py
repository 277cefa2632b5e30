"""How many concurrent calls one `python -m oratio_app serve-door voice` process holds (issue 21's capacity target).

The target: >= 100 concurrent scripted calls in one process with p99 voice-to-voice latency within twice a
single call's, and the memory per call stated. The bridge runs as it is deployed (its own process, the
scripted backend: energy VAD, scripted recognition, a tone for speech, the zero-latency scripted agent, every
turn stored); this process is the callers, over real WebSockets on 127.0.0.1.

Each call streams real-time audio in 100 ms frames: 0.6 s of tone (an utterance), 1.4 s of silence, again
and again. Its latency is from the end of the tone to the first binary frame of the reply to THAT utterance
(the first audio after the server's transcript of it), so a late reply is never mistaken for the previous
one's tail. A reply with no audio 1.4 s after the tone is cut by the caller's next utterance (barge-in, as
the bridge should): it counts as unanswered, slower than any answered one in the percentiles. Calls start
spread evenly over one 2 s cycle, as independent callers are (`--in-step` starts them together: every turn
of every call at the same instant, the worst case).

Per level it prints p50/p99, p99 over the single call's p50 (the ratio the target is judged on), RSS per
call (the server's peak RSS during the level minus its RSS after the single-call baseline, over the calls),
and the server's CPU per call-second (its process CPU time over calls x seconds held). The single-call
baseline is measured first, in the same run, after one warm-up call.

    .venv/bin/python -m bench.voice --capacity-only                    # levels 25, 50, 100, 150
    .venv/bin/python -m bench.voice --capacity-only --levels 100 --seconds 20
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import anyio
import numpy as np
from websockets.asyncio.client import ClientConnection, connect

from oratio.config import load_settings
from oratio.platform import Platform, open_platform
from schemas import AgentPlan, AgentSpec, CreateAgent, MintKeyRequest, Principal, Scope
from tests.support.processes import stop_process

RATE = 16_000
CYCLE_S = 2.0
FRAME_S = 0.1
REPLY_WAIT_S = 10.0


PLAN = AgentPlan(persona="Ava", system_prompt="You are Ava, a friendly support agent for Acme. Answer briefly.")


def provision(platform: Platform) -> tuple[str, str, str]:
    """A tenant, its admin and a deployed agent with an API key: (tenant id, agent id, key)."""
    tenant = platform.tenants.create_tenant("Bench")
    admin = platform.tenants.create_admin(tenant.tenant_id, "ops@bench.example", "Ops")
    principal = Principal(tenant_id=tenant.tenant_id, subject=admin.id, scopes=frozenset({Scope.ADMIN}))
    agent = platform.agents.create(
        principal, CreateAgent(spec=AgentSpec(name="Bench", sop="Answer the customer briefly and politely."))
    )
    platform.agents.deploy(tenant.tenant_id, agent.id, PLAN)
    minted = platform.keys.mint(principal, MintKeyRequest(agent_id=agent.id, name="bench"))
    return tenant.tenant_id, agent.id, minted.reveal()


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.0f} ms"


@dataclass(frozen=True)
class Bridge:
    base: str
    agent_id: str
    secret: str
    pid: int


@contextmanager
def bridge_process(data_dir: Path, code: Path | None = None) -> Iterator[Bridge]:
    """`serve-door voice` (scripted backend) over a fresh platform; `code`: the checkout it runs from
    (another worktree, for a before/after run), else this one."""
    env = {
        **os.environ,
        **({"PYTHONPATH": str(code)} if code is not None else {}),
        "ORATIO_DATA_DIR": str(data_dir),
        "ORATIO_JWT_SECRET": "b" * 40,
        "ORATIO_EMBEDDINGS": "false",
        "ORATIO_MODEL": "scripted",
        "ORATIO_VOICE_BACKEND": "scripted",
        "ORATIO_KEY_RATE_PER_MINUTE": "100000",
        "ORATIO_KEY_BURST": "100000",
    }
    with open_platform(load_settings({k: v for k, v in env.items() if k.startswith("ORATIO_")})) as platform:
        _, agent_id, secret = provision(platform)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "oratio_app", "serve-door", "voice", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, env=env, cwd=code, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("python -m oratio_app serve-door voice did not start") from None
                time.sleep(0.1)
        yield Bridge(f"ws://127.0.0.1:{port}", agent_id, secret, process.pid)
    finally:
        stop_process(process, timeout_s=30)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def utterance() -> tuple[bytes, float]:
    """One cycle: 0.6 s of tone (an utterance for the energy VAD), then 1.4 s of silence; where speech ends."""
    t = np.arange(int(0.6 * RATE)) / RATE
    tone = (4000 * np.sin(2 * np.pi * 220 * t)).astype("<i2").tobytes()
    return tone + bytes(int((CYCLE_S - 0.6) * RATE) * 2), 0.6


@dataclass
class CallResult:
    latencies: list[float] = field(default_factory=list)
    asked: int = 0
    connected: bool = False
    closed: str = ""


async def held_call(bridge: Bridge, cycles: int, delay_s: float, result: CallResult) -> None:
    """One call: wait `delay_s` (its phase), then `cycles` utterances in real time, each reply timed."""
    await anyio.sleep(delay_s)
    audio, end_s = utterance()
    frame = int(FRAME_S * RATE) * 2
    start = {
        "type": "start",
        "api_key": bridge.secret,
        "audio": {"encoding": "pcm16", "sample_rate": RATE, "channels": 1},
    }
    async with connect(f"{bridge.base}/voice/{bridge.agent_id}", max_size=2**22, open_timeout=60) as ws:
        await ws.send(json.dumps(start))
        if json.loads(await ws.recv())["type"] != "ready":
            return
        result.connected = True
        speech_end: dict[int, float] = {}
        heard: list[int] = [0]  # the server's customer transcripts so far: the reply being spoken answers that one
        answered: dict[int, anyio.Event] = {}

        async def listen(ws: ClientConnection) -> None:
            async for message in ws:
                if isinstance(message, str):
                    data = json.loads(message)
                    if data.get("type") == "transcript" and data.get("role") == "customer":
                        heard[0] += 1
                    continue
                n = heard[0] - 1
                if n in speech_end and n in answered and not answered[n].is_set():
                    result.latencies.append(time.monotonic() - speech_end[n])
                    answered[n].set()

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(listen, ws)
            began = time.monotonic()
            sent = 0
            for n in range(cycles):
                answered[n] = anyio.Event()
                result.asked += 1
                for offset in range(0, len(audio), frame):
                    await ws.send(audio[offset : offset + frame])
                    sent += 1
                    if n not in speech_end and (offset + frame) / 2 / RATE >= end_s:
                        speech_end[n] = time.monotonic()
                    await anyio.sleep(max(0.0, began + sent * FRAME_S - time.monotonic()))
            with anyio.move_on_after(REPLY_WAIT_S):  # the last replies, within a bound
                for event in answered.values():
                    await event.wait()
            tasks.cancel_scope.cancel()
        if ws.close_code is not None:
            result.closed = f"{ws.close_code} {ws.close_reason}"
            return
        await ws.send(json.dumps({"type": "end"}))


@dataclass
class Level:
    calls: int
    latencies: list[float]
    asked: int
    connected: int
    cpu_s: float
    held_s: float
    peak_rss_mb: float

    @property
    def answered(self) -> int:
        return len(self.latencies)

    def pct(self, q: float) -> float:
        """A percentile counting every unanswered utterance as slower than any answered one (inf)."""
        return pct(self.latencies + [float("inf")] * (self.asked - self.answered), q)


async def run_level(bridge: Bridge, calls: int, cycles: int, *, in_step: bool) -> Level:
    results = [CallResult() for _ in range(calls)]
    peak = [rss_mb(bridge.pid)]
    cpu_before = cpu_seconds(bridge.pid)
    began = time.monotonic()
    async with anyio.create_task_group() as tasks:

        async def watch_rss() -> None:
            while True:
                peak[0] = max(peak[0], rss_mb(bridge.pid))
                await anyio.sleep(0.5)

        tasks.start_soon(watch_rss)
        async with anyio.create_task_group() as callers:
            for k, result in enumerate(results):
                delay = 0.0 if in_step else CYCLE_S * k / calls
                callers.start_soon(held_call, bridge, cycles, delay, result)
        tasks.cancel_scope.cancel()
    return Level(
        calls=calls,
        latencies=[x for r in results for x in r.latencies],
        asked=sum(r.asked for r in results),
        connected=sum(r.connected for r in results),
        cpu_s=cpu_seconds(bridge.pid) - cpu_before,
        held_s=time.monotonic() - began,
        peak_rss_mb=peak[0],
    )


@dataclass
class Server:
    """One bridge under test: its label, its single-call baseline and its RSS after it."""

    label: str
    bridge: Bridge
    baseline: float = float("nan")
    base_rss: float = float("nan")
    held: int = 0


async def measure_baseline(server: Server, cycles: int) -> None:
    bridge = server.bridge
    await run_level(bridge, 1, 2, in_step=True)  # warm-up: first-use caches, imports
    single = await run_level(bridge, 1, max(cycles, 10), in_step=True)
    server.base_rss = rss_mb(bridge.pid)
    server.baseline = pct(single.latencies, 0.5)
    print(
        f"  {server.label}{1:4d} call : p50 {ms(server.baseline)}  p99 {ms(pct(single.latencies, 0.99))}  (the "
        f"baseline; server RSS {server.base_rss:.0f} MB, CPU {single.cpu_s / single.held_s * 1000:.1f} ms per "
        "call-second)"
    )


async def measure_level(server: Server, calls: int, cycles: int, *, in_step: bool) -> bool:
    """One level on one server, printed; False when under 90% of its utterances were answered."""
    level = await run_level(server.bridge, calls, cycles, in_step=in_step)
    p99 = level.pct(0.99)
    ratio = p99 / server.baseline
    if level.answered == level.asked and ratio <= 2.0:
        server.held = max(server.held, calls)
    call_seconds = calls * cycles * CYCLE_S
    print(
        f"  {server.label}{calls:4d} calls: answered {level.answered}/{level.asked}, p50 {ms(level.pct(0.5))}, "
        f"p99 {ms(p99)} ({ratio:.2f}x), RSS {(level.peak_rss_mb - server.base_rss) / calls * 1024:5.0f} KB a call, "
        f"CPU {level.cpu_s / call_seconds * 1000:.1f} ms per call-second "
        f"({level.cpu_s / level.held_s:.2f} cores; load {os.getloadavg()[0]:.1f})"
    )
    return level.answered >= level.asked * 0.9


async def measure_capacity(
    levels: Sequence[int],
    seconds: float,
    data_root: Path | None,
    *,
    in_step: bool = False,
    compare_with: Path | None = None,
) -> None:
    """The levels on this checkout's bridge; with `compare_with` (another checkout: the code before a change),
    on that one's too, level by level in turn, so both meet the same load on a shared machine."""
    cycles = max(2, int(seconds / CYCLE_S))
    where = f"store in {data_root}" if data_root else "store in a temporary directory"
    phase = "all in step" if in_step else f"starts spread over one {CYCLE_S:g} s cycle"
    print(f"concurrent calls, scripted backend in one serve-door voice process ({cycles} utterances a call):")
    print(f"  {phase}; {where}")
    codes: list[tuple[str, Path | None]] = [("", None)]
    if compare_with is not None:
        codes = [("before ", compare_with), ("after  ", None)]
        print(f"  before: {compare_with}; after: this checkout")
    with ExitStack() as stack:
        servers = []
        for label, code in codes:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=data_root)))
            servers.append(Server(label, stack.enter_context(bridge_process(tmp, code))))
        for server in servers:
            await measure_baseline(server, cycles)
        running = list(servers)
        for calls in levels:
            running = [server for server in running if await measure_level(server, calls, cycles, in_step=in_step)]
            if not running:
                break
        for server in servers:
            print(f"  {server.label}held with every reply and p99 within 2x the single call's p50: {server.held} calls")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.voice_capacity", description=__doc__.split("\n")[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[20, 50, 100], help="concurrent calls to try")
    parser.add_argument("--seconds", type=float, default=12.0, help="how long each call of a level lasts")
    parser.add_argument("--in-step", action="store_true", help="every call's turns at the same instant")
    parser.add_argument("--data-dir", type=Path, help="where the stores live (e.g. /dev/shm: no fsync cost)")
    parser.add_argument(
        "--compare-with", type=Path, help="another checkout (a worktree of the code before): both measured in turn"
    )
    args = parser.parse_args(argv)
    anyio.run(
        partial(
            measure_capacity,
            args.levels,
            args.seconds,
            args.data_dir,
            in_step=args.in_step,
            compare_with=args.compare_with.resolve() if args.compare_with else None,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
