"""The voice door works from the services it is given, not the whole platform (issue 16, item 2).

The bridge is served over a frozen object holding only the services `VoiceServices` names: a
call starts and ends, and the key refusals (4401/4403/4404) come out of `KeyService` alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from oratio.config import Settings
from oratio.platform import Platform
from oratio.runtime import ConversationEngine
from oratio.services import AccessService, AgentService, KeyService, SessionService
from oratio.services.handoff import HandoffService
from oratio.services.knowledge import KnowledgeService
from oratio.services.live import EventTail
from oratio.services.rate_limits import RateLimits
from oratio.services.secrets import SecretService
from oratio.services.stats import StatsService
from tests.support.serving import serving_voice
from tests.support.worlds import World
from tests.voice_bridge.client import voice_client
from voice_bridge.scripted import scripted_backend

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class OnlyVoiceServices:
    keys: KeyService
    agents: AgentService
    sessions: SessionService
    engine: ConversationEngine
    knowledge: KnowledgeService
    handoff: HandoffService
    access: AccessService
    secrets: SecretService
    stats: StatsService
    rate_limits: RateLimits
    settings: Settings
    live: EventTail

    def tailer(self, poll_interval: float | None = None) -> EventTail:
        return self.live


def narrow(platform: Platform) -> OnlyVoiceServices:
    return OnlyVoiceServices(
        keys=platform.keys,
        agents=platform.agents,
        sessions=platform.sessions,
        engine=platform.engine,
        knowledge=platform.knowledge,
        handoff=platform.handoff,
        access=platform.access,
        secrets=platform.secrets,
        stats=platform.stats,
        rate_limits=platform.rate_limits,
        settings=platform.settings,
        live=platform.live,
    )


async def test_a_call_starts_and_refusals_come_from_the_key_service(platform: Platform, world: World) -> None:
    cases = {
        world.agent.id: "ready",
        world.other_agent.id: 4403,
        world.globex_agent.id: 4404,
        "agt_" + "0" * 26: 4404,
    }
    heard: dict[str, object] = {}
    with serving_voice(narrow(platform), scripted_backend(platform.engine)) as base:
        for agent_id in cases:
            async with voice_client(f"{base}/voice/{agent_id}") as client:
                await client.start(world.secret)
                if client.heard.of_type("ready"):
                    heard[agent_id] = "ready"
                    await client.end()
                    await client.closed()
                else:
                    heard[agent_id] = (await client.closed()).close_code
    assert heard == cases
