"""Bad input closes the call with a clear code and reason, and loses nothing already said."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from websockets.exceptions import ConnectionClosed

from oratio.platform import Platform
from schemas import Role, SessionStatus
from tests.support.models import voice_agent
from tests.support.platforms import open_test_platform
from tests.support.serving import limits_with, serving_voice
from tests.support.tenants import mint, new_agent, new_tenancy
from tests.support.worlds import World
from tests.voice_bridge.client import VoiceClient, voice_client
from tests.voice_bridge.doubles import espeak_speech, silence, speak
from voice_bridge.audio import read_wav
from voice_bridge.cascade import CascadeBackend
from voice_bridge.scripted import scripted_backend

pytestmark = pytest.mark.anyio

AUDIO = {"encoding": "pcm16", "sample_rate": 16_000, "channels": 1}


async def refused(platform: Platform, url_path: str, first: str | bytes | None, **limits: Any) -> tuple[int, str]:
    """Connect, send `first` (if any), and return the close code and reason the bridge answers with."""
    with serving_voice(platform, scripted_backend(platform.engine), limits_with(**limits)) as base:
        async with voice_client(base + url_path) as client:
            if first is not None:
                await client.ws.send(first)
            heard = await client.closed()
    assert heard.close_code is not None
    if heard.close_code != 1000:
        [error] = heard.of_type("error")
        assert error["code"] == heard.close_code and error["message"] == heard.close_reason
    return heard.close_code, heard.close_reason


def start(key: str | None, **changes: Any) -> str:
    message: dict[str, Any] = {"type": "start", "audio": dict(AUDIO)}
    if key is not None:
        message["api_key"] = key
    for name, value in changes.items():
        if name in AUDIO:
            message["audio"][name] = value
        else:
            message[name] = value
    return json.dumps(message)


async def test_no_key(platform: Platform, world: World) -> None:
    code, reason = await refused(platform, f"/voice/{world.agent.id}", start(None))
    assert (code, reason) == (4401, "send the agent's API key: api_key in start, or Authorization: Bearer")


async def test_bad_key(platform: Platform, world: World) -> None:
    code, reason = await refused(platform, f"/voice/{world.agent.id}", start("ora_sk_" + "x" * 43))
    assert (code, reason) == (4401, "API key is not valid")


async def test_key_of_another_agent(platform: Platform, world: World) -> None:
    code, reason = await refused(platform, f"/voice/{world.agent.id}", start(world.other_secret))
    assert (code, reason) == (4403, "this API key belongs to another agent")


async def test_unknown_agent_and_another_tenants_agent_read_alike(platform: Platform, world: World) -> None:
    unknown = await refused(platform, "/voice/agt_00000000000000000000000000", start(world.secret))
    foreign = await refused(platform, f"/voice/{world.globex_agent.id}", start(world.secret))
    assert unknown[0] == foreign[0] == 4404
    assert "was not found" in unknown[1] and "was not found" in foreign[1]


async def test_an_agent_that_is_not_active(platform: Platform, world: World) -> None:
    secret, _ = mint(platform, world.acme, world.creating_agent)
    code, reason = await refused(platform, f"/voice/{world.creating_agent.id}", start(secret))
    assert code == 4409 and "not taking conversations" in reason


async def test_first_message_not_json(platform: Platform, world: World) -> None:
    code, reason = await refused(platform, f"/voice/{world.agent.id}", "hello")
    assert (code, reason) == (1008, "the first message must be a JSON start message")


async def test_audio_before_start(platform: Platform, world: World) -> None:
    code, reason = await refused(platform, f"/voice/{world.agent.id}", silence(0.1))
    assert (code, reason) == (1003, "send the JSON start message before any audio")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"sample_rate": 11_025}, "audio.sample_rate must be one of 8000, 16000, 24000, 44100, 48000"),
        ({"encoding": "opus"}, "audio.encoding must be pcm16 (16-bit little-endian PCM)"),
        ({"channels": 2}, "audio.channels must be 1 (mono)"),
        ({"output_sample_rate": 8_000}, "output_sample_rate must be one of 16000, 24000, 44100, 48000"),
    ],
)
async def test_wrong_audio_format(platform: Platform, world: World, change: dict[str, Any], reason: str) -> None:
    assert await refused(platform, f"/voice/{world.agent.id}", start(world.secret, **change)) == (1003, reason)


async def test_a_start_message_with_unknown_fields(platform: Platform, world: World) -> None:
    code, reason = await refused(platform, f"/voice/{world.agent.id}", start(world.secret, volume=11))
    assert code == 1008 and reason.startswith("bad start message: volume")


async def test_no_start_within_the_limit(platform: Platform, world: World) -> None:
    code, reason = await refused(platform, f"/voice/{world.agent.id}", None, start_timeout_s=0.3)
    assert (code, reason) == (4408, "no start message within 0.3s")


async def call_then(platform: Platform, world: World, then: bytes | str, **limits: Any) -> tuple[int, str, str]:
    """A call that says one thing (answered), then sends `then`; (close code, reason, session id)."""
    backend = CascadeBackend(espeak_speech(["First question"]), platform.engine)
    with serving_voice(platform, backend, limits_with(**limits)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            session_id = (await client.start(world.secret))["session_id"]
            await client.send_audio(speak("First question.") + silence(1.0))
            await client.until(lambda h: bool(h.transcripts("agent")))
            await client.ws.send(then)
            heard = await client.closed()
    assert heard.close_code is not None
    return heard.close_code, heard.close_reason, session_id


def assert_kept(platform: Platform, world: World, session_id: str, status: SessionStatus) -> None:
    """The session has the status, its first exchange stored, and a recording with audio in it."""
    found = platform.sessions.get(world.acme.principal, session_id)
    assert found.session.status is status
    assert [t.role for t in found.turns] == [Role.CUSTOMER, Role.AGENT]
    [recording] = found.recordings
    pcm, _, channels = read_wav(platform.backends.blobs.get(recording))
    assert channels == 2 and len(pcm) > 16_000 * 4  # more than a second of stereo


async def test_an_oversized_frame(platform: Platform, world: World) -> None:
    code, reason, session_id = await call_then(platform, world, bytes(32_002))
    assert (code, reason) == (1009, "audio frames are at most 32000 bytes")
    assert_kept(platform, world, session_id, SessionStatus.INTERRUPTED)


async def test_a_frame_that_is_not_pcm16(platform: Platform, world: World) -> None:
    code, reason, session_id = await call_then(platform, world, bytes(641))
    assert (code, reason) == (1003, "audio frames are PCM16: an even number of bytes")
    assert_kept(platform, world, session_id, SessionStatus.INTERRUPTED)


async def test_an_unknown_control_message(platform: Platform, world: World) -> None:
    code, reason, session_id = await call_then(platform, world, json.dumps({"type": "pause"}))
    assert (code, reason) == (1008, "unknown message type 'pause'; send audio or end")
    assert_kept(platform, world, session_id, SessionStatus.INTERRUPTED)


async def test_a_client_that_stops_sending_audio(platform: Platform, world: World) -> None:
    backend = scripted_backend(platform.engine)
    with serving_voice(platform, backend, limits_with(idle_timeout_s=0.5)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            session_id = (await client.start(world.secret))["session_id"]
            heard = await client.closed()
    assert (heard.close_code, heard.close_reason) == (4408, "no audio for 0.5s")
    assert platform.sessions.get(world.acme.principal, session_id).session.status is SessionStatus.INTERRUPTED


async def test_silence_forever(platform: Platform, world: World) -> None:
    """Audio keeps coming but nobody speaks: the call ends at the silence limit."""
    backend = scripted_backend(platform.engine)
    limits = limits_with(idle_timeout_s=2.0, silence_timeout_s=1.0)
    with serving_voice(platform, backend, limits) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            session_id = (await client.start(world.secret))["session_id"]
            heard = await keep_sending_silence_until_closed(client)
    assert (heard[0], heard[1]) == (4408, "nobody spoke for 1s")
    assert platform.sessions.get(world.acme.principal, session_id).session.status is SessionStatus.INTERRUPTED


async def keep_sending_silence_until_closed(client: VoiceClient) -> tuple[int | None, str]:
    """Send 20 ms of silence whenever 20 ms pass without a message from the server, until it closes."""
    with anyio.fail_after(10):
        while client.heard.close_code is None:
            try:
                await client.ws.send(silence(0.02))
            except ConnectionClosed:
                pass  # the close frame arrived while sending: `receive_one` records it
            with anyio.move_on_after(0.02):
                await client.receive_one()
    return client.heard.close_code, client.heard.close_reason


async def test_an_abrupt_disconnect_keeps_what_was_said(platform: Platform, world: World) -> None:
    backend = CascadeBackend(espeak_speech(["First question"]), platform.engine)
    with serving_voice(platform, backend) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            session_id = (await client.start(world.secret))["session_id"]
            await client.send_audio(speak("First question.") + silence(1.0))
            await client.until(lambda h: bool(h.transcripts("agent")))
            client.ws.transport.abort()  # no close frame: the network dropped
    # Leaving `serving_voice` stops the server, which waits for the call to finish.
    assert_kept(platform, world, session_id, SessionStatus.INTERRUPTED)


async def test_a_key_revoked_mid_call_ends_the_call_before_the_next_turn(platform: Platform, world: World) -> None:
    backend = CascadeBackend(espeak_speech(["First question", "Second question"]), platform.engine)
    with serving_voice(platform, backend) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            session_id = (await client.start(world.secret))["session_id"]
            await client.send_audio(speak("First question.") + silence(1.0))
            await client.until(lambda h: bool(h.transcripts("agent")))
            platform.keys.revoke(world.acme.principal, world.key_id)
            await client.send_audio(speak("Second question.") + silence(1.0))
            heard = await client.closed()
    assert (heard.close_code, heard.close_reason) == (4403, "the API key was revoked during the call")
    assert_kept(platform, world, session_id, SessionStatus.INTERRUPTED)


async def test_the_key_may_come_in_a_header(platform: Platform, world: World) -> None:
    with serving_voice(platform, scripted_backend(platform.engine)) as base:
        headers = {"Authorization": f"Bearer {world.secret}"}
        async with voice_client(f"{base}/voice/{world.agent.id}", headers) as client:
            ready = await client.start(None)
            await client.end()
            heard = await client.closed()
    assert ready["type"] == "ready"
    assert heard.close_code == 1000


async def test_a_spent_rate_limit_closes_the_call(tmp_path: Path) -> None:
    """Each turn uses the key once, as a text turn does: past its burst the call closes with 4429."""
    with open_test_platform(tmp_path, models=voice_agent, key_burst=2, key_rate_per_minute=0.01) as platform:
        acme = new_tenancy(platform, "Acme")
        agent = new_agent(platform, acme, "Support")
        secret, _ = mint(platform, acme, agent)
        backend = CascadeBackend(espeak_speech(["One", "Two"]), platform.engine)
        with serving_voice(platform, backend) as base:
            async with voice_client(f"{base}/voice/{agent.id}") as client:
                session_id = (await client.start(secret))["session_id"]  # the first use of the key
                await client.send_audio(speak("One.") + silence(1.0))  # the second
                await client.until(lambda h: bool(h.transcripts("agent")))
                await client.send_audio(speak("Two.") + silence(1.0))  # one too many
                heard = await client.closed()
        assert heard.close_code == 4429
        assert platform.sessions.get(acme.principal, session_id).session.status is SessionStatus.INTERRUPTED
