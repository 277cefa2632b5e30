"""The plan's greeting is spoken as a call starts: sentence by sentence the first time, from the cache after."""

from __future__ import annotations

import pytest

from oratio.platform import Platform
from schemas import Channel, Role, SessionFilter
from tests.support.serving import serving_voice
from tests.support.worlds import World
from tests.voice_bridge.client import Heard, voice_client
from tests.voice_bridge.doubles import EspeakTts, espeak_speech, silence, speak
from voice_bridge.cascade import CascadeBackend
from voice_bridge.greeting import GreetingCache, GreetingKey, greeting_sentences

pytestmark = pytest.mark.anyio

GREETING = "Hello, this is Acme support. How can I help you today?"


def deploy_greeting(platform: Platform, world: World, greeting: str | None) -> None:
    _, artifact = platform.agents.artifact(world.acme.tenant_id, world.agent.id)
    plan = artifact.plan.model_copy(update={"greeting": greeting})
    platform.agents.deploy(world.acme.tenant_id, world.agent.id, plan)


async def greeted(base: str, world: World) -> Heard:
    """One call that says nothing until the greeting has been heard, then ends."""
    async with voice_client(f"{base}/voice/{world.agent.id}") as client:
        await client.start(world.secret)
        await client.until(lambda h: bool(h.of_type("agent_audio_end")), within_s=30)
        await client.end()
        return await client.closed()


async def test_the_greeting_is_the_first_thing_the_caller_hears(platform: Platform, world: World) -> None:
    deploy_greeting(platform, world, GREETING)
    speech = espeak_speech([])
    assert isinstance(speech.tts, EspeakTts)
    with serving_voice(platform, CascadeBackend(speech, platform.engine)) as base:
        heard = await greeted(base, world)
    assert [m["type"] for m in heard.messages][:4] == ["ready", "transcript", "agent_audio_start", "agent_audio_end"]
    assert heard.transcripts("agent") == [GREETING]
    assert len(heard.audio) > 16_000 * 2  # over a second of speech at 16 kHz
    # Synthesised a sentence at a time: the first is played while the second is made.
    assert speech.tts.calls == ["Hello, this is Acme support.", "How can I help you today?"]
    [session] = platform.sessions.list(world.acme.principal, SessionFilter(agent_id=world.agent.id)).items
    turns = platform.sessions.get(world.acme.principal, session.id).turns
    assert [(t.role, t.text) for t in turns] == [(Role.AGENT, GREETING)]


async def test_a_continued_conversation_is_not_greeted_again(platform: Platform, world: World) -> None:
    deploy_greeting(platform, world, GREETING)
    first = await platform.engine.turn_async(world.acme.tenant_id, world.agent.id, None, "typed first", Channel.VOICE)
    speech = espeak_speech([])
    assert isinstance(speech.tts, EspeakTts)
    with serving_voice(platform, CascadeBackend(speech, platform.engine)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            await client.start(world.secret, session_id=first.session_id)
            await client.end()
            heard = await client.closed()
    assert heard.transcripts("agent") == [] and len(heard.audio) == 0 and speech.tts.calls == []
    turns = platform.sessions.get(world.acme.principal, first.session_id).turns
    assert [t.text for t in turns][:1] == ["typed first"]


async def test_a_second_call_to_the_same_version_plays_the_cached_greeting(platform: Platform, world: World) -> None:
    deploy_greeting(platform, world, GREETING)
    speech = espeak_speech([])
    assert isinstance(speech.tts, EspeakTts)
    with serving_voice(platform, CascadeBackend(speech, platform.engine)) as base:
        first = await greeted(base, world)
        synthesised = list(speech.tts.calls)
        second = await greeted(base, world)
        assert speech.tts.calls == synthesised  # nothing synthesised again
        assert bytes(second.audio) == bytes(first.audio)
        # A new deploy is a new version: its greeting is spoken, never the old one from the cache.
        deploy_greeting(platform, world, "Welcome back to Acme.")
        third = await greeted(base, world)
    assert third.transcripts("agent") == ["Welcome back to Acme."]
    assert speech.tts.calls == [*synthesised, "Welcome back to Acme."]


async def test_no_greeting_in_the_plan_means_the_agent_waits_for_the_caller(platform: Platform, world: World) -> None:
    deploy_greeting(platform, world, None)
    speech = espeak_speech(["I need my invoice"])
    assert isinstance(speech.tts, EspeakTts)
    with serving_voice(platform, CascadeBackend(speech, platform.engine)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            await client.start(world.secret)
            await client.send_audio(silence(0.3) + speak("I need my invoice") + silence(1.2))
            await client.until(lambda h: bool(h.of_type("agent_audio_end")), within_s=30)
            await client.end()
            heard = await client.closed()
    assert heard.transcripts("customer") == ["I need my invoice"]
    assert heard.audio_at_first("transcript") == 0  # no audio before the customer spoke
    assert speech.tts.calls[0].startswith("You said")


async def test_the_caller_talking_over_the_greeting_stops_it(platform: Platform, world: World) -> None:
    long_greeting = " ".join(f"This is sentence number {n} of a long welcome." for n in range(1, 7))
    deploy_greeting(platform, world, long_greeting)
    speech = espeak_speech(["Stop please"])
    assert isinstance(speech.tts, EspeakTts)
    with serving_voice(platform, CascadeBackend(speech, platform.engine)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            await client.start(world.secret)
            await client.until(lambda h: len(h.audio) > 16_000, within_s=30)  # half a second of greeting
            await client.send_audio(speak("Stop please") + silence(1.2))
            await client.until(lambda h: bool(h.of_type("interrupted")), within_s=30)
            await client.until(lambda h: h.transcripts("customer") == ["Stop please"], within_s=30)
            await client.end()
            await client.closed()
    assert len([c for c in speech.tts.calls if c.startswith("This is sentence")]) < 6


def test_the_cache_keeps_the_most_recently_used_sentences_only() -> None:
    cache = GreetingCache(max_entries=2)
    keys = [GreetingKey("t", "a", version, "cascade", 16_000) for version in (1, 2, 3)]
    cache.put(keys[0], "one", b"1")
    cache.put(keys[1], "two", b"2")
    assert cache.get(keys[0], "one") == b"1"  # now the most recent
    cache.put(keys[2], "three", b"3")
    assert (cache.get(keys[0], "one"), cache.get(keys[1], "two"), cache.get(keys[2], "three")) == (b"1", None, b"3")
    assert len(cache) == 2
    assert cache.get(keys[0], "another sentence") is None
    off = GreetingCache(max_entries=0)
    off.put(keys[0], "one", b"1")
    assert off.get(keys[0], "one") is None


def test_greetings_split_into_sentences() -> None:
    assert greeting_sentences("Hi there! I can help with refunds, e.g. late ones. Ask away") == [
        "Hi there!",
        "I can help with refunds, e.g. late ones.",
        "Ask away",
    ]
