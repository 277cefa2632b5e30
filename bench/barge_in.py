"""Barge-in with backchannels (issue 21 item 3): what speech over the agent does, today beside ignore_backchannels.

Each clip is one call through the WebSocket bridge (real uvicorn, real client) on the real engines (Silero
VAD, Whisper tiny.en, Piper for the agent): the customer asks for a story, and once a second of it has been
heard says the clip over it, in real time. Clips: backchannels ("mhmm", "okay", "uh-huh", ...) and real
interruptions ("stop, I have another question", "hold on", ...), spoken by espeak-ng (en-us) and Piper.
The same clips run twice in the same process: with the agent's `ignore_backchannels` off (today's
behaviour: any speech over the agent interrupts it) and on. Printed per mode:

* how many backchannels wrongly interrupted the agent, and how many interruptions wrongly did not;
* onset -> last agent frame: from the moment the clip's first loud frame was sent to the last agent audio
  frame received before the agent stopped (paused or interrupted): the target is <= 300 ms. The client
  still plays what it had buffered, at most the bridge's 0.3 s lead (`VoiceLimits.playback_lead_s`);
* for resumed backchannels, how long the agent was silent (last frame before the pause -> first after).

    .venv/bin/python -m bench.barge_in            # 28 clips x 2 modes, about 6 minutes on 2 cores
    .venv/bin/python -m bench.barge_in --quick    # 3 + 3 clips, one voice
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import numpy as np
from pydantic import SecretStr
from websockets.asyncio.client import connect

from bench.voice import serve_in_thread
from oratio.blobs.local import LocalBlobStore
from oratio.config import Settings
from oratio.knowledge.index import HybridIndex
from oratio.knowledge.local import LocalKnowledgeBase
from oratio.models import Say, ScriptedModel
from oratio.models.scripted import Prompt, Step
from oratio.platform import Platform, build_services
from oratio.services import Backends
from oratio.store.sqlite import SqliteDatabase, SqliteEventLog, SqliteRecordStore
from schemas import AgentPlan, AgentSpec, AgentUpdate, CreateAgent, MintKeyRequest, Principal, Scope, VoiceConfig
from voice_bridge.app import create_standalone_app
from voice_bridge.audio import read_wav, resample, samples
from voice_bridge.cascade import CascadeBackend
from voice_bridge.protocol import VoiceLimits
from voice_bridge.speech.ports import LocalSpeech

RATE = 16_000
FRAME_S = 0.02
STORY = (
    "Once upon a time there was a support agent who loved long answers. "
    "Every morning it read the whole knowledge base from start to finish. "
    "Then it answered every question with three paragraphs and a poem. "
    "The customers were patient, but some of them interrupted now and then. "
    "And that is why barge in exists."
)
BACKCHANNELS = ["Mm-hmm.", "Uh-huh.", "Okay.", "Yeah.", "Right.", "I see.", "Got it.", "Sure."]
INTERRUPTIONS = [
    "Stop, I have another question.",
    "Wait, that is not what I asked.",
    "Hold on.",
    "No.",
    "Sorry, can you repeat that?",
    "Actually, what about Sunday?",
]
DECIDE_WITHIN_S = 10.0


def story(prompt: Prompt) -> Step:
    return Say(STORY if "story" in prompt.last_user_text().lower() else f"You said: {prompt.last_user_text()}")


@contextmanager
def story_platform(data_dir: Path) -> Iterator[tuple[Platform, Principal, str, str]]:
    """The embedded platform with an agent that tells a long story at once: (platform, admin, agent, key)."""
    config = Settings(data_dir=data_dir, jwt_secret=SecretStr("b" * 40), embeddings=False, model="scripted")
    db = SqliteDatabase(config.database_path)
    backends = Backends(store=SqliteRecordStore(db), events=SqliteEventLog(db), blobs=LocalBlobStore(config.blob_root))
    knowledge = LocalKnowledgeBase(HybridIndex(config.knowledge_path, embedder=None))
    platform = build_services(config, backends, knowledge, model_factory=lambda spec: ScriptedModel(rules=[story]))
    try:
        tenant = platform.tenants.create_tenant("Bench")
        admin = platform.tenants.create_admin(tenant.tenant_id, "ops@bench.example", "Ops")
        principal = Principal(tenant_id=tenant.tenant_id, subject=admin.id, scopes=frozenset({Scope.ADMIN}))
        spec = AgentSpec(name="Bench", sop="Answer the customer briefly and politely.")
        agent = platform.agents.create(principal, CreateAgent(spec=spec))
        platform.agents.deploy(
            tenant.tenant_id,
            agent.id,
            AgentPlan(persona="Ava", system_prompt="You are Ava; tell the customer a story."),
        )
        minted = platform.keys.mint(principal, MintKeyRequest(agent_id=agent.id, name="bench"))
        yield platform, principal, agent.id, minted.reveal()
    finally:
        platform.handoff.close()
        knowledge.close()
        db.close()


def espeak(text: str) -> bytes:
    done = subprocess.run(
        ["espeak-ng", "--stdout", "-s", "170", "-v", "en-us", text], check=True, capture_output=True, timeout=30
    )
    pcm, rate, _ = read_wav(done.stdout)
    return resample(pcm, rate, RATE)


def onset_s(pcm: bytes) -> float:
    loud = np.where(np.abs(samples(pcm).astype(int)) > 500)[0]
    return float(loud[0]) / RATE if len(loud) else 0.0


@dataclass
class Clip:
    text: str
    voice: str
    backchannel: bool
    pcm: bytes


@dataclass
class Outcome:
    clip: Clip
    interrupted: bool
    resumed: bool
    stop_s: float | None = None  # onset -> last agent frame before the agent stopped
    gap_s: float | None = None  # resumed: last frame before the pause -> first frame after
    transcript: list[str] = field(default_factory=list)


async def one_call(base: str, agent_id: str, secret: str, question: bytes, clip: Clip) -> Outcome:
    async with connect(f"{base}/voice/{agent_id}", max_size=2**22, open_timeout=10) as ws:
        audio = {"encoding": "pcm16", "sample_rate": RATE, "channels": 1}
        await ws.send(json.dumps({"type": "start", "api_key": secret, "audio": audio}))
        frames: list[tuple[float, int]] = []  # (arrival, bytes) of agent audio
        events: dict[str, float] = {}
        said: list[str] = []
        heard_second = anyio.Event()
        decided = anyio.Event()
        resumed_audio = anyio.Event()
        received = 0

        async def read() -> None:
            nonlocal received
            async for message in ws:
                now = time.monotonic()
                if isinstance(message, bytes):
                    frames.append((now, len(message)))
                    received += len(message)
                    if "backchannel" in events:
                        resumed_audio.set()
                    if received > 48_000:
                        heard_second.set()
                    continue
                data = json.loads(message)
                if data["type"] == "transcript" and data["role"] == "customer":
                    said.append(data["text"])
                if data["type"] in ("interrupted", "backchannel") and data["type"] not in events:
                    events[data["type"]] = now
                    decided.set()

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(read)
            for at in range(0, len(question), 16_000):  # within the burst: sent at once, 0.5 s a frame
                await ws.send(question[at : at + 16_000])
            with anyio.fail_after(60):
                await heard_second.wait()
            # The clip in real time, then silence until the bridge decides.
            pcm = bytes(int(0.2 * RATE) * 2) + clip.pcm + bytes(int(1.5 * RATE) * 2)
            onset_at = 0.0
            onset_byte = int((0.2 + onset_s(clip.pcm)) * RATE) * 2
            frame = int(FRAME_S * RATE) * 2
            start = time.monotonic()
            for n, at in enumerate(range(0, len(pcm), frame)):
                await ws.send(pcm[at : at + frame])
                if not onset_at and at + frame > onset_byte:
                    onset_at = time.monotonic()
                delay = start + (n + 1) * FRAME_S - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            with anyio.move_on_after(DECIDE_WITHIN_S):
                await decided.wait()
            if "backchannel" in events:  # wait for the first agent frame after the resume
                with anyio.move_on_after(5):
                    await resumed_audio.wait()
            await ws.send(json.dumps({"type": "end"}))
            tasks.cancel_scope.cancel()
    outcome = Outcome(clip, interrupted="interrupted" in events, resumed="backchannel" in events, transcript=said)
    decided_at = min(events.values()) if events else None
    if decided_at is not None:
        before = [t for t, _ in frames if t <= decided_at]
        if before:
            outcome.stop_s = max(before) - onset_at
        if outcome.resumed:
            after = [t for t, _ in frames if t > events["backchannel"]]
            if after and before:
                outcome.gap_s = min(after) - max(before)
    return outcome


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


def report(mode: str, outcomes: Sequence[Outcome]) -> None:
    backchannels = [o for o in outcomes if o.clip.backchannel]
    interruptions = [o for o in outcomes if not o.clip.backchannel]
    wrong_bc = [o for o in backchannels if o.interrupted]
    missed = [o for o in interruptions if not o.interrupted]
    stops = [o.stop_s for o in interruptions if o.interrupted and o.stop_s is not None]
    pauses = [o.stop_s for o in backchannels if o.resumed and o.stop_s is not None]
    gaps = [o.gap_s for o in backchannels if o.gap_s is not None]
    print(f"\n== {mode}")
    print(f"backchannels that interrupted the agent (wrong): {len(wrong_bc)}/{len(backchannels)}")
    print(f"interruptions that did not stop it (wrong):      {len(missed)}/{len(interruptions)}")
    if stops:
        print(
            f"real interruption onset -> last agent frame: p50 {pct(stops, 50) * 1000:.0f} ms,"
            f" p95 {pct(stops, 95) * 1000:.0f} ms, max {max(stops) * 1000:.0f} ms (n={len(stops)})"
        )
    if pauses:
        print(f"backchannel onset -> last frame before the pause: p50 {pct(pauses, 50) * 1000:.0f} ms")
    if gaps:
        print(f"agent silent while a backchannel was judged: p50 {pct(gaps, 50):.2f} s, max {max(gaps):.2f} s")
    for o in wrong_bc + missed:
        print(f"  wrong: {o.clip.voice:6} {o.clip.text!r} heard as {o.transcript[1:]}")


async def run(quick: bool) -> None:
    from voice_bridge.speech.local import load_local_speech

    speech: LocalSpeech = load_local_speech()
    piper = speech.tts

    def piper_say(text: str) -> bytes:
        return resample(piper.synthesize(text), piper.sample_rate, RATE)

    voices = [("espeak", espeak)] if quick else [("espeak", espeak), ("piper", piper_say)]
    backchannels = BACKCHANNELS[:3] if quick else BACKCHANNELS
    interruptions = INTERRUPTIONS[:3] if quick else INTERRUPTIONS
    clips = [
        Clip(text, name, text in backchannels, say(text))
        for name, say in voices
        for text in backchannels + interruptions
    ]
    question = bytes(int(0.3 * RATE) * 2) + espeak("Tell me a story.") + bytes(RATE * 2)
    limits = VoiceLimits(burst_s=30.0)
    with tempfile.TemporaryDirectory() as data, story_platform(Path(data)) as (platform, principal, agent_id, secret):
        backend = CascadeBackend(speech, platform.engine, speculate_pause_s=0.2)
        app = create_standalone_app(platform, backend=backend, limits=limits)
        with serve_in_thread(app) as base:
            results: dict[str, list[Outcome]] = {}
            for mode, ignore in (("today (ignore_backchannels off)", False), ("ignore_backchannels on", True)):
                update = AgentUpdate(voice=VoiceConfig(ignore_backchannels=ignore))
                platform.agents.update(principal, agent_id, update)
                results[mode] = [await one_call(base, agent_id, secret, question, clip) for clip in clips]
            for mode, outcomes in results.items():
                report(mode, outcomes)
        print(f"\ncascade counters (both modes): {backend.backchannels}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="3 backchannels and 3 interruptions, espeak-ng only")
    args = parser.parse_args()
    anyio.run(run, args.quick)


if __name__ == "__main__":
    main()
