"""Phone calls through the Twilio door (issue 21, item 6), against a simulated Twilio on real sockets.

The webhook is signed as Twilio signs it; the stream speaks Twilio's Media Streams protocol with real
speech (espeak-ng, resampled to 8 kHz and mu-law encoded); the cascade on the other side is the one web
calls use, so what is asserted is the whole path: TwiML, ticket, mu-law in, turns stored, mu-law and marks
out, `clear` on barge-in, and a voice session in the dashboard's list with its recording.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from oratio.platform import Platform
from schemas import Channel, Role, SessionFilter, SessionStatus
from tests.support.models import STORY
from tests.support.serving import serving_voice
from tests.support.worlds import World
from tests.voice_bridge.doubles import espeak_speech, silence, speak
from tests.voice_bridge.twilio_client import (
    PUBLIC_URL,
    incoming_params,
    new_call_sid,
    post_incoming,
    stream_of,
    to_phone,
    twilio_stream,
    voice_agent_for,
    webhook_path,
)
from voice_bridge.audio import samples
from voice_bridge.cascade import CascadeBackend

pytestmark = pytest.mark.anyio

PHONE = 8_000


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"voice_public_url": PUBLIC_URL}


def http_of(ws_base: str) -> str:
    return "http" + ws_base.removeprefix("ws")


async def test_a_phone_call_is_answered_in_mulaw_with_marks_and_lands_in_the_dashboard(
    platform: Platform, world: World
) -> None:
    agent = voice_agent_for(platform, world.acme)
    backend = CascadeBackend(espeak_speech(["I need my invoice"]), platform.engine)
    call_sid = new_call_sid()
    with serving_voice(platform, backend) as base:
        path = webhook_path(world.acme.tenant_id, agent.id)
        answer = await post_incoming(http_of(base), path, incoming_params(call_sid, "+1 (415) 555-0123"))
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/xml")
        stream_url, ticket = stream_of(answer.text)
        # The stream URL is the public one (wss behind TLS), never built from the Host the request carried.
        assert stream_url == "wss://voice.example.com/voice/twilio/stream"

        async with twilio_stream(f"{base}/voice/twilio/stream", call_sid) as phone:
            await phone.begin(ticket)
            await phone.press("5")  # keypad digits are accepted and ignored
            await phone.say(to_phone(speak("Hello, I need my invoice please.", PHONE) + silence(1.0, PHONE)))
            await phone.until(lambda r: len(r.of("mark")) >= 2 and r.kinds()[-1] == "mark")
            await phone.hang_up()
            heard = await phone.closed()

    assert heard.close_code == 1000
    # The reply came back as 8 kHz mu-law media: real speech, not silence.
    assert len(heard.audio) > PHONE * 2 * 0.5
    assert np.abs(samples(bytes(heard.audio))).max() > 1000
    # A mark after each sentence of the reply ("You said: ...", "Anything else?"), each after its audio.
    kinds = heard.kinds()
    marks = [i for i, kind in enumerate(kinds) if kind == "mark"]
    assert len(marks) == 2
    assert kinds[0] == "media" and kinds[marks[0] - 1] == "media" and kinds[marks[1] - 1] == "media"
    assert [m["mark"]["name"] for m in heard.of("mark")] == ["agent-1", "agent-2"]
    assert not heard.of("clear")

    listed = platform.sessions.list(world.acme.principal, SessionFilter(agent_id=agent.id, channel=Channel.VOICE)).items
    [session] = listed
    assert session.channel is Channel.VOICE
    assert session.customer == {"via": "phone", "caller": "…0123", "call_sid": call_sid}
    found = platform.sessions.get(world.acme.principal, session.id)
    assert found.session.status is SessionStatus.COMPLETED
    assert [(t.role, t.text) for t in found.turns] == [
        (Role.CUSTOMER, "I need my invoice"),
        (Role.AGENT, "You said: I need my invoice. Anything else?"),
    ]
    [recording] = found.recordings
    assert recording in (found.session.end_reason or "")


async def test_speaking_over_the_agent_on_the_phone_sends_clear(platform: Platform, world: World) -> None:
    agent = voice_agent_for(platform, world.acme)
    backend = CascadeBackend(espeak_speech(["Tell me a story", "Stop please"]), platform.engine)
    call_sid = new_call_sid()
    with serving_voice(platform, backend) as base:
        answer = await post_incoming(
            http_of(base), webhook_path(world.acme.tenant_id, agent.id), incoming_params(call_sid)
        )
        _, ticket = stream_of(answer.text)
        async with twilio_stream(f"{base}/voice/twilio/stream", call_sid) as phone:
            await phone.begin(ticket)
            await phone.say(to_phone(speak("Tell me a story.", PHONE) + silence(1.0, PHONE)))
            # The story is playing (five sentences, about fifteen seconds): a second of it has arrived.
            await phone.until(lambda r: len(r.audio) > PHONE * 2)
            await phone.say(to_phone(speak("Stop, please.", PHONE) + silence(1.0, PHONE)))
            await phone.until(lambda r: bool(r.of("clear")))
            clear_at = len(phone.received.events) - 1
            # The interruption is answered next, in speech, after the clear.
            await phone.until(lambda r: any(e["event"] == "media" for e in r.events[clear_at:]))
            await phone.hang_up()
            heard = await phone.closed()

    assert heard.close_code == 1000
    [session] = platform.sessions.list(
        world.acme.principal, SessionFilter(agent_id=agent.id, channel=Channel.VOICE)
    ).items
    turns = platform.sessions.get(world.acme.principal, session.id).turns
    assert [(t.role, t.text) for t in turns][:3] == [
        (Role.CUSTOMER, "Tell me a story"),
        (Role.AGENT, STORY),  # stored as written, though not all of it was heard
        (Role.CUSTOMER, "Stop please"),
    ]


async def test_the_caller_hears_the_plans_greeting_before_saying_anything(platform: Platform, world: World) -> None:
    agent = voice_agent_for(platform, world.acme)
    _, artifact = platform.agents.artifact(world.acme.tenant_id, agent.id)
    greeting = "Hello, this is Acme support. How can I help you today?"
    platform.agents.deploy(world.acme.tenant_id, agent.id, artifact.plan.model_copy(update={"greeting": greeting}))
    call_sid = new_call_sid()
    with serving_voice(platform, CascadeBackend(espeak_speech([]), platform.engine)) as base:
        answer = await post_incoming(
            http_of(base), webhook_path(world.acme.tenant_id, agent.id), incoming_params(call_sid)
        )
        _, ticket = stream_of(answer.text)
        async with twilio_stream(f"{base}/voice/twilio/stream", call_sid) as phone:
            await phone.begin(ticket)
            # Nothing is said on the line: the greeting arrives, then the mark that ends the reply.
            await phone.until(lambda r: bool(r.of("mark")))
            await phone.hang_up()
            heard = await phone.closed()

    assert heard.kinds()[0] == "media" and heard.kinds().index("mark") > 1
    assert len(heard.audio) > PHONE * 2  # over a second of speech at 8 kHz
    [session] = platform.sessions.list(world.acme.principal, SessionFilter(agent_id=agent.id)).items
    turns = platform.sessions.get(world.acme.principal, session.id).turns
    assert [(t.role, t.text) for t in turns] == [(Role.AGENT, greeting)]
