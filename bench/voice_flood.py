"""Voice flood: how much server memory a caller who sends audio faster than real time can take.

Issue 15 (item 2): one call pushed 30 minutes of audio in seconds (+352 MiB of server memory, a
110 MiB WAV); four calls took 1.1 GiB. This bench runs `python -m oratio_app serve-door voice` (scripted backend,
fresh platform on a temp dir) in its own process and reads that process's RSS from /proc:

* baseline - one idle call held open (start, half a second of audio): the RSS every figure is against.
* flood    - N calls at once, each pushing `--minutes` of audio as fast as the socket takes it in
  1 s frames. With pacing they are closed at the burst allowance (1008); the figures are the close
  codes, the seconds of audio each call got in, and the RSS growth per call (peak and after).
* loose    - the same flood against a bridge with the largest burst allowed (60 s) and a 1 MiB
  recording cap (about 16 s): the recording cap ends each call (4413) before the burst does, and
  the figures show what the on-disk recording and the bounded queues hold when pacing is loose.

    .venv/bin/python -m bench.voice_flood              # 4 calls, 30 minutes each
    .venv/bin/python -m bench.voice_flood --calls 8 --minutes 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench.voice_capacity import provision
from oratio.config import load_settings
from oratio.platform import open_platform
from tests.support.processes import stop_process

RATE = 16_000
SECOND = bytes(RATE * 2)  # one second of silence: the largest frame the bridge takes by default
MIB = 1024 * 1024


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class PeakRss:
    """Samples a process's RSS every 20 ms in a thread; `peak` is the highest seen."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self.peak = rss_bytes(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_bytes(self._pid))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(frozen=True)
class Bridge:
    base: str
    agent_id: str
    secret: str
    pid: int


@contextmanager
def bridge(data_dir: Path, extra_env: dict[str, str]) -> Iterator[Bridge]:
    """`python -m oratio_app serve-door voice` (scripted backend) over a fresh platform in `data_dir`."""
    env = {
        **os.environ,
        "ORATIO_DATA_DIR": str(data_dir),
        "ORATIO_JWT_SECRET": "b" * 40,
        "ORATIO_EMBEDDINGS": "false",
        "ORATIO_MODEL": "scripted",
        "ORATIO_VOICE_BACKEND": "scripted",
        "ORATIO_KEY_RATE_PER_MINUTE": "100000",
        "ORATIO_KEY_BURST": "100000",
        "TMPDIR": str(data_dir),  # the recordings' track files: counted in this run's disk, removed with it
        **extra_env,
    }
    with open_platform(load_settings({k: v for k, v in env.items() if k.startswith("ORATIO_")})) as platform:
        _, agent_id, secret = provision(platform)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "oratio_app", "serve-door", "voice", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
        yield Bridge(f"ws://127.0.0.1:{port}/voice", agent_id, secret, process.pid)
    finally:
        stop_process(process, timeout_s=60)


def start_message(secret: str) -> str:
    return json.dumps({"type": "start", "api_key": secret, "audio": {"encoding": "pcm16", "sample_rate": RATE}})


@dataclass
class Flooded:
    code: int
    reason: str
    sent_s: int
    took_s: float


async def flood_call(target: Bridge, seconds: int) -> Flooded:
    """Push `seconds` of audio as fast as the socket takes it; what the server closed with."""
    began = time.perf_counter()
    sent = 0
    async with connect(f"{target.base}/{target.agent_id}", max_size=2**22, open_timeout=30) as ws:
        await ws.send(start_message(target.secret))
        json.loads(await ws.recv())  # ready
        try:
            for _ in range(seconds):
                await ws.send(SECOND)
                sent += 1
            await ws.send(json.dumps({"type": "end"}))
            while True:
                await ws.recv()
        except ConnectionClosed as closed:
            code, reason = (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (1006, "")
    return Flooded(code, reason, sent, time.perf_counter() - began)


async def measure(target: Bridge, calls: int, seconds: int, label: str) -> None:
    async with connect(f"{target.base}/{target.agent_id}", max_size=2**22, open_timeout=30) as idle:
        await idle.send(start_message(target.secret))
        await idle.recv()
        await idle.send(SECOND[:RATE])  # half a second
        await asyncio.sleep(1.0)
        baseline = rss_bytes(target.pid)
        with PeakRss(target.pid) as peak:
            results = await asyncio.gather(*(flood_call(target, seconds) for _ in range(calls)))
        await asyncio.sleep(1.0)
        after = rss_bytes(target.pid)
    codes = sorted({(r.code, r.reason) for r in results})
    print(f"{label}: {calls} calls x {seconds / 60:g} min of audio pushed at once")
    print(f"  baseline RSS (one idle call): {baseline / MIB:.1f} MiB")
    print(f"  closed with: {'; '.join(f'{code} {reason!r}' for code, reason in codes)}")
    sent = ", ".join(f"{r.sent_s} s" for r in results)
    print(f"  audio the clients wrote before they saw the close: {sent} (the server discards it after closing)")
    print(f"  the slowest flooding client was done after {max(r.took_s for r in results):.2f} s")
    print(
        f"  RSS growth per call: peak {(peak.peak - baseline) / calls / MIB:.1f} MiB,"
        f" after {(after - baseline) / calls / MIB:.1f} MiB (total peak +{(peak.peak - baseline) / MIB:.1f} MiB)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.voice_flood", description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=30.0, help="audio each flooding call pushes")
    parser.add_argument("--recording-mib", type=int, default=1, help="the recording cap of the loose run")
    args = parser.parse_args(argv)
    seconds = int(args.minutes * 60)
    with tempfile.TemporaryDirectory(prefix="oratio-flood-") as root:
        with bridge(Path(root) / "paced", {}) as target:
            asyncio.run(measure(target, args.calls, seconds, "paced (defaults: burst 2 s)"))
        unpaced = {
            "ORATIO_VOICE_AUDIO_BURST_SECONDS": "60",
            "ORATIO_VOICE_RECORDING_MAX_BYTES": str(args.recording_mib * MIB),
        }
        with bridge(Path(root) / "unpaced", unpaced) as target:
            label = f"loose (burst 60 s, recording cap {args.recording_mib} MiB)"
            asyncio.run(measure(target, args.calls, seconds, label))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
