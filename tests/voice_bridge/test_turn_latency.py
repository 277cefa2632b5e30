"""A voice reply's latency, end of the customer's turn to its first audio, is stored on its agent turn and
shows in the charts' voice channel once the call is analysed."""

from __future__ import annotations

import pytest

from oratio.platform import Platform
from schemas import Role
from schemas.stats import StatsQuery, StatsRange
from tests.support.serving import serving_voice
from tests.support.worlds import World
from tests.voice_bridge.client import voice_client
from tests.voice_bridge.doubles import espeak_speech, silence, speak
from voice_bridge.cascade import CascadeBackend

pytestmark = pytest.mark.anyio


async def test_each_spoken_reply_records_its_latency_and_the_charts_show_it(platform: Platform, world: World) -> None:
    backend = CascadeBackend(espeak_speech(["What are your hours", "Thanks"]), platform.engine)
    with serving_voice(platform, backend) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            session_id = (await client.start(world.secret))["session_id"]
            await client.send_audio(speak("What are your hours?") + silence(1.0))
            await client.until(lambda h: len(h.of_type("agent_audio_end")) == 1)
            await client.send_audio(speak("Thanks.") + silence(1.0))
            await client.until(lambda h: len(h.of_type("agent_audio_end")) == 2)
            await client.end()
            await client.closed()

    turns = platform.sessions.get(world.acme.principal, session_id).turns
    waits = [t.latency_ms for t in turns if t.role is Role.AGENT]
    assert len(waits) == 2 and all(w is not None and w > 0 for w in waits)
    assert all(t.latency_ms is None for t in turns if t.role is Role.CUSTOMER)
    assert platform.analyses.run_pending() == 1
    report = platform.stats.report(world.acme.principal, StatsQuery(range=StatsRange.TODAY))
    voice = next(lat for lat in report.latency if lat.channel == "voice")
    assert voice.turns == 2 and voice.p50_ms is not None and voice.p95_ms is not None
