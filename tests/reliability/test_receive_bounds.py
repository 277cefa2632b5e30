"""A customer's receivers cannot pile up: waits and `/ws` connections are bounded per tenant (issue 19, item 1).

Every waiting long-poll and open `/ws` holds a subscription on the event tail and a connection; a
key holder opening thousands would grow memory and work without end. At most
`receive_waits_per_tenant` are open per tenant and process: beyond it a receive is 429 with
`Retry-After` and a `/ws` closes 1013 with a reason; another tenant's bound is its own, and a slot is
given back when its holder leaves. Hostile frames close the socket with their code before any turn
runs. (A connection holds its slot from its `ready` frame: the test waits on that frame, no sleeps.)
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from agentcore_apps.app import create_runtime_app
from agentcore_apps.ws import MAX_FRAME_BYTES
from oratio.platform import Platform
from oratio.runtime import ModelFactory
from schemas import SessionFilter
from tests.support.models import scripted_agent
from tests.support.runtime_ws import close_of, customer_socket, ready
from tests.support.serving import serving
from tests.support.worlds import World

pytestmark = pytest.mark.anyio


@pytest.fixture
def platform_models() -> ModelFactory:
    return scripted_agent


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"receive_waits_per_tenant": 1}


async def test_receivers_beyond_the_bound_are_refused_and_slots_come_back(platform: Platform, world: World) -> None:
    with serving(create_runtime_app(platform)) as served:
        async with httpx.AsyncClient(base_url=served.base_url, timeout=30.0) as http:
            turn = await http.post(
                "/invocations", json={"agent_id": world.agent.id, "message": "hi"}, headers={"X-Api-Key": world.secret}
            )
            session_id = turn.json()["session_id"]
            receive = {"action": "receive", "agent_id": world.agent.id, "session_id": session_id, "wait_seconds": 0}
            async with customer_socket(served, world.secret, agent_id=world.agent.id) as holder:
                await ready(holder)
                refused = await http.post("/invocations", json=receive, headers={"X-Api-Key": world.secret})
                async with customer_socket(served, world.secret, agent_id=world.agent.id) as second:
                    second_closed = await close_of(second)
                async with customer_socket(served, world.globex_secret, agent_id=world.globex_agent.id) as other_tenant:
                    await ready(other_tenant)
            freed = await http.post("/invocations", json=receive, headers={"X-Api-Key": world.secret})

    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert refused.json()["error"] == "rate_limited" and "receivers" in refused.json()["message"]
    assert second_closed[0] == 1013 and "receivers" in second_closed[1]
    assert freed.status_code == 200, freed.text


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("x" * (MAX_FRAME_BYTES + 1), 1009),
        (b"\x00" * (MAX_FRAME_BYTES + 1), 1009),
        ("[" * 5_000 + "]" * 5_000, 1007),
        (b"\xff\xfe not utf-8", 1007),
        ('{"type": "message", "text": "hi", "extra": ' + '"x", ' * 10 + '"y": 1}', 1007),
    ],
)
async def test_hostile_frames_close_before_any_turn_runs(
    platform: Platform, world: World, frame: str | bytes, code: int
) -> None:
    with serving(create_runtime_app(platform)) as served:
        async with customer_socket(served, world.secret, agent_id=world.agent.id) as ws:
            await ready(ws)
            await ws.send(frame)
            closed = await close_of(ws)

    assert closed[0] == code and len(closed[1].encode()) <= 123
    assert platform.sessions.list(world.acme.principal, SessionFilter()).items == []
