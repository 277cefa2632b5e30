"""One call through the bridge with the real offline engines (silero VAD, Whisper tiny.en, Piper/espeak-ng).

The engines are the `voice` extra's (`voice_bridge.speech.local`). Where that module is absent this
test skips; where it is present but its packages are not installed, it skips locally and fails under
CI, like a missing Debian program.
"""

from __future__ import annotations

import pytest

from oratio.platform import Platform
from schemas import Role
from tests.support.serving import serving_voice
from tests.support.speech import real_speech
from tests.support.worlds import World
from tests.voice_bridge.client import voice_client
from tests.voice_bridge.doubles import silence, speak
from voice_bridge.cascade import CascadeBackend

pytestmark = pytest.mark.anyio


async def test_a_spoken_question_through_the_real_engines(platform: Platform, world: World) -> None:
    backend = CascadeBackend(real_speech(), platform.engine)
    with serving_voice(platform, backend) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            session_id = (await client.start(world.secret))["session_id"]
            await client.send_audio(silence(0.5) + speak("What are your opening hours on Saturday?") + silence(1.5))
            await client.until(lambda h: bool(h.of_type("agent_audio_end")), within_s=60)
            await client.end()
            heard = await client.closed()
    [said] = heard.transcripts("customer")
    assert "opening hour" in said.lower() and "saturday" in said.lower()  # tiny.en may drop the plural
    [reply] = heard.transcripts("agent")
    assert reply.startswith("You said: ")
    assert len(heard.audio) > 24_000 * 2  # a second of agent speech at 24 kHz
    turns = platform.sessions.get(world.acme.principal, session_id).turns
    assert [t.role for t in turns] == [Role.CUSTOMER, Role.AGENT]
