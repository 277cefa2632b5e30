"""Issue 21: the preemptive reply - drafted and synthesised at the first short pause, played once confirmed.

Real engines throughout (Silero VAD, Whisper tiny.en, Piper speaking both parts). The audio is fed in two
parts: up to a pause shorter than the hangover, then (after waiting, bounded, on the "preempted" stage: the
held audio is ready) the rest. So which path a turn took never depends on scheduling; the tests read the
outcome (what the sink got, what the store holds, the counters), never timing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import anyio
import pytest

from oratio.platform import Platform
from schemas import Channel, Role
from tests.support.speech import real_speech
from tests.support.worlds import World
from tests.voice_bridge.doubles import silence
from tests.voice_bridge.test_speculation import voiced, words
from voice_bridge.audio import resample
from voice_bridge.backend import Call, Speaker
from voice_bridge.cascade import CascadeBackend
from voice_bridge.settings import load_voice_settings
from voice_bridge.speech.ports import INPUT_RATE, LocalSpeech, TextToSpeech

pytestmark = pytest.mark.anyio

OUTPUT_RATE = 24_000
QUIET_BEFORE_HANGOVER_S = 0.35
"""Past the 0.2 s speculation pause, well short of the 0.6 s hangover: the turn is not over yet."""


@pytest.fixture(scope="module")
def speech() -> LocalSpeech:
    return real_speech()


class CountingTts:
    """The real synthesiser, keeping what it was asked to say and what it gave back."""

    def __init__(self, tts: TextToSpeech) -> None:
        self._tts = tts
        self.said: list[tuple[str, bytes]] = []

    @property
    def sample_rate(self) -> int:
        return self._tts.sample_rate

    def synthesize(self, text: str) -> bytes:
        pcm = self._tts.synthesize(text)
        self.said.append((text, pcm))
        return pcm

    def times(self, words_of: str) -> int:
        return sum(1 for text, _ in self.said if words(text) == words(words_of))


@dataclass
class Played:
    """A VoiceSink keeping everything the caller would get; `replied` is set at the agent's final text."""

    customer: list[str] = field(default_factory=list)
    agent: list[str] = field(default_factory=list)
    spoken: list[str] = field(default_factory=list)
    audio: list[bytes] = field(default_factory=list)
    replied: anyio.Event = field(default_factory=anyio.Event)

    async def speech_started(self) -> bool:
        return False

    async def transcript(self, role: Speaker, text: str, *, final: bool) -> None:
        if role == "customer":
            self.customer.append(text)
        elif final:
            self.agent.append(text)
            self.replied.set()
        else:
            self.spoken.append(text)

    async def agent_audio(self, pcm16: bytes) -> None:
        self.audio.append(pcm16)

    async def agent_audio_end(self) -> None:
        return None

    async def handoff(self, reason: str) -> None:
        return None

    async def ended(self, reason: str) -> None:
        return None


@dataclass
class Stages:
    preempted: anyio.Event = field(default_factory=anyio.Event)

    def __call__(self, session_id: str, stage: str) -> None:
        if stage == "preempted":
            self.preempted.set()


async def call_with_parts(
    platform: Platform, world: World, backend: CascadeBackend, sink: Played, stages: Stages, parts: list[bytes]
) -> str:
    """One call: each part but the last, then wait (bounded) for a held reply; the last, then wait for the
    agent's reply. Returns the session id."""
    session = platform.sessions.start(world.acme.tenant_id, world.agent.id, Channel.VOICE)

    async def key_ok() -> None:
        return None

    call = Call(world.acme.tenant_id, world.agent.id, session.id, INPUT_RATE, OUTPUT_RATE, key_ok)
    send, receive = anyio.create_memory_object_stream[bytes](4096)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(backend.run, call, receive, sink)
        async with send:
            for number, part in enumerate(parts):
                last = number == len(parts) - 1
                event = sink.replied if last else stages.preempted
                for offset in range(0, len(part), 640):  # 20 ms frames, as fast as the listener takes them
                    await send.send(part[offset : offset + 640])
                with anyio.fail_after(120):
                    await event.wait()
                if not last:
                    stages.preempted = anyio.Event()
    return session.id


def preempting(speech: LocalSpeech, stages: Stages, platform: Platform) -> tuple[CascadeBackend, CountingTts]:
    tts = CountingTts(speech.tts)
    backend = CascadeBackend(
        replace(speech, tts=tts), platform.engine, observer=stages, speculate_pause_s=0.2, preempt=True
    )
    return backend, tts


def test_preemption_is_a_setting_off_by_default() -> None:
    # Off by default: each draft is one more model call, paid by the operator of a real model.
    assert load_voice_settings({}).preempt is False
    assert load_voice_settings({"ORATIO_VOICE_PREEMPT": "true"}).preempt is True


async def test_a_confirmed_preemptive_reply_is_played_from_the_held_audio_and_stored_once(
    platform: Platform, world: World, speech: LocalSpeech
) -> None:
    stages = Stages()
    backend, tts = preempting(speech, stages, platform)
    sink = Played()
    question = voiced(speech, "What are your opening hours on Saturday?")
    parts = [silence(0.5) + question + silence(QUIET_BEFORE_HANGOVER_S), silence(1.5)]
    session_id = await call_with_parts(platform, world, backend, sink, stages, parts)

    stats = backend.preemption
    assert (stats.held, stats.played, stats.missed, stats.discarded) == (1, 1, 0, 0), stats
    assert backend.speculation.reused == 1
    [said] = sink.customer
    [reply] = sink.agent
    first = sink.spoken[0]
    assert reply.startswith(first) and "opening" in words(first)
    # The first sentence was synthesised once (during the hangover), and that audio is what the caller got.
    assert tts.times(first) == 1
    [held_pcm] = [pcm for text, pcm in tts.said if words(text) == words(first)]
    assert sink.audio[0] == resample(held_pcm, tts.sample_rate, OUTPUT_RATE)
    # Stored once: the customer's words and the reply, nothing else.
    turns = platform.sessions.recent_turns(world.acme.tenant_id, session_id)
    assert [(t.role, t.text) for t in turns] == [(Role.CUSTOMER, said), (Role.AGENT, reply)]


async def test_speech_after_the_pause_discards_the_preemptive_reply_without_a_trace(
    platform: Platform, world: World, speech: LocalSpeech
) -> None:
    stages = Stages()
    backend, tts = preempting(speech, stages, platform)
    sink = Played()
    # "My card was charged twice" ... 0.35 s (a reply is drafted and held) ... "for the same order last week."
    first = silence(0.5) + voiced(speech, "My card was charged twice") + silence(QUIET_BEFORE_HANGOVER_S)
    second = voiced(speech, "for the same order last week.") + silence(1.5)
    session_id = await call_with_parts(platform, world, backend, sink, stages, [first, second])

    stats = backend.preemption
    assert stats.held >= 1 and stats.discarded >= 1, stats
    # The held reply answered the cut phrase; whatever it was, none of it reached the caller or the store.
    cut_reply, cut_pcm = next((text, pcm) for text, pcm in tts.said if "same" not in words(text))
    assert "charged" in words(cut_reply)
    assert all(words(text) != words(cut_reply) for text in sink.spoken), (cut_reply, sink.spoken)
    assert resample(cut_pcm, tts.sample_rate, OUTPUT_RATE) not in sink.audio
    [said] = sink.customer
    assert {"charged", "same", "order"} <= set(words(said)), said
    [reply] = sink.agent
    assert "same" in words(reply)
    turns = platform.sessions.recent_turns(world.acme.tenant_id, session_id)
    assert [(t.role, t.text) for t in turns] == [(Role.CUSTOMER, said), (Role.AGENT, reply)]


async def test_a_draft_stores_nothing_and_is_refused_where_the_turn_would_act(platform: Platform, world: World) -> None:
    tenant_id, agent_id = world.acme.tenant_id, world.agent.id
    session = platform.sessions.start(tenant_id, agent_id, Channel.VOICE)
    before = platform.sessions.record(tenant_id, session.id)

    draft = await platform.engine.draft_reply(tenant_id, agent_id, session.id, "What are your hours")
    assert draft is not None and "hours" in words(draft)
    # A handoff or the end of the call is the plan's fixed words, and an act: not drafted.
    assert await platform.engine.draft_reply(tenant_id, agent_id, session.id, "I want a person") is None
    assert await platform.engine.draft_reply(tenant_id, agent_id, session.id, "goodbye") is None
    # Refusals are the committed turn's to report: a draft is just not made.
    assert await platform.engine.draft_reply(tenant_id, agent_id, "no-such-session", "hello") is None
    assert await platform.engine.draft_reply("another-tenant", agent_id, session.id, "hello") is None

    after = platform.sessions.record(tenant_id, session.id)
    assert platform.sessions.recent_turns(tenant_id, session.id) == []
    assert after == before  # not a counter, a lock or a status moved
