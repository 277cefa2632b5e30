"""A person's typed message is heard on a Nova Sonic call: the call's own model says it ("say exactly").

The bridge, `BidiAgent`, the platform and its event tail are real; only the speech model is scripted
(`ScriptedBidiModel`, which says the last line of any instruction it is sent). The message is written
as the dashboard and MCP write it (`HandoffService.say`), so it reaches the call through its
`session.turn` event, as on the cascade.
"""

from __future__ import annotations

import anyio.to_thread
import pytest

from oratio.platform import Platform
from schemas import Role
from tests.support.serving import serving_voice
from tests.support.worlds import World
from tests.voice_bridge.bidi_double import BidiStep, ScriptedBidiModel
from tests.voice_bridge.client import Heard, voice_client
from tests.voice_bridge.doubles import silence, speak
from voice_bridge.audio import rms
from voice_bridge.nova_sonic import NovaSonicBackend

pytestmark = pytest.mark.anyio

OUT_BYTES_PER_S = 24_000 * 2  # the caller's default output rate, PCM16
LOUD = 1000.0  # the double's tone is ~2100 RMS; silence is 0


def kinds(heard: Heard) -> list[str]:
    return [m["type"] for m in heard.messages]


async def test_a_typed_message_is_said_to_the_caller_by_the_calls_model(platform: Platform, world: World) -> None:
    model = ScriptedBidiModel(
        [BidiStep(heard="Hi", say="Hello, how can I help?"), BidiStep(heard="Thanks", say="A reply nobody hears.")]
    )
    principal = world.acme.principal
    typed = "Hi, I'm Dana from support.\nYour refund is on its way."
    with serving_voice(platform, NovaSonicBackend(platform, lambda: model)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as caller:
            session_id = (await caller.start(world.secret))["session_id"]
            await caller.send_audio(speak("Hi.") + silence(0.6))
            await caller.until(lambda h: "agent_audio_end" in kinds(h))
            await anyio.to_thread.run_sync(platform.handoff.take_over, principal, session_id)
            await caller.until(lambda h: "taken_over" in kinds(h))
            await anyio.to_thread.run_sync(platform.handoff.say, principal, session_id, typed)
            await caller.until(lambda h: "human_audio_end" in kinds(h))
            await caller.send_audio(speak("Thanks.") + silence(0.6))
            await caller.until(lambda h: "Thanks" in h.transcripts("customer"))
            await caller.end()
            heard = await caller.closed()

    # One instruction per sentence, each ending with the sentence, on the call's open connection.
    said = [line.splitlines()[-1] for line in model.instructions]
    assert said == ["Hi, I'm Dana from support.", "Your refund is on its way."]
    assert all(line.startswith("A member of staff is speaking to the caller") for line in model.instructions)
    assert heard.transcripts("human") == [typed]
    # The model's words for the person are the person's audio, not the agent's, and not the agent's turn.
    assert heard.transcripts("agent") == ["Hello, how can I help?"]
    assert len(heard.of_type("agent_audio_start")) == 1
    start, end = heard.audio_at_first("human_audio_start"), heard.audio_at_first("human_audio_end")
    spoken = bytes(heard.audio[start:end])
    assert rms(spoken) > LOUD
    assert len(spoken) >= 2 * 0.5 * OUT_BYTES_PER_S * 0.9  # both sentences (0.5 s of tone each)
    found = platform.sessions.get(principal, session_id).turns
    assert [(t.role, t.text) for t in found if t.role is not Role.SYSTEM] == [
        (Role.CUSTOMER, "Hi"),
        (Role.AGENT, "Hello, how can I help?"),
        (Role.HUMAN, typed),
        (Role.CUSTOMER, "Thanks"),
    ]
