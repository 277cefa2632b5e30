"""Nova Sonic barge-in over a long audio backlog (issue 21 item 7): today's queue beside the one that replaced it.

Nova Sonic sends a reply's audio far faster than it is spoken, in small pieces, and reports a barge-in in the
same event stream. Each trial is one call through the WebSocket bridge (real uvicorn, real client, the real
`NovaSonicBackend` and `BidiAgent`) with a bench bidi model standing in for Bedrock's: the customer asks (a
loud second, then quiet), the model answers with `--reply` seconds of audio in `--delta-ms` pieces at once,
and once a second of it has reached the client the customer speaks over it (loud audio); the model reports the
barge-in the moment it hears it. Two playbacks run the same trials in the same process:

* `before`: the stream the backend used until now (1024 pieces; the event reader waits for room when it is
  full, so the barge-in waits behind the rest of the reply), re-created here from its code;
* `after`: `voice_bridge.nova_playback.AgentPlayback` (never holds up the reader; `drop` empties it at once).

Printed per reply length and playback: barge-in reported by the model -> the last agent audio frame the client
received (p50 / max), -> the `interrupted` message, and the agent audio that reached the client after
`interrupted` (the client flushes it, but it was sent).

    .venv/bin/python -m bench.nova_barge_in            # replies of 10, 30 and 60 s, 3 trials each, ~2 minutes
    .venv/bin/python -m bench.nova_barge_in --quick    # 10 and 60 s, one trial each
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import tempfile
import time
from collections.abc import AsyncIterable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from strands.bidi.models import BidiModel
from strands.bidi.types.content import BidiContentDelta, BidiMessage
from strands.bidi.types.events import (
    BidiAudioDeltaEvent,
    BidiAudioStopEvent,
    BidiBargeInEvent,
    BidiOutputEvent,
    BidiResponseStartEvent,
    BidiResponseStopEvent,
    BidiTranscriptDeltaEvent,
    BidiTranscriptStartEvent,
    BidiTranscriptStopEvent,
)
from strands.bidi.types.media import AudioDelta
from strands.types.content import Messages
from strands.types.tools import ToolSpec
from websockets.asyncio.client import connect

from bench.barge_in import story_platform
from bench.voice import serve_in_thread
from voice_bridge.app import create_standalone_app
from voice_bridge.audio import rms
from voice_bridge.backend import VoiceSink
from voice_bridge.nova_playback import AgentPlayback, Playback
from voice_bridge.nova_sonic import NovaSonicBackend
from voice_bridge.protocol import VoiceLimits

RATE = 16_000
MODEL_RATE = 24_000
FRAME = 640  # 20 ms at 16 kHz
QUIET_AFTER_S = 1.5
"""The agent is taken to have stopped once no audio arrived for this long."""


class LongReplyModel(BidiModel):
    """A bidi model that answers the first utterance with `reply_s` of audio in `delta_s` pieces, all at once,
    and reports a barge-in (noting its time) when it hears loud audio while that reply is out."""

    def __init__(self, reply_s: float, delta_s: float) -> None:
        self._reply_s, self._delta_s = reply_s, delta_s
        self._events: asyncio.Queue[BidiOutputEvent | None] = asyncio.Queue()
        self._loud = self._answered = self._speaking = False
        self._quiet = 0
        self.barged_in_at: float | None = None

    def update_config(self, **model_config: Any) -> None:
        return None

    def get_config(self) -> Any:
        return {"model_id": "bench-long-reply"}

    async def start(
        self,
        system_prompt: str | None = None,
        tools: list[ToolSpec] | None = None,
        messages: Messages | None = None,
        **kwargs: Any,
    ) -> None:
        self._events = asyncio.Queue()

    async def stop(self) -> None:
        await self._events.put(None)

    async def receive(self) -> AsyncIterable[BidiOutputEvent]:
        while (event := await self._events.get()) is not None:
            yield event

    async def send(self, content: BidiMessage | BidiContentDelta) -> None:
        if not isinstance(content, AudioDelta):
            return
        pcm = content.source.get("bytes", b"")
        if rms(pcm) > 500:
            if self._speaking and self.barged_in_at is None:
                self.barged_in_at = time.perf_counter()
                self._speaking = False
                await self._events.put(BidiBargeInEvent())
            self._loud, self._quiet = True, 0
        elif self._loud:
            self._quiet += len(pcm)
            if self._quiet >= 16_000 and not self._answered:  # half a second of quiet at 16 kHz
                self._loud, self._answered = False, True
                await self._reply()

    async def _reply(self) -> None:
        put = self._events.put
        await put(BidiTranscriptStartEvent("user", "u1"))
        await put(BidiTranscriptDeltaEvent("Tell me everything", "user", "u1"))
        await put(BidiTranscriptStopEvent("user", "u1"))
        await put(BidiResponseStartEvent(response_id="r1"))
        await put(BidiTranscriptStartEvent("assistant", "a1"))
        await put(BidiTranscriptDeltaEvent("Well, it is a long story.", "assistant", "a1"))
        await put(BidiTranscriptStopEvent("assistant", "a1"))
        t = np.arange(int(self._reply_s * MODEL_RATE)) / MODEL_RATE
        tone = (3000 * np.sin(2 * np.pi * 330.0 * t)).astype("<i2").tobytes()
        piece = int(self._delta_s * MODEL_RATE) * 2
        for start in range(0, len(tone), piece):
            await put(
                BidiAudioDeltaEvent(base64.b64encode(tone[start : start + piece]).decode(), "pcm", MODEL_RATE, 1, "s1")
            )
        await put(BidiAudioStopEvent("s1"))
        await put(BidiResponseStopEvent(response_id="r1"))
        self._speaking = True


class QueuedPlayback:
    """The backend's playback until now, from its code: a stream of 1024 pieces the event reader waits on
    when full, and a generation number that skips pieces queued before a barge-in as they come out."""

    def __init__(self, sink: VoiceSink, rate: int) -> None:
        self._sink = sink
        self._send, self._receive = anyio.create_memory_object_stream[tuple[int, bytes | None]](1024)
        self._generation = 0

    async def push(self, pcm16: bytes) -> None:
        await self._send.send((self._generation, pcm16))

    async def end_reply(self) -> None:
        await self._send.send((self._generation, None))

    def drop(self) -> None:
        self._generation += 1

    async def drained(self) -> None:
        return None

    async def run(self) -> None:
        async for generation, pcm in self._receive:
            if generation != self._generation:
                continue
            if pcm is None:
                await self._sink.agent_audio_end()
            else:
                await self._sink.agent_audio(pcm)


def model_of(model: LongReplyModel) -> Callable[[], BidiModel]:
    return lambda: model


def before(sink: VoiceSink, rate: int) -> Playback:
    return QueuedPlayback(sink, rate)


def after(sink: VoiceSink, rate: int) -> Playback:
    return AgentPlayback(sink, rate)


@dataclass
class Trial:
    last_frame_s: float
    """Barge-in reported -> the last agent audio frame the client received."""
    interrupted_s: float | None
    """Barge-in reported -> the `interrupted` message (None: never sent)."""
    after_interrupted_ms: float
    """Agent audio that reached the client after `interrupted`."""


def tone(seconds: float, level: int) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * 220.0 * t)).astype("<i2").tobytes()


async def send(ws: Any, pcm: bytes) -> None:
    for start in range(0, len(pcm), FRAME):
        await ws.send(pcm[start : start + FRAME])


async def one_call(base: str, agent_id: str, secret: str, model: LongReplyModel, reply_s: float) -> Trial:
    frames: list[tuple[float, int]] = []
    interrupted_at: float | None = None
    heard = 0
    async with connect(f"{base}/voice/{agent_id}", max_size=2**22, open_timeout=10) as ws:
        start = {"type": "start", "api_key": secret, "output_sample_rate": RATE}
        await ws.send(json.dumps({**start, "audio": {"encoding": "pcm16", "sample_rate": RATE, "channels": 1}}))
        json.loads(await ws.recv())  # ready
        await send(ws, tone(1.0, 8000) + bytes(int(0.8 * RATE) * 2))
        spoke_over = False
        with anyio.fail_after(reply_s + 60):
            while True:
                quiet_for = QUIET_AFTER_S if interrupted_at is not None else reply_s + 30
                try:
                    with anyio.fail_after(quiet_for):
                        message = await ws.recv()
                except TimeoutError:
                    break  # no audio for QUIET_AFTER_S after `interrupted`: the agent has stopped
                now = time.perf_counter()
                if isinstance(message, bytes):
                    heard += len(message)
                    frames.append((now, len(message)))
                    if not spoke_over and heard >= RATE * 2:  # a second of the reply heard: speak over it
                        spoke_over = True
                        await send(ws, tone(0.6, 8000))
                elif json.loads(message)["type"] == "interrupted":
                    interrupted_at = now
        await ws.send(json.dumps({"type": "end"}))
    assert model.barged_in_at is not None, "the model never heard the barge-in"
    barge = model.barged_in_at
    last = max(at for at, _ in frames)
    late = sum(size for at, size in frames if interrupted_at is not None and at > interrupted_at)
    return Trial(
        last_frame_s=last - barge,
        interrupted_s=None if interrupted_at is None else interrupted_at - barge,
        after_interrupted_ms=late / 2 / RATE * 1000,
    )


async def measure(replies: Sequence[float], trials: int, delta_s: float) -> dict[str, dict[float, list[Trial]]]:
    results: dict[str, dict[float, list[Trial]]] = {"before": {}, "after": {}}
    limits = VoiceLimits(burst_s=600.0, idle_timeout_s=120.0, silence_timeout_s=300.0)
    with tempfile.TemporaryDirectory() as tmp, story_platform(Path(tmp)) as (platform, _, agent_id, secret):
        for name, playback in (("before", before), ("after", after)):
            for reply_s in replies:
                for _ in range(trials):
                    model = LongReplyModel(reply_s, delta_s)
                    backend = NovaSonicBackend(platform, model_of(model), playback=playback)
                    app = create_standalone_app(platform, backend=backend, limits=limits)
                    with serve_in_thread(app) as base:
                        trial = await one_call(base, agent_id, secret, model, reply_s)
                    results[name].setdefault(reply_s, []).append(trial)
                    print(
                        f"{name:6} reply {reply_s:4.0f} s: last frame {trial.last_frame_s * 1000:8.0f} ms", flush=True
                    )
    return results


def report(results: dict[str, dict[float, list[Trial]]], delta_s: float) -> None:
    print(f"\nbarge-in reported by the model -> ... (reply audio in {delta_s * 1000:.0f} ms pieces, sent at once)")
    print(
        f"{'playback':9} {'reply':>6} {'last frame p50 / max':>22} {'interrupted p50':>16} {'audio after it p50':>19}"
    )
    for name, by_reply in results.items():
        for reply_s, trials in by_reply.items():
            last = [t.last_frame_s * 1000 for t in trials]
            told = [t.interrupted_s * 1000 for t in trials if t.interrupted_s is not None]
            late = [t.after_interrupted_ms for t in trials]
            told_text = f"{statistics.median(told):.0f} ms" if told else "never"
            print(
                f"{name:9} {reply_s:5.0f}s {statistics.median(last):10.0f} / {max(last):6.0f} ms"
                f" {told_text:>16} {statistics.median(late):16.0f} ms"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.nova_barge_in", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="replies of 10 and 60 s, one trial each")
    parser.add_argument("--replies", type=float, nargs="+", help="reply lengths in seconds (default 10 30 60)")
    parser.add_argument("--trials", type=int, help="calls per reply length and playback (default 3)")
    parser.add_argument("--delta-ms", type=float, default=40.0, help="the model's audio pieces (default 40 ms)")
    args = parser.parse_args(argv)
    replies = args.replies or ([10.0, 60.0] if args.quick else [10.0, 30.0, 60.0])
    trials = args.trials or (1 if args.quick else 3)
    delta_s = args.delta_ms / 1000
    results = anyio.run(measure, replies, trials, delta_s)
    report(results, delta_s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
