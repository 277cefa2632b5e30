"""Issue 21 item 1: stretches. A pause that closes enough audio commits its transcript as the utterance's
prefix, so the end of a long turn transcribes only what came after the last such pause.

Real engines throughout (Silero VAD, Whisper tiny.en, Piper speaking the customer's part); which path the
cascade took is read from its counters and from what the recogniser was asked, never from timing. Each test
feeds the audio up to a pause, waits (bounded) for what must have happened there, then feeds the rest, so the
path does not depend on scheduling.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import anyio
import pytest

from oratio.errors import ConfigError
from oratio.platform import Platform
from tests.support.speech import real_speech
from tests.support.worlds import World
from tests.voice_bridge.doubles import silence
from tests.voice_bridge.test_speculation import Heard, converse_into, voiced, word_edits, words
from voice_bridge.cascade import CascadeBackend
from voice_bridge.endpointing import Pause, Utterance
from voice_bridge.settings import STRETCH_DEFAULT_S, load_voice_settings
from voice_bridge.speculation import SpeculationStats, Speculator
from voice_bridge.speech.ports import INPUT_RATE, LocalSpeech, TranscribesAfter

pytestmark = pytest.mark.anyio

# Two phrases of ~2.5 s with no comma, so Piper puts no pause inside them; 1.5 s stretches in these tests
# (the setting's floor is 1 s) keep the audio short: the bench measures the default's figures.
FIRST = "I ordered a blue jacket in size medium a few weeks ago"
SECOND = "and it still has not arrived at my house"
STRETCH_S = 1.5


@pytest.fixture(scope="module")
def speech() -> LocalSpeech:
    return real_speech()


@dataclass
class Asked:
    """The real recogniser, noting what it was asked: each audio's length and whether a prompt came with it.
    `gate`, when set, holds the first recognition until it is released (speech resuming inside a stretch job)."""

    speech: LocalSpeech
    lengths: list[tuple[int, bool]] = field(default_factory=list)
    gate: threading.Event | None = None

    def transcribe(self, pcm16: bytes) -> str:
        return self._hear(pcm16, "")

    def transcribe_after(self, pcm16: bytes, prompt: str) -> str:
        return self._hear(pcm16, prompt)

    def _hear(self, pcm16: bytes, prompt: str) -> str:
        first = not self.lengths
        self.lengths.append((len(pcm16), bool(prompt)))
        if first and self.gate is not None:
            assert self.gate.wait(120), "the gate was never released"
        stt = self.speech.stt
        if prompt and isinstance(stt, TranscribesAfter):
            return stt.transcribe_after(pcm16, prompt)
        return stt.transcribe(pcm16)


def stages(*names: str) -> tuple[Callable[[str, str], None], dict[str, anyio.Event]]:
    """An observer setting one event per stage name; the events are replaced by the test as it goes."""
    events = {name: anyio.Event() for name in names}

    def observe(session_id: str, stage: str) -> None:
        if stage in events:
            events[stage].set()

    return observe, events


def heard_once(said: str, text: str) -> None:
    """`text` is `said`, give or take tiny.en's spelling of a few words (it hears Piper's "I ordered a" as "in
    order to" now and then, stretches or not), with none of the distinctive words lost or said twice."""
    assert word_edits(words(text), words(said)) <= max(3, len(words(said)) // 5), (text, said)
    for word in ("jacket", "medium", "arrived", "house", "tracking", "warehouse", "nothing"):
        if word in words(said):
            assert words(text).count(word) == 1, (word, text)


def test_stretches_are_a_setting() -> None:
    defaults = load_voice_settings({})
    assert defaults.stt_stretch_seconds == STRETCH_DEFAULT_S and defaults.stretch_s() == STRETCH_DEFAULT_S
    assert defaults.stt_stretch_prompt is False  # it did not help enough for its risk (the bench)
    assert load_voice_settings({"ORATIO_VOICE_STT_STRETCH_SECONDS": "0"}).stretch_s() is None
    no_speculation = load_voice_settings({"ORATIO_VOICE_SPECULATE": "false"})
    assert no_speculation.stretch_s() is None  # stretches are commits of speculative jobs: none without them
    for bad in ("0.5", "-1", "61", "soon"):
        with pytest.raises(ConfigError) as caught:
            load_voice_settings({"ORATIO_VOICE_STT_STRETCH_SECONDS": bad})
        assert "ORATIO_VOICE_STT_STRETCH_SECONDS" in caught.value.message


async def test_a_long_question_with_a_pause_is_transcribed_in_two_stretches(
    platform: Platform, world: World, speech: LocalSpeech
) -> None:
    asked = Asked(speech)
    observe, events = stages("speculated")
    backend = CascadeBackend(
        replace(speech, stt=asked), platform.engine, observer=observe, speculate_pause_s=0.2, stretch_s=STRETCH_S
    )
    heard = Heard()
    first = silence(0.5) + voiced(speech, FIRST) + silence(0.35)
    second = voiced(speech, SECOND) + silence(1.5)
    await converse_into(
        platform,
        (world.acme.tenant_id, world.agent.id),
        backend,
        [first, second],
        heard,
        lambda: events["speculated"],
        lambda: heard.replied,
    )
    stats = backend.speculation
    assert stats.committed >= 1 and stats.stretched == 1 and stats.fell_back == 0
    [said] = heard.customer
    heard_once(f"{FIRST} {SECOND}", said)
    # No pass over the whole utterance: every recognition heard less than the first part and a half (the first
    # stretch, then what came after it).
    longest = max(length for length, _ in asked.lengths)
    assert longest < len(first) + len(second) // 2, asked.lengths
    assert not any(prompted for _, prompted in asked.lengths)  # no prompt by default


async def test_a_short_question_still_takes_one_pass(platform: Platform, world: World, speech: LocalSpeech) -> None:
    asked = Asked(speech)
    backend = CascadeBackend(
        replace(speech, stt=asked), platform.engine, speculate_pause_s=0.2, stretch_s=STRETCH_DEFAULT_S
    )
    heard = Heard()
    question = "What are your opening hours on Saturday?"
    await converse_into(
        platform,
        (world.acme.tenant_id, world.agent.id),
        backend,
        [silence(0.5) + voiced(speech, question) + silence(1.5)],
        heard,
        lambda: heard.replied,
    )
    stats = backend.speculation
    assert (stats.committed, stats.stretched, stats.reused) == (0, 0, 1)
    assert len(asked.lengths) == stats.started and not any(prompted for _, prompted in asked.lengths)
    [said] = heard.customer
    assert word_edits(words(said), words(question)) <= 2, said


async def test_speech_resuming_inside_a_stretch_job_loses_and_repeats_nothing(
    platform: Platform, world: World, speech: LocalSpeech
) -> None:
    """The stretch's recognition is held until the turn has ended, so the second phrase is spoken, and its
    pause skipped, while the stretch is still being recognised: the tail after it is recognised at the end."""
    gate = threading.Event()
    asked = Asked(speech, gate=gate)
    observe, events = stages("utterance_end")

    def observe_and_release(session_id: str, stage: str) -> None:
        observe(session_id, stage)
        if stage == "utterance_end":
            gate.set()

    backend = CascadeBackend(
        replace(speech, stt=asked),
        platform.engine,
        observer=observe_and_release,
        speculate_pause_s=0.2,
        stretch_s=STRETCH_S,
        stretch_prompt=True,  # the tail is prompted with the stretch's words: they are not said again
    )
    heard = Heard()
    audio = silence(0.5) + voiced(speech, FIRST) + silence(0.35) + voiced(speech, SECOND) + silence(1.5)
    try:
        await converse_into(
            platform, (world.acme.tenant_id, world.agent.id), backend, [audio], heard, lambda: heard.replied
        )
    finally:
        gate.set()
    stats = backend.speculation
    assert stats.committed == 1 and stats.stretched == 1 and stats.skipped >= 1
    [said] = heard.customer
    heard_once(f"{FIRST} {SECOND}", said)
    # The stretch, then the tail at the end with the stretch's words as its prompt; nothing heard twice.
    assert len(asked.lengths) == 2 and asked.lengths[1][1], asked.lengths
    assert sum(length for length, _ in asked.lengths) <= len(audio) - len(silence(0.5)), asked.lengths


async def test_another_calls_stretches_never_mix_in(platform: Platform, world: World, speech: LocalSpeech) -> None:
    """Two calls (two tenants) on one backend at once, each committing stretches: each hears its own words."""
    backend = CascadeBackend(speech, platform.engine, speculate_pause_s=0.2, stretch_s=STRETCH_S)
    acme_words = (FIRST, SECOND)
    globex_words = ("The tracking page says my parcel left the warehouse", "but nothing has changed since Monday")
    calls = [
        ((world.acme.tenant_id, world.agent.id), acme_words, Heard()),
        ((world.globex.tenant_id, world.globex_agent.id), globex_words, Heard()),
    ]

    async def speak(tenant_agent: tuple[str, str], one: str, two: str, heard: Heard) -> None:
        audio = silence(0.5) + voiced(speech, one) + silence(0.35) + voiced(speech, two) + silence(1.5)
        await converse_into(platform, tenant_agent, backend, [audio], heard, lambda: heard.replied)

    async with anyio.create_task_group() as tasks:
        for tenant_agent, (one, two), heard in calls:
            tasks.start_soon(speak, tenant_agent, one, two, heard)
    assert backend.speculation.committed >= 2
    for _, (one, two), heard in calls:
        [said] = heard.customer
        others = set(words(" ".join(acme_words + globex_words))) - set(words(f"{one} {two}"))
        heard_once(f"{one} {two}", said)
        common = {"a", "at", "i", "it", "and", "in", "the", "my", "has", "not", "since"}
        assert not set(words(said)) & (others - common), said


# ---- the speculator alone: a failing stretch falls back to the whole utterance -----------------------------


async def test_a_failed_stretch_falls_back_to_the_whole_utterance() -> None:
    calls: list[int] = []

    def transcribe(pcm16: bytes) -> str:
        calls.append(len(pcm16))
        if len(calls) == 1:
            raise RuntimeError("the recogniser broke on the stretch")
        return f"{len(pcm16)} bytes"

    stats = SpeculationStats()
    stretch, tail = bytes(2 * INPUT_RATE * 2), bytes(INPUT_RATE)  # 2 s stretched, then 0.5 s
    async with anyio.create_task_group() as tasks:
        speculator = Speculator(tasks, transcribe, stats, stretch_bytes=INPUT_RATE * 2)
        speculator.start(Pause(stretch, seq=0))
        utterance = Utterance(stretch + tail, seq=0, paused_at=None)
        with anyio.fail_after(60):
            text = await speculator.hear(utterance)
    assert text == f"{len(stretch + tail)} bytes"  # the whole utterance, not a tail after a lost stretch
    assert (stats.committed, stats.fell_back, calls) == (0, 1, [len(stretch), len(stretch + tail)])


def test_a_prompted_decode_that_repeats_itself_is_redone_without_the_prompt(speech: LocalSpeech) -> None:
    """Seen with the real prompt ("But nothing has changed since Monday." twice); forced here."""
    from voice_bridge.speech.whisper import WhisperSpeechToText, repeats_a_sentence

    twice = "But nothing has changed since Monday. But nothing has changed since Monday."
    assert repeats_a_sentence(twice) and not repeats_a_sentence("Hello? Hello? " + SECOND)

    class Repeating(WhisperSpeechToText):
        def _transcribe(self, pcm16: bytes, previous: list[int]) -> str:
            return twice if previous else super()._transcribe(pcm16, previous)

    stt = Repeating(cpu_threads=1)
    audio = voiced(speech, SECOND) + silence(0.6)
    heard = stt.transcribe_after(audio, FIRST)
    assert stt.unprompted == 1 and heard == stt.transcribe(audio)
