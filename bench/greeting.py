"""Call start -> first greeting audio: how long a caller waits to hear the agent's greeting.

One process, one real uvicorn on 127.0.0.1, a real WebSocket client, the offline cascade's voice
(Piper when the `voice` extra is installed, else espeak-ng). The clock starts when the client sends
`start` (the call starting) and stops at the first byte of agent audio. Three paths, same run:

* whole     - the greeting synthesised in one piece, then played (the plain way to add a greeting; main
              speaks no greeting at all: the caller hears nothing until they speak first);
* streamed  - sentence by sentence, the first played while the next is made (cache off: a first call);
* cached    - the greeting's audio from the per-(agent version, voice) cache (every call after the first).

    .venv/bin/python -m bench.greeting            # 7 calls per path
    .venv/bin/python -m bench.greeting --calls 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
from websockets.asyncio.client import connect

from bench.voice import bench_platform, engines
from oratio.loopback import serving_on_loopback
from oratio.platform import Platform
from voice_bridge import greeting
from voice_bridge.app import create_standalone_app
from voice_bridge.cascade import CascadeBackend
from voice_bridge.settings import VoiceSettings

GREETING = (
    "Hello, and thank you for calling Acme support. My name is Ava, and I can help with orders, invoices "
    "and refunds. How can I help you today?"
)
TARGET_S = 1.0


async def first_audio_s(url: str, secret: str) -> tuple[float, float]:
    """Seconds from sending `start` to `ready`, and to the first agent audio."""
    async with connect(url, max_size=2**22, open_timeout=10) as ws:
        start = {"type": "start", "api_key": secret, "audio": {"encoding": "pcm16", "sample_rate": 16_000}}
        began = time.perf_counter()
        await ws.send(json.dumps(start))
        ready = 0.0
        with anyio.fail_after(30):
            while not isinstance(message := await ws.recv(), bytes):
                if '"ready"' in message and not ready:
                    ready = time.perf_counter() - began
        took = time.perf_counter() - began
        await ws.send(json.dumps({"type": "end"}))
        return ready, took


@contextmanager
def whole_greeting(enabled: bool) -> Iterator[None]:
    """The `whole` path: the greeting as a single sentence, so it is synthesised in one piece."""
    original = greeting.greeting_sentences
    if enabled:
        greeting.greeting_sentences = lambda text: [text]
    try:
        yield
    finally:
        greeting.greeting_sentences = original


def run_path(
    platform: Platform, agent_id: str, secret: str, backend: CascadeBackend, path: str, calls: int
) -> list[tuple[float, float]]:
    settings = VoiceSettings(greeting_cache_entries=256 if path == "cached" else 0)
    app = create_standalone_app(platform, backend=backend, settings=settings)
    with whole_greeting(path == "whole"), serving_on_loopback(lambda port: app) as port:
        url = f"ws://127.0.0.1:{port}/voice/{agent_id}"
        if path == "cached":
            anyio.run(first_audio_s, url, secret)  # the first call fills the cache
        return [anyio.run(first_audio_s, url, secret) for _ in range(calls)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=7)
    args = parser.parse_args()
    speech, label = engines()
    print(f"greeting bench: {label}; {len(GREETING)} characters, 3 sentences; {args.calls} calls per path")
    with tempfile.TemporaryDirectory() as data, bench_platform(Path(data)) as (platform, tenant_id, agent_id, secret):
        _, artifact = platform.agents.artifact(tenant_id, agent_id)
        platform.agents.deploy(tenant_id, agent_id, artifact.plan.model_copy(update={"greeting": GREETING}))
        backend = CascadeBackend(speech, platform.engine)
        print(
            f"{'path':<10} {'ready p50':>10} {'audio p50':>10} {'audio max':>10}  (ms; target <= {TARGET_S * 1000:.0f})"
        )
        for path in ("whole", "streamed", "cached"):
            runs = run_path(platform, agent_id, secret, backend, path, args.calls)
            ready = statistics.median(r for r, _ in runs) * 1000
            p50, worst = statistics.median(a for _, a in runs) * 1000, max(a for _, a in runs) * 1000
            verdict = "ok" if worst <= TARGET_S * 1000 else "over"
            print(f"{path:<10} {ready:>10.0f} {p50:>10.0f} {worst:>10.0f}  {verdict}")


if __name__ == "__main__":
    main()
