"""Attacks on the phone door (issue 21, item 6): forged webhooks and stolen, replayed or stale stream tickets.

The webhook is answered only for a request signed with the tenant's Twilio auth token over the public URL;
whoever cannot sign learns nothing (an unknown tenant, a tenant without a token, a tampered parameter, a
URL signed for another host all read the same 403). A stream is admitted only with a ticket this platform
signed, for this CallSid, unexpired and unused; everything else that is not Twilio's protocol closes the
socket with a code and a reason, and a call already under way keeps what was said.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from oratio.platform import Platform
from schemas import Agent, SessionFilter, SessionStatus
from tests.support.serving import TEST_LIMITS, serving_voice
from tests.support.worlds import World
from tests.voice_bridge.doubles import silence, speak
from tests.voice_bridge.twilio_client import (
    AUTH_TOKEN,
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
from voice_bridge.app import create_voice_app
from voice_bridge.scripted import scripted_backend
from voice_bridge.settings import VoiceSettings
from voice_bridge.twilio_auth import Tickets, ticket_key, twilio_signature
from voice_bridge.twilio_door import BAD_SIGNATURE

pytestmark = pytest.mark.anyio


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"voice_public_url": PUBLIC_URL}


@pytest.fixture
def phone_agent(platform: Platform, world: World) -> Agent:
    return voice_agent_for(platform, world.acme)


@pytest.fixture
async def webhook(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """The bridge in-process (the webhook is plain HTTP), as `oratio serve` mounts it at /voice."""
    app = Starlette()
    app.mount("/voice", create_voice_app(platform, backend=scripted_backend(platform.engine), limits=TEST_LIMITS))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


def signed(path: str, params: dict[str, str], *, url: str | None = None, token: str = AUTH_TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": twilio_signature(token, url or PUBLIC_URL + path, list(params.items()))}


# -- the webhook -----------------------------------------------------------------------------------


async def test_a_signed_webhook_gets_twiml_with_a_ticket(
    webhook: httpx.AsyncClient, world: World, phone_agent: Agent
) -> None:
    path = webhook_path(world.acme.tenant_id, phone_agent.id)
    params = incoming_params(new_call_sid())
    answer = await webhook.post(path, data=params, headers=signed(path, params))
    assert answer.status_code == 200
    url, ticket = stream_of(answer.text)
    assert url == "wss://voice.example.com/voice/twilio/stream" and ticket


@pytest.mark.parametrize(
    "attack",
    ["tampered parameter", "added parameter", "another host", "the local URL", "wrong token", "no signature"],
)
async def test_a_webhook_not_signed_for_this_url_and_these_params_is_refused(
    webhook: httpx.AsyncClient, world: World, phone_agent: Agent, attack: str
) -> None:
    path = webhook_path(world.acme.tenant_id, phone_agent.id)
    params = incoming_params(new_call_sid())
    headers = signed(path, params)
    posted = dict(params)
    if attack == "tampered parameter":
        posted["From"] = "+19995550000"
    elif attack == "added parameter":
        posted["Digits"] = "1234"
    elif attack == "another host":
        # Signed for the host the attacker names in Host: the door never trusts Host.
        headers = {**signed(path, params, url="https://evil.example.com" + path), "Host": "evil.example.com"}
    elif attack == "the local URL":
        headers = signed(path, params, url="http://testserver" + path)
    elif attack == "wrong token":
        headers = signed(path, params, token="f" * 32)
    else:
        headers = {}
    answer = await webhook.post(path, data=posted, headers=headers)
    assert answer.status_code == 403
    assert answer.json() == {"error": "forbidden", "message": BAD_SIGNATURE}
    assert "Connect" not in answer.text


async def test_unknown_tenants_and_tenants_without_a_token_read_like_a_bad_signature(
    platform: Platform, webhook: httpx.AsyncClient, world: World, phone_agent: Agent
) -> None:
    params = incoming_params(new_call_sid())
    bodies = []
    for tenant_id, agent_id in [
        ("ten_" + "0" * 26, phone_agent.id),  # no such tenant
        (world.globex.tenant_id, world.globex_agent.id),  # a real tenant that stored no Twilio token
        (world.acme.tenant_id, "agt_" + "0" * 26),  # signed, so the tenant's own: its agent is missing
    ]:
        path = webhook_path(tenant_id, agent_id)
        answer = await webhook.post(path, data=params, headers=signed(path, params))
        bodies.append((answer.status_code, answer.json()))
    assert bodies[0] == bodies[1] == (403, {"error": "forbidden", "message": BAD_SIGNATURE})
    assert bodies[2][0] == 404  # only the holder of the tenant's token learns an agent is missing


async def test_a_text_agent_does_not_take_phone_calls(
    webhook: httpx.AsyncClient, world: World, phone_agent: Agent
) -> None:
    path = webhook_path(world.acme.tenant_id, world.agent.id)  # the world's agents are text agents
    params = incoming_params(new_call_sid())
    answer = await webhook.post(path, data=params, headers=signed(path, params))
    assert answer.status_code == 403
    assert "text agent" in answer.json()["message"]


@pytest.mark.parametrize("problem", ["too large", "not a form", "too many fields", "no call sid"])
async def test_a_malformed_webhook_gets_a_4xx_json(
    webhook: httpx.AsyncClient, world: World, phone_agent: Agent, problem: str
) -> None:
    path = webhook_path(world.acme.tenant_id, phone_agent.id)
    params = incoming_params(new_call_sid())
    if problem == "too large":
        params["Junk"] = "x" * 20_000
    elif problem == "too many fields":
        params.update({f"F{i}": "1" for i in range(200)})
    elif problem == "no call sid":
        params["CallSid"] = "CA-not-a-sid"
    if problem == "not a form":
        answer = await webhook.post(path, json=params, headers=signed(path, params))
    else:
        answer = await webhook.post(path, data=params, headers=signed(path, params))
    expected = {"too large": 413, "not a form": 422, "too many fields": 422, "no call sid": 422}[problem]
    assert answer.status_code == expected
    assert answer.json()["message"]


async def test_webhooks_past_the_agents_rate_are_refused_with_429(
    platform: Platform, world: World, phone_agent: Agent
) -> None:
    settings = VoiceSettings(phone_calls_per_minute=1, phone_calls_burst=2)
    app = Starlette()
    app.mount("/voice", create_voice_app(platform, backend=scripted_backend(platform.engine), settings=settings))
    path = webhook_path(world.acme.tenant_id, phone_agent.id)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        statuses = []
        for _ in range(3):
            params = incoming_params(new_call_sid())
            answer = await client.post(path, data=params, headers=signed(path, params))
            statuses.append(answer.status_code)
    assert statuses == [200, 200, 429]
    assert int(answer.headers["Retry-After"]) >= 1


async def test_without_a_public_url_the_webhook_says_phone_calls_are_not_configured(
    platform: Platform, world: World, phone_agent: Agent
) -> None:
    unset = dataclasses.replace(platform, settings=platform.settings.model_copy(update={"voice_public_url": None}))
    app = Starlette()
    app.mount("/voice", create_voice_app(unset, backend=scripted_backend(platform.engine)))
    path = webhook_path(world.acme.tenant_id, phone_agent.id)
    params = incoming_params(new_call_sid())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        answer = await client.post(path, data=params, headers=signed(path, params))
    assert answer.status_code == 404
    assert "ORATIO_VOICE_PUBLIC_URL" in answer.json()["message"]


# -- the stream ------------------------------------------------------------------------------------


def http_of(ws_base: str) -> str:
    return "http" + ws_base.removeprefix("ws")


async def ticket_for(base: str, world: World, agent: Agent, call_sid: str) -> str:
    path = webhook_path(world.acme.tenant_id, agent.id)
    answer = await post_incoming(http_of(base), path, incoming_params(call_sid))
    assert answer.status_code == 200, answer.text
    return stream_of(answer.text)[1]


async def refused_with(base: str, call_sid: str, ticket: str | None, **start: Any) -> tuple[int | None, str]:
    async with twilio_stream(f"{base}/voice/twilio/stream", call_sid) as phone:
        await phone.begin(ticket, **start)
        heard = await phone.closed()
    return heard.close_code, heard.close_reason


async def test_a_ticket_admits_one_stream_only(platform: Platform, world: World, phone_agent: Agent) -> None:
    call_sid = new_call_sid()
    with serving_voice(platform, scripted_backend(platform.engine)) as base:
        ticket = await ticket_for(base, world, phone_agent, call_sid)
        async with twilio_stream(f"{base}/voice/twilio/stream", call_sid) as phone:
            await phone.begin(ticket)
            await phone.hang_up()
            first = await phone.closed()
        replayed = await refused_with(base, call_sid, ticket)
    assert first.close_code == 1000
    assert replayed == (4401, "the stream ticket was already used")


async def test_stale_forged_and_misdirected_tickets_are_refused(
    platform: Platform, world: World, phone_agent: Agent
) -> None:
    call_sid = new_call_sid()
    key = ticket_key(platform.settings.resolved_jwt_secret())
    expired = Tickets(key, 60, clock=lambda: time.time() - 120).issue(
        world.acme.tenant_id, phone_agent.id, call_sid, "…0123"
    )
    forged = Tickets(b"k" * 32, 60).issue(world.acme.tenant_id, phone_agent.id, call_sid, "…0123")
    with serving_voice(platform, scripted_backend(platform.engine)) as base:
        genuine = await ticket_for(base, world, phone_agent, call_sid)
        payload, _, signature = genuine.partition(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        moved = {**claims, "a": world.other_agent.id}  # the same signature over another agent
        retargeted = base64.urlsafe_b64encode(json.dumps(moved).encode()).rstrip(b"=").decode() + "." + signature
        results = {
            "expired": await refused_with(base, call_sid, expired),
            "forged": await refused_with(base, call_sid, forged),
            "retargeted": await refused_with(base, call_sid, retargeted),
            "another call": await refused_with(base, new_call_sid(), genuine),
            "missing": await refused_with(base, call_sid, None),
            "huge": await refused_with(base, call_sid, "x" * 5_000),
        }
    assert results == {
        "expired": (4401, "the stream ticket has expired"),
        "forged": (4401, "the stream ticket is not valid"),
        "retargeted": (4401, "the stream ticket is not valid"),
        "another call": (4401, "the stream ticket is for another call"),
        "missing": (4401, "the stream has no ticket: start it from the incoming-call webhook"),
        "huge": (4401, "the stream ticket is missing or malformed"),
    }
    assert not platform.sessions.list(world.acme.principal, SessionFilter(agent_id=phone_agent.id)).items


async def test_what_is_not_twilios_protocol_closes_the_stream_before_admission(
    platform: Platform, world: World, phone_agent: Agent
) -> None:
    call_sid = new_call_sid()
    with serving_voice(platform, scripted_backend(platform.engine)) as base:
        ticket = await ticket_for(base, world, phone_agent, call_sid)
        wrong_format = await refused_with(
            base, call_sid, ticket, mediaFormat={"encoding": "audio/l16", "sampleRate": 16000, "channels": 1}
        )
        results = [wrong_format]
        frames: list[str | bytes] = [
            "{not json",
            "[" * 100 + "]" * 100,
            b"\x00\x01",
            '{"event": "media"}',
            "x" * 200_000,
        ]
        for frame in frames:
            async with twilio_stream(f"{base}/voice/twilio/stream", call_sid) as phone:
                await phone.ws.send(frame)
                heard = await phone.closed()
            results.append((heard.close_code, heard.close_reason))
    assert results == [
        (1003, "the stream must be audio/x-mulaw, 8000 Hz, 1 channel"),
        (1008, "stream messages are JSON objects"),
        (1008, "JSON nested deeper than 16 levels"),
        (1003, "Twilio media streams send JSON text messages, not binary"),
        (1008, "a stream begins with Twilio's connected and start messages"),
        (1009, "a stream message is at most 16384 bytes"),
    ]


@pytest.mark.parametrize(
    ("payload", "code", "reason"),
    [
        ("not base64!", 1008, "media.payload is not base64"),
        (base64.b64encode(bytes(9_000)).decode(), 1009, "a media payload is at most 8000 bytes"),
    ],
)
async def test_bad_media_mid_call_ends_it_and_keeps_what_was_said(
    platform: Platform, world: World, phone_agent: Agent, payload: str, code: int, reason: str
) -> None:
    call_sid = new_call_sid()
    with serving_voice(platform, scripted_backend(platform.engine)) as base:
        ticket = await ticket_for(base, world, phone_agent, call_sid)
        async with twilio_stream(f"{base}/voice/twilio/stream", call_sid) as phone:
            await phone.begin(ticket)
            await phone.say(to_phone(speak("Hello there.", 8_000) + silence(0.2, 8_000)))
            await phone.ws.send(
                json.dumps({"event": "media", "streamSid": phone.stream_sid, "media": {"payload": payload}})
            )
            heard = await phone.closed()
    assert (heard.close_code, heard.close_reason) == (code, reason)
    [session] = platform.sessions.list(world.acme.principal, SessionFilter(agent_id=phone_agent.id)).items
    found = platform.sessions.get(world.acme.principal, session.id)
    assert found.session.status is SessionStatus.INTERRUPTED
    assert len(found.recordings) == 1  # the audio heard before the bad frame is kept
