"""Barge-in with the cascade on real speech: the customer talks over the agent and the agent listens."""

from __future__ import annotations

import pytest

from oratio.platform import Platform
from tests.support.models import STORY
from tests.support.serving import serving_voice
from tests.support.worlds import World
from tests.voice_bridge.client import voice_client
from tests.voice_bridge.doubles import espeak_speech, silence, speak
from voice_bridge.cascade import CascadeBackend

pytestmark = pytest.mark.anyio


async def test_speaking_over_the_agent_stops_its_audio_and_is_answered_next(platform: Platform, world: World) -> None:
    speech = espeak_speech(["Tell me a story", "Stop please"])
    backend = CascadeBackend(speech, platform.engine)
    with serving_voice(platform, backend) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            session_id = (await client.start(world.secret))["session_id"]
            await client.send_audio(speak("Tell me a story.") + silence(1.0))
            # The first sentence is playing (the story has five, about fifteen seconds of speech).
            await client.until(lambda h: len(h.audio) > 24_000)
            await client.send_audio(speak("Stop, please.") + silence(1.0))
            await client.until(lambda h: len(h.transcripts("agent")) == 2)
            await client.end()
            heard = await client.closed()

    kinds = [m["type"] for m in heard.messages]
    assert "interrupted" in kinds
    # The customer was heard, and their words became the next turn.
    assert heard.transcripts("customer") == ["Tell me a story", "Stop please"]
    assert heard.transcripts("agent") == [STORY, "You said: Stop please. Anything else?"]
    # Speech stopped within the first sentences: the story was not all spoken.
    spoken = heard.transcripts("agent", final=False)
    assert spoken[0] == STORY.split(". ")[0] + "."
    assert len(spoken) < 5 + 2
    assert "And that is why barge in exists." not in spoken
    # The interrupted reply is still in the transcript, as the agent wrote it.
    turns = platform.sessions.get(world.acme.principal, session_id).turns
    assert [t.text for t in turns][1] == STORY
