"""The Nova Sonic adapter through the bridge, with a scripted BidiModel in place of Bedrock's.

Everything from the WebSocket to `BidiAgent` is real: the deployed plan's prompt and tools reach
the model, its tool calls run the platform's tools, transcripts are stored as turns, barge-in
flushes playback. Only the speech model is scripted (Bedrock's needs Python 3.12+ and AWS).
"""

from __future__ import annotations

import sys

import pytest

from oratio.errors import ConfigError
from oratio.platform import Platform
from schemas import AgentSpec, CreateAgent, MintKeyRequest, Role, SessionStatus, ToolName, WebhookTool
from tests.support.serving import serving_voice
from tests.support.tenants import PLAN
from tests.support.worlds import World
from tests.voice_bridge.bidi_double import BidiStep, ScriptedBidiModel
from tests.voice_bridge.client import voice_client
from tests.voice_bridge.doubles import silence, speak
from voice_bridge.nova_prompts import VOICE_STYLE
from voice_bridge.nova_sonic import NovaSonicBackend, nova_sonic_model_factory
from voice_bridge.settings import VoiceSettings

pytestmark = pytest.mark.anyio


async def test_turns_come_from_the_deployed_agent_and_are_stored(platform: Platform, world: World) -> None:
    model = ScriptedBidiModel(
        [
            BidiStep(heard="What is your refund policy?", tool="knowledge_search", tool_input={"query": "refunds"}),
            BidiStep(heard="Thank you", say="You're welcome."),
        ]
    )
    backend = NovaSonicBackend(platform, lambda: model)
    with serving_voice(platform, backend) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            ready = await client.start(world.secret)
            assert ready["backend"] == "nova-sonic"
            await client.send_audio(speak("What is your refund policy?") + silence(0.6))
            await client.until(lambda h: bool(h.transcripts("customer")))
            await client.send_audio(speak("Thank you.") + silence(0.6))
            await client.until(lambda h: bool(h.of_type("agent_audio_end")))
            await client.end()
            heard = await client.closed()

    # The plan's own prompt (asked to write for the ear, as the cascade rewrites for it) and vetted tools.
    assert model.started_with["system_prompt"] == PLAN.system_prompt + VOICE_STYLE
    assert model.started_with["tools"] == ["end_session", "knowledge_search", "request_handoff"]
    [searched] = model.tool_results
    assert searched.status == "success"
    assert heard.transcripts("customer") == ["What is your refund policy?", "Thank you"]
    assert heard.transcripts("agent") == ["You're welcome."]
    assert len(heard.audio) >= 24_000  # half a second at 24 kHz
    found = platform.sessions.get(world.acme.principal, ready["session_id"])
    assert [(t.role, t.text) for t in found.turns] == [
        (Role.CUSTOMER, "What is your refund policy?"),
        (Role.CUSTOMER, "Thank you"),
        (Role.AGENT, "You're welcome."),
    ]
    assert found.session.status is SessionStatus.COMPLETED


async def test_barge_in_from_the_model_flushes_playback(platform: Platform, world: World) -> None:
    model = ScriptedBidiModel(
        [BidiStep(heard="Tell me everything", say="Well, it is a long story.", say_seconds=8.0), BidiStep("Stop")]
    )
    with serving_voice(platform, NovaSonicBackend(platform, lambda: model)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            await client.start(world.secret)
            await client.send_audio(speak("Tell me everything.") + silence(0.6))
            await client.until(lambda h: bool(h.of_type("agent_audio_start")) and len(h.audio) > 0)
            await client.send_audio(speak("Stop."))
            await client.until(lambda h: bool(h.of_type("interrupted")))
            await client.end()
            heard = await client.closed()
    # Far less than the eight seconds of the reply reached the client.
    assert len(heard.audio) < 24_000 * 2 * 4


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="on 3.12+ the real model can be built")
def test_nova_sonic_on_python_3_11_is_a_clear_config_error() -> None:
    with pytest.raises(ConfigError, match=r"needs Python 3\.12\+"):
        nova_sonic_model_factory(VoiceSettings(backend="nova-sonic"))


async def test_an_agent_with_a_webhook_offers_call_webhook_to_the_speech_model(
    platform: Platform, world: World
) -> None:
    """The admin's own system is one of the deployed agent's tools on voice too, as on text."""
    orders = WebhookTool(url="https://orders.acme.example/lookup", description="Looks up an order by its number.")
    spec = AgentSpec(name="Orders", sop="Look up orders when asked.", webhook_tool=orders)
    agent = platform.agents.create(world.acme.principal, CreateAgent(spec=spec))
    platform.agents.deploy(
        world.acme.principal.tenant_id,
        agent.id,
        PLAN.model_copy(update={"tools": [*PLAN.tools, ToolName.CALL_WEBHOOK]}),
    )
    key = platform.keys.mint(world.acme.principal, MintKeyRequest(agent_id=agent.id, name="voice"))
    model = ScriptedBidiModel([BidiStep(heard="Hello", say="Hi there.")])
    with serving_voice(platform, NovaSonicBackend(platform, lambda: model)) as base:
        async with voice_client(f"{base}/voice/{agent.id}") as client:
            await client.start(key.reveal())
            await client.send_audio(speak("Hello.") + silence(0.6))
            await client.until(lambda h: bool(h.of_type("agent_audio_end")))
            await client.end()
            await client.closed()
    assert "call_webhook" in model.started_with["tools"]
