"""Whole calls over a real socket: speech in, the deployed agent's turns stored, speech out, recording saved."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from oratio.platform import Platform
from schemas import Channel, EventType, Role, SessionStatus, SessionWithTranscript
from tests.support.serving import TEST_LIMITS, serving_voice
from tests.support.tenants import events as tenant_events
from tests.support.worlds import World
from tests.voice_bridge.client import voice_client
from tests.voice_bridge.doubles import espeak_speech, silence, speak
from voice_bridge.audio import read_wav, samples
from voice_bridge.cascade import CascadeBackend
from voice_bridge.scripted import scripted_backend

pytestmark = pytest.mark.anyio


def read_session(platform: Platform, world: World, session_id: str) -> SessionWithTranscript:
    return platform.sessions.get(world.acme.principal, session_id)


async def test_a_spoken_question_is_answered_in_speech_stored_and_recorded(platform: Platform, world: World) -> None:
    backend = CascadeBackend(espeak_speech(["I need my invoice"]), platform.engine)
    with serving_voice(platform, backend) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            ready = await client.start(world.secret, customer={"name": "Dana"})
            assert ready["type"] == "ready"
            assert ready["audio"] == {"encoding": "pcm16", "sample_rate": 24_000, "channels": 1}
            session_id = ready["session_id"]
            await client.send_audio(speak("Hello, I need my invoice please.") + silence(1.0))
            await client.until(lambda h: bool(h.of_type("agent_audio_end")))
            await client.end()
            heard = await client.closed()

    assert heard.close_code == 1000
    assert heard.transcripts("customer") == ["I need my invoice"]
    assert heard.transcripts("agent") == ["You said: I need my invoice. Anything else?"]
    # Spoken sentence by sentence: each as a partial transcript, before the final one.
    assert heard.transcripts("agent", final=False) == ["You said: I need my invoice.", "Anything else?"]
    kinds = [m["type"] for m in heard.messages]
    assert kinds.index("agent_audio_start") < kinds.index("agent_audio_end") < kinds.index("ended")
    assert len(heard.audio) > 24_000 * 2 * 0.5  # at least half a second of agent speech at 24 kHz
    assert np.abs(samples(bytes(heard.audio))).max() > 1000

    found = read_session(platform, world, session_id)
    assert found.session.status is SessionStatus.COMPLETED
    assert found.session.channel.value == "voice"
    assert found.session.customer == {"name": "Dana"}
    assert [(t.role, t.text) for t in found.turns] == [
        (Role.CUSTOMER, "I need my invoice"),
        (Role.AGENT, "You said: I need my invoice. Anything else?"),
    ]
    [key] = found.recordings
    assert found.session.end_reason is not None and key in found.session.end_reason
    pcm, rate, channels = read_wav(platform.backends.blobs.get(key))
    assert (rate, channels) == (16_000, 2)
    stereo = samples(pcm).reshape(-1, 2)
    customer, agent = np.abs(stereo[:, 0]), np.abs(stereo[:, 1])
    assert customer.max() > 1000 and agent.max() > 1000
    # The reply sits after the question in the recording.
    assert np.argmax(agent > 1000) > np.argmax(customer > 1000)
    events = tenant_events(platform, world.acme.tenant_id)
    [recorded] = [e for e in events if e.type is EventType.SESSION_RECORDING]
    assert recorded.subject == session_id and recorded.data["key"] == key


async def test_turns_are_stored_as_they_happen(platform: Platform, world: World) -> None:
    backend = CascadeBackend(espeak_speech(["What are your hours", "Thanks"]), platform.engine)
    with serving_voice(platform, backend) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            session_id = (await client.start(world.secret))["session_id"]
            await client.send_audio(speak("What are your hours?") + silence(1.0))
            await client.until(lambda h: len(h.transcripts("agent")) == 1)
            # Mid-call, the transcript is already in the store (the dashboard tails these events).
            live = read_session(platform, world, session_id)
            assert live.session.status is SessionStatus.ACTIVE
            assert [t.text for t in live.turns] == [
                "What are your hours",
                "You said: What are your hours. Anything else?",
            ]
            await client.send_audio(speak("Thanks.") + silence(1.0))
            await client.until(lambda h: len(h.transcripts("agent")) == 2)
            await client.end()
            await client.closed()
    assert len(read_session(platform, world, session_id).turns) == 4


async def test_the_agent_ending_the_conversation_closes_the_call_after_its_goodbye(
    platform: Platform, world: World
) -> None:
    backend = CascadeBackend(espeak_speech(["goodbye"]), platform.engine)
    with serving_voice(platform, backend) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            session_id = (await client.start(world.secret))["session_id"]
            await client.send_audio(speak("Goodbye.") + silence(1.0))
            heard = await client.closed()
    assert heard.close_code == 1000
    assert heard.transcripts("agent") == ["Thank you for contacting us. Goodbye!"]
    assert heard.of_type("ended")[0]["reason"] == "the agent ended the conversation"
    assert len(heard.audio) > 0
    session = read_session(platform, world, session_id).session
    assert session.status is SessionStatus.COMPLETED
    assert session.end_reason == "ended by the agent"


async def test_a_handoff_is_announced_and_the_session_stays_handed_off(platform: Platform, world: World) -> None:
    backend = CascadeBackend(espeak_speech(["I want a person"]), platform.engine)
    with serving_voice(platform, backend) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            session_id = (await client.start(world.secret))["session_id"]
            await client.send_audio(speak("I want to talk to a person.") + silence(1.0))
            await client.until(lambda h: bool(h.of_type("handoff")))
            await client.end()
            heard = await client.closed()
    assert heard.transcripts("agent") == ["I'm connecting you with a member of our team, who will continue from here."]
    assert heard.close_code == 1000
    assert read_session(platform, world, session_id).session.status is SessionStatus.HANDOFF_REQUESTED
    [key] = read_session(platform, world, session_id).recordings
    assert platform.backends.blobs.head(key) is not None


async def test_a_call_can_continue_an_open_session(platform: Platform, world: World) -> None:
    first = await platform.engine.turn_async(world.acme.tenant_id, world.agent.id, None, "typed first", Channel.VOICE)
    backend = CascadeBackend(espeak_speech(["spoken second"]), platform.engine)
    with serving_voice(platform, backend) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            ready = await client.start(world.secret, session_id=first.session_id)
            assert ready["session_id"] == first.session_id
            await client.send_audio(speak("Second.") + silence(1.0))
            await client.until(lambda h: bool(h.transcripts("agent")))
            await client.end()
            await client.closed()
    turns = read_session(platform, world, first.session_id).turns
    assert [t.text for t in turns][::2] == ["typed first", "spoken second"]


async def test_audio_at_another_rate_is_resampled_both_ways(platform: Platform, world: World) -> None:
    backend = CascadeBackend(espeak_speech(["Hello"]), platform.engine)
    with serving_voice(platform, backend) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            ready = await client.start(world.secret, rate=48_000, output_sample_rate=16_000)
            assert ready["audio"]["sample_rate"] == 16_000
            await client.send_audio(speak("Hello there.", rate=48_000) + silence(1.0, rate=48_000), frame_bytes=1920)
            await client.until(lambda h: bool(h.of_type("agent_audio_end")))
            await client.end()
            heard = await client.closed()
    assert heard.transcripts("customer") == ["Hello"]
    assert len(heard.audio) > 16_000  # half a second at 16 kHz, at least


async def test_an_endless_utterance_is_cut_at_the_limit_and_answered(platform: Platform, world: World) -> None:
    backend = scripted_backend(platform.engine)
    limits = replace(TEST_LIMITS, utterance_max_s=1.0)
    t = np.arange(int(2.5 * 16_000)) / 16_000
    drone = (4000 * np.sin(2 * np.pi * 220 * t)).astype("<i2").tobytes()  # 2.5 s without a pause
    with serving_voice(platform, backend, limits) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            assert (await client.start(world.secret))["limits"]["utterance_max_s"] == 1.0
            await client.send_audio(drone + silence(1.0))
            await client.until(lambda h: len(h.transcripts("agent")) == 3)
            await client.end()
            heard = await client.closed()
    assert heard.transcripts("customer") == ["Utterance 1.", "Utterance 2.", "Utterance 3."]


async def test_each_call_of_a_continued_session_keeps_its_own_recording(platform: Platform, world: World) -> None:
    """Two calls on one session: two recordings, listed on the session oldest first (issue 15, item 5).

    The first call asks for a person: the session stays open (`handoff_requested`); an admin returns it to
    the agent (a paused agent would not answer: docs/handoff.md) and the customer calls again.
    """
    backend = CascadeBackend(espeak_speech(["I want a person", "second call"]), platform.engine)
    session_id: str | None = None
    lengths = (1.0, 3.0)  # trailing silence differs, so the two recordings differ in length
    with serving_voice(platform, backend) as base:
        for trailing in lengths:
            async with voice_client(f"{base}/voice/{world.agent.id}") as client:
                ready = await client.start(world.secret, session_id=session_id)
                session_id = ready["session_id"]
                await client.send_audio(speak("Hello.") + silence(trailing))
                await client.until(lambda h: bool(h.transcripts("agent")))
                await client.end()
                await client.closed()
            if trailing == lengths[0] and session_id is not None:
                platform.handoff.return_to_agent(world.acme.principal, session_id)
    assert session_id is not None
    found = read_session(platform, world, session_id)
    spoken = [t.text for t in found.turns if t.role is not Role.SYSTEM]
    assert spoken[::2] == ["I want a person", "second call"]
    first, second = found.recordings
    assert first != second
    seconds = [len(read_wav(platform.backends.blobs.get(key))[0]) / 4 / 16_000 for key in (first, second)]
    assert seconds[0] < seconds[1]  # the first call's recording was not overwritten by the second
    events = [e for e in tenant_events(platform, world.acme.tenant_id) if e.type is EventType.SESSION_RECORDING]
    assert [e.data["key"] for e in events] == [first, second]
