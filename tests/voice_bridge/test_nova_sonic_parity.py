"""Nova Sonic behaves as the offline cascade does, over the real WebSocket door with a scripted bidi model.

The plan's fixed words are said (the greeting at the start, the handoff or closing message before the call
ends), what the model is told to say is the spoken form while the transcript keeps the written text, and a
barge-in drops the agent audio already queued for the caller at once, however much of it there is.
Everything from the socket to `BidiAgent` and the platform's tools is real; only the speech model is
scripted (`ScriptedBidiModel`: it says the last line of any instruction it is sent).
"""

from __future__ import annotations

import anyio
import pytest

from oratio.platform import Platform
from schemas import HandoffConfig, HandoffRule, Role, SessionStatus
from tests.support.serving import serving_voice
from tests.support.tenants import PLAN
from tests.support.worlds import World
from tests.voice_bridge.bidi_double import BidiStep, ScriptedBidiModel
from tests.voice_bridge.client import Heard, VoiceClient, voice_client
from tests.voice_bridge.doubles import silence, speak
from tests.voice_bridge.test_nova_sonic_pause import HUMAN_TOOL, agent_with
from voice_bridge.nova_prompts import FAREWELL, GREET, say_exactly
from voice_bridge.nova_sonic import NovaSonicBackend
from voice_bridge.spoken import spoken

pytestmark = pytest.mark.anyio

BYTES_PER_S = 16_000 * 2
"""Agent audio a second, at the 16 kHz these calls ask for (the model's 24 kHz is resampled by the bridge)."""


async def say(client: VoiceClient, words: str) -> None:
    await client.send_audio(speak(words) + silence(0.6))


def said_last(model: ScriptedBidiModel) -> str:
    """The line the model was last told to say."""
    return model.instructions[-1].splitlines()[-1]


def turns(platform: Platform, world: World, session_id: str) -> list[tuple[Role, str]]:
    found = platform.sessions.get(world.acme.principal, session_id).turns
    return [(t.role, t.text) for t in found if t.role is not Role.SYSTEM]


def ended_after_the_audio(heard: Heard) -> bool:
    """`ended` came after every byte of agent audio: the last words were played before the call closed."""
    return heard.audio_at_first("ended") == len(heard.audio)


async def test_a_handoff_without_pause_speaks_the_handoff_message_before_the_call_ends(platform: Platform) -> None:
    principal, agent, secret = agent_with(platform, "Initech", HandoffConfig(enabled=True, pause_on_handoff=False))
    model = ScriptedBidiModel([HUMAN_TOOL])
    with serving_voice(platform, NovaSonicBackend(platform, lambda: model)) as base:
        async with voice_client(f"{base}/voice/{agent.id}") as client:
            session_id = (await client.start(secret, output_sample_rate=16_000))["session_id"]
            await say(client, "Get me a human.")
            heard = await client.closed()
    assert heard.of_type("handoff")[0]["reason"] == "asked for a human"
    assert heard.transcripts("agent") == [PLAN.handoff_message]
    assert said_last(model) == say_exactly(FAREWELL, PLAN.handoff_message).splitlines()[-1]
    assert model.connections == 2  # a new connection for the last words
    assert len(heard.audio) >= BYTES_PER_S // 2  # the model's half second of speech, all of it
    assert ended_after_the_audio(heard)
    assert heard.close_code == 1000
    assert heard.of_type("ended")[0]["reason"] == "the agent handed the conversation to a person"
    found = platform.sessions.get(principal, session_id)
    assert [(t.role, t.text) for t in found.turns if t.role is not Role.SYSTEM] == [
        (Role.CUSTOMER, "Get me a human"),
        (Role.AGENT, PLAN.handoff_message),
    ]
    assert found.session.status is SessionStatus.HANDOFF_REQUESTED


async def test_a_handoff_rule_without_pause_drops_the_reply_and_speaks_the_message_before_the_call_ends(
    platform: Platform,
) -> None:
    principal, agent, secret = agent_with(platform, "Globex", HandoffConfig(enabled=True, pause_on_handoff=False))
    rule = HandoffRule(id="legal", description="The customer mentions a lawyer", kind="keywords", patterns=["lawyer"])
    platform.agents.deploy(principal.tenant_id, agent.id, PLAN.model_copy(update={"handoff_rules": [rule]}))
    model = ScriptedBidiModel([BidiStep(heard="I will call my lawyer", say="Let me explain our legal terms.")])
    with serving_voice(platform, NovaSonicBackend(platform, lambda: model)) as base:
        async with voice_client(f"{base}/voice/{agent.id}") as client:
            session_id = (await client.start(secret, output_sample_rate=16_000))["session_id"]
            await say(client, "I will call my lawyer.")
            heard = await client.closed()
    assert heard.of_type("handoff")[0]["reason"].startswith("handoff rule 'legal'")
    # The model's own reply to the caller's words was being composed: dropped, neither shown, stored nor played.
    assert heard.transcripts("agent") == [PLAN.handoff_message]
    assert len(heard.of_type("agent_audio_start")) == 1
    assert ended_after_the_audio(heard) and heard.close_code == 1000
    found = platform.sessions.get(principal, session_id)
    assert [(t.role, t.text) for t in found.turns if t.role is not Role.SYSTEM] == [
        (Role.CUSTOMER, "I will call my lawyer"),
        (Role.AGENT, PLAN.handoff_message),
    ]


async def test_the_end_tool_speaks_the_closing_message_before_the_call_ends(platform: Platform, world: World) -> None:
    model = ScriptedBidiModel([BidiStep(heard="That is all, goodbye", tool="end_session")])
    with serving_voice(platform, NovaSonicBackend(platform, lambda: model)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            session_id = (await client.start(world.secret, output_sample_rate=16_000))["session_id"]
            await say(client, "That is all, goodbye.")
            heard = await client.closed()
    assert heard.transcripts("agent") == [PLAN.closing_message]
    assert said_last(model) == spoken(PLAN.closing_message)
    assert len(heard.audio) >= BYTES_PER_S // 2 and ended_after_the_audio(heard)
    assert (heard.close_code, heard.of_type("ended")[0]["reason"]) == (1000, "the agent ended the conversation")
    # Stored before the session ended, as on text: the transcript ends with the goodbye.
    assert turns(platform, world, session_id) == [
        (Role.CUSTOMER, "That is all, goodbye"),
        (Role.AGENT, PLAN.closing_message),
    ]
    assert platform.sessions.get(world.acme.principal, session_id).session.status is SessionStatus.COMPLETED


GREETING = "Hello, this is Acme support. How can I help you today?"


async def greeted(base: str, world: World) -> Heard:
    async with voice_client(f"{base}/voice/{world.agent.id}") as client:
        await client.start(world.secret, output_sample_rate=16_000)
        await client.until(lambda h: bool(h.of_type("agent_audio_end")))
        await client.end()
        return await client.closed()


async def test_the_greeting_is_said_by_the_model_at_the_start_and_cached_for_the_next_call(
    platform: Platform, world: World
) -> None:
    platform.agents.deploy(world.acme.tenant_id, world.agent.id, PLAN.model_copy(update={"greeting": GREETING}))
    models = [ScriptedBidiModel([]), ScriptedBidiModel([])]
    made = iter(models)
    with serving_voice(platform, NovaSonicBackend(platform, lambda: next(made))) as base:
        first = await greeted(base, world)
        second = await greeted(base, world)
    assert [m["type"] for m in first.messages][:4] == ["ready", "transcript", "agent_audio_start", "agent_audio_end"]
    assert first.transcripts("agent") == [GREETING]
    # A sentence at a time, on the greeting's own instruction (not the "a person speaks through you" one).
    assert models[0].instructions == [
        say_exactly(GREET, "Hello, this is Acme support."),
        say_exactly(GREET, "How can I help you today?"),
    ]
    assert len(first.audio) >= BYTES_PER_S  # two half-second sentences
    # The second call to the same version plays the cached audio: its model is asked nothing.
    assert models[1].instructions == []
    assert second.transcripts("agent") == [GREETING] and bytes(second.audio) == bytes(first.audio)
    sessions = [m["session_id"] for m in (first.of_type("ready")[0], second.of_type("ready")[0])]
    for session_id in sessions:
        assert turns(platform, world, session_id) == [(Role.AGENT, GREETING)]


WRITTEN = (
    "I'm passing you to our team (source: escalation_policy.md). See https://acme.com/help or call 555-0100 for $12.50."
)


async def test_the_model_is_told_the_spoken_form_and_the_transcript_keeps_the_written_text(platform: Platform) -> None:
    principal, agent, secret = agent_with(platform, "Hooli", HandoffConfig(enabled=True))
    platform.agents.deploy(principal.tenant_id, agent.id, PLAN.model_copy(update={"handoff_message": WRITTEN}))
    model = ScriptedBidiModel([HUMAN_TOOL])
    with serving_voice(platform, NovaSonicBackend(platform, lambda: model)) as base:
        async with voice_client(f"{base}/voice/{agent.id}") as client:
            session_id = (await client.start(secret))["session_id"]
            await say(client, "Get me a human.")
            await client.until(lambda h: bool(h.of_type("agent_audio_end")))
            await client.end()
            heard = await client.closed()
    told = said_last(model)
    assert told == spoken(WRITTEN)
    for written_only in ("source", ".md", "https", "acme.com", "$", "(", "555-0100"):
        assert written_only not in told
    assert "acme dot com" in told and "twelve dollars and fifty cents" in told
    # The transcript (shown and stored) is the plan's written message, not how the model said it.
    assert heard.transcripts("agent") == [WRITTEN]
    found = platform.sessions.get(principal, session_id).turns
    assert [(t.role, t.text) for t in found if t.role is not Role.SYSTEM] == [
        (Role.CUSTOMER, "Get me a human"),
        (Role.AGENT, WRITTEN),
    ]


async def test_a_barge_in_over_a_long_backlog_drops_the_queued_audio_at_once(platform: Platform, world: World) -> None:
    """Ninety seconds of reply in 40 ms pieces, as Nova Sonic sends it, far faster than it is spoken: the caller
    interrupts after hearing a little, and hears at most the player's lead after `interrupted`."""
    story = BidiStep(heard="Tell me everything", say="Well, it is a long story.", say_seconds=90.0, delta_s=0.04)
    model = ScriptedBidiModel([story, BidiStep(heard="Stop", say="Sure.")])
    with serving_voice(platform, NovaSonicBackend(platform, lambda: model)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            await client.start(world.secret, output_sample_rate=16_000)
            await say(client, "Tell me everything.")
            await client.until(lambda h: len(h.audio) >= BYTES_PER_S // 2)
            with anyio.fail_after(10):
                await model.spoke.wait()  # the whole reply is queued: the model hears a barge-in from now on
            await client.send_audio(speak("Stop."))
            await client.until(lambda h: bool(h.of_type("interrupted")), within_s=10)
            at_interrupt = len(client.heard.audio)
            await client.send_audio(silence(0.6))
            await client.until(lambda h: "Sure." in h.transcripts("agent") and len(h.of_type("agent_audio_end")) >= 1)
            await client.end()
            heard = await client.closed()
    assert len(heard.of_type("interrupted")) == 1
    # After `interrupted` only the next reply's half second may come: nothing more of the story.
    assert len(heard.audio) - at_interrupt <= BYTES_PER_S * 0.5 + BYTES_PER_S * 0.1
    assert at_interrupt < BYTES_PER_S * 10  # far less than the ninety seconds of the story
