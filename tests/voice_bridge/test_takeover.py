"""Listen-in and takeover on a voice call (issue 19, item 2), over real WebSockets.

The caller is a real client of `WS /voice/{agent_id}`; the admin is a real client of
`WS /voice/calls/{session_id}/listen`. Speech is the scripted cascade (energy VAD, scripted
recognition, a tone whose length follows the text), so what is checked is the bridge: who hears
what, when the agent's audio stops, and that a person's words reach the caller's ear as audio.
"""

from __future__ import annotations

import anyio
import anyio.to_thread
import numpy as np
import pytest

from oratio.platform import Platform
from schemas import Event, EventType, Role
from tests.support.models import STORY
from tests.support.serving import serving_voice
from tests.support.tenants import token_for
from tests.support.worlds import World
from tests.voice_bridge.client import Heard, listen_client, voice_client
from voice_bridge.audio import rms
from voice_bridge.listen import ListenSettings
from voice_bridge.scripted import scripted_backend

pytestmark = pytest.mark.anyio

RATE = 16_000
OUT_BYTES_PER_S = 24_000 * 2  # the caller's default output rate, PCM16
LOUD = 1000.0  # the tone TTS and the test tones are ~3000-4000 RMS; silence is 0


def tone(seconds: float, hz: float = 220.0) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    return (4000 * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()


def utterance() -> bytes:
    """Speech for the energy VAD, then the silence that ends it."""
    return tone(0.4) + bytes(RATE * 2)


def listen_url(base: str, session_id: str) -> str:
    return f"{base}/voice/calls/{session_id}/listen"


def customer_turn(event: Event, session_id: str) -> bool:
    return event.type is EventType.SESSION_TURN and event.subject == session_id and event.data.get("role") == "customer"


def kinds(heard: Heard) -> list[str]:
    return [m["type"] for m in heard.messages]


async def test_an_admin_hears_the_caller_and_the_agent(platform: Platform, world: World) -> None:
    backend = scripted_backend(platform.engine, ["Hello there"])
    token = token_for(platform, world.acme.principal)
    with serving_voice(platform, backend) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as caller:
            session_id = (await caller.start(world.secret))["session_id"]
            async with listen_client(listen_url(base, session_id)) as admin:
                hello = await admin.listen(token)
                assert admin.heard.close_code is None, admin.heard.close_reason
                assert hello["type"] == "listening"
                assert hello["audio"] == {"encoding": "pcm16", "sample_rate": RATE, "channels": 1}
                assert hello["channels"] == {"1": "customer", "2": "agent", "3": "human"}
                assert hello["taken_over"] is False and hello["can_talk"] is True
                await caller.send_audio(utterance())
                await caller.until(lambda h: "agent_audio_end" in kinds(h))
                agent_bytes = len(caller.heard.audio) * RATE // 24_000
                await admin.until(lambda h: len(h.channels[2]) >= agent_bytes * 0.9 and len(h.channels[1]) > 0)
                await caller.end()
                overheard = await admin.closed()
    customer, agent = bytes(overheard.channels[1]), bytes(overheard.channels[2])
    assert rms(customer[: int(0.3 * RATE) * 2]) > LOUD  # the caller's tone, resampled to 16 kHz
    assert rms(agent) > LOUD  # the agent's TTS, as the caller heard it
    assert overheard.channels[3] == bytearray()  # nobody took over
    assert overheard.of_type("ended")[0]["reason"] == "the customer ended the call"
    assert overheard.close_code == 1000


async def test_taking_over_cuts_the_agent_and_a_typed_message_is_spoken(platform: Platform, world: World) -> None:
    # The story is about 330 characters: about 6.6 s of tone at 0.02 s a character.
    backend = scripted_backend(platform.engine, ["Tell me a story"], seconds_per_char=0.02)
    admin_principal = world.acme.principal
    token = token_for(platform, admin_principal)
    typed, also = "Hello, this is Ana from support.", "I am looking at your invoice now."
    with serving_voice(platform, backend) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as caller:
            session_id = (await caller.start(world.secret))["session_id"]
            await caller.send_audio(utterance())
            await caller.until(lambda h: len(h.audio) > OUT_BYTES_PER_S // 2)  # the story is playing
            await anyio.to_thread.run_sync(platform.handoff.take_over, admin_principal, session_id)
            await caller.until(lambda h: "taken_over" in kinds(h))
            async with listen_client(listen_url(base, session_id)) as admin:
                assert (await admin.listen(token))["taken_over"] is True
                await admin.send_json({"type": "say", "text": typed})
                said = await admin.until(lambda h: bool(h.of_type("said") or h.of_type("error")))
                assert said["type"] == "said"
                await caller.until(lambda h: "human_audio_end" in kinds(h))
                # The same message written elsewhere (the dashboard's box, MCP) reaches the call by its event.
                await anyio.to_thread.run_sync(platform.handoff.say, admin_principal, session_id, also)
                await caller.until(lambda h: kinds(h).count("human_audio_end") == 2)
                await admin.until(lambda h: len(h.channels[3]) > 0)
            await caller.end()
            heard = await caller.closed()

    order = kinds(heard)
    assert order.index("interrupted") < order.index("taken_over")
    # Not one agent sample after the take over: the next audio is the person's.
    assert heard.audio_at_first("taken_over") == heard.audio_at_first("human_audio_start")
    assert heard.audio_at_first("taken_over") < len(STORY) * 0.02 * OUT_BYTES_PER_S / 2
    # Each message spoken once (the listen socket's own message is not spoken again when its event arrives).
    assert heard.transcripts("human") == [typed, also]
    start, end = heard.audio_at_first("human_audio_start"), heard.audio_at_first("human_audio_end")
    spoken = bytes(heard.audio[start:end])
    assert rms(spoken) > LOUD
    assert len(spoken) >= len(typed) * 0.02 * OUT_BYTES_PER_S * 0.9
    turns = platform.sessions.get(admin_principal, session_id).turns
    human = [(t.text, t.author) for t in turns if t.role is Role.HUMAN]
    assert human == [(typed, admin_principal.subject), (also, admin_principal.subject)]
    assert [t.text for t in turns if t.role is Role.AGENT] == [STORY]  # the cut reply is still in the transcript


async def test_a_message_is_spoken_whole_when_its_admin_leaves_at_once(platform: Platform, world: World) -> None:
    backend = scripted_backend(platform.engine, seconds_per_char=0.02)
    principal = world.acme.principal
    typed = "One moment please, I am looking into it."
    with serving_voice(platform, backend) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as caller:
            session_id = (await caller.start(world.secret))["session_id"]
            await anyio.to_thread.run_sync(platform.handoff.take_over, principal, session_id)
            await caller.until(lambda h: "taken_over" in kinds(h))
            async with listen_client(listen_url(base, session_id)) as admin:
                await admin.listen(token_for(platform, principal))
                await admin.send_json({"type": "say", "text": typed})
                # and leaves at once, while it is being spoken (listeners hear it on channel 3)
                await admin.until(lambda h: len(h.channels[3]) > 0)
            # The admin's socket is gone; the caller still hears the whole message.
            await caller.until(lambda h: "human_audio_end" in kinds(h))
            await caller.end()
            heard = await caller.closed()
    start, end = heard.audio_at_first("human_audio_start"), heard.audio_at_first("human_audio_end")
    assert end - start >= len(typed) * 0.02 * OUT_BYTES_PER_S * 0.95


async def test_after_return_the_agent_answers_again(platform: Platform, world: World) -> None:
    backend = scripted_backend(platform.engine, ["Are you there", "Thanks"])
    principal = world.acme.principal
    with serving_voice(platform, backend) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as caller:
            session_id = (await caller.start(world.secret))["session_id"]
            await anyio.to_thread.run_sync(platform.handoff.take_over, principal, session_id)
            await caller.until(lambda h: "taken_over" in kinds(h))
            # The return waits until the paused turn is stored: the caller's transcript line comes before the
            # engine's turn, and a return before that turn reads the session would rightly let the agent answer.
            async with platform.tailer(0.02).subscribe(world.acme.tenant_id) as events:
                await caller.send_audio(utterance())
                with anyio.fail_after(10):
                    while not any(customer_turn(event, session_id) for event in await events.next_batch()):
                        pass
            await caller.until(lambda h: h.transcripts("customer") == ["Are you there"])
            await anyio.to_thread.run_sync(platform.handoff.return_to_agent, principal, session_id)
            await caller.until(lambda h: "returned" in kinds(h))
            await caller.send_audio(utterance())
            await caller.until(lambda h: "agent_audio_end" in kinds(h))
            await caller.end()
            heard = await caller.closed()
    # The paused utterance got no answer (not even the canned handoff message: a person had the call); the one
    # after the return did, out loud, with the words nobody answered before it (the echo model repeats both).
    assert heard.transcripts("agent") == ["You said: Are you there Thanks. Anything else?"]
    assert heard.audio_at_first("returned") == 0
    assert rms(bytes(heard.audio)) > LOUD


async def test_the_admin_talks_from_a_microphone_and_the_caller_hears_it(platform: Platform, world: World) -> None:
    # The scripted recognition "hears" the admin's one utterance as this line.
    words = "Hello, I am Ana from support"
    backend = scripted_backend(platform.engine, [words])
    principal = world.acme.principal
    token = token_for(platform, principal)
    with serving_voice(platform, backend) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as caller:
            session_id = (await caller.start(world.secret))["session_id"]
            async with listen_client(listen_url(base, session_id)) as admin:
                await admin.listen(token)
                await anyio.to_thread.run_sync(platform.handoff.take_over, principal, session_id)
                await admin.send_json({"type": "talk", "sample_rate": RATE})
                talking = await admin.until(lambda h: bool(h.of_type("talking") or h.of_type("error")))
                assert talking == {"type": "talking", "sample_rate": RATE}
                voice = tone(1.0, hz=330.0) + bytes(RATE * 2)  # an utterance, then the pause that ends it
                for at in range(0, len(voice), 640):
                    await admin.ws.send(voice[at : at + 640])
                await caller.until(lambda h: len(h.audio) >= OUT_BYTES_PER_S * 0.9)
                await caller.until(lambda h: h.transcripts("human") == [words])
                await admin.until(lambda h: len(h.channels[3]) >= RATE * 2 * 0.9)
            await caller.end()
            heard = await caller.closed()
            overheard = admin.heard
    assert "taken_over" in kinds(heard)
    loud = bytes(heard.audio[: OUT_BYTES_PER_S // 2])
    assert rms(loud) > LOUD  # the person's voice, at the caller's rate
    assert rms(bytes(overheard.channels[3][:RATE])) > LOUD  # and the listener hears it on the human channel
    assert overheard.channels[2] == bytearray()
    # What the person said is in the transcript as their turn, and was not spoken again by the TTS.
    assert "human_audio_start" not in kinds(heard)
    turns = platform.sessions.get(principal, session_id).turns
    assert [(t.text, t.author) for t in turns if t.role is Role.HUMAN] == [(words, principal.subject)]


async def test_talking_needs_the_call_taken_over(platform: Platform, world: World) -> None:
    token = token_for(platform, world.acme.principal)
    listen = ListenSettings(talk_wait_s=0.2)
    with serving_voice(platform, scripted_backend(platform.engine), listen=listen) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as caller:
            session_id = (await caller.start(world.secret))["session_id"]
            async with listen_client(listen_url(base, session_id)) as admin:
                await admin.listen(token)
                await admin.send_json({"type": "talk", "sample_rate": RATE})
                refused = await admin.until(lambda h: bool(h.of_type("error")))
                await admin.send_json({"type": "say", "text": "hello?"})
                await admin.until(lambda h: len(h.of_type("error")) == 2)
                # Audio without a granted talk breaks the protocol: closed with a reason.
                await admin.ws.send(bytes(640))
                overheard = await admin.closed()
            await caller.end()
            await caller.closed()
    assert refused == {"type": "error", "code": 4409, "message": "take the call over before talking"}
    assert overheard.of_type("error")[1] == {
        "type": "error",
        "code": 4409,
        "message": "take the session over before sending it messages",
    }
    assert overheard.close_code == 1008
    assert "talk" in overheard.close_reason


async def test_closing_the_session_ends_the_call(platform: Platform, world: World) -> None:
    principal = world.acme.principal
    token = token_for(platform, principal)
    with serving_voice(platform, scripted_backend(platform.engine)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as caller:
            session_id = (await caller.start(world.secret))["session_id"]
            async with listen_client(listen_url(base, session_id)) as admin:
                await admin.listen(token)
                await anyio.to_thread.run_sync(platform.handoff.take_over, principal, session_id)
                await anyio.to_thread.run_sync(platform.handoff.close_session, principal, session_id)
                heard = await caller.closed()
                overheard = await admin.closed()
    assert heard.close_code == 1000
    assert heard.of_type("ended") == [{"type": "ended", "reason": "a person closed the conversation"}]
    assert overheard.close_code == 1000
    assert overheard.of_type("ended")[0]["reason"] == "a person closed the conversation"
