"""A `/ws` that never says anything gives its receiver slot back (red team, issue 19).

A connection without a session has nothing to follow until the customer sends a message. A
careless integration that opens one per page view and never closes it held one of the tenant's
`receive_waits_per_tenant` slots each, forever (a connection with a session ends when the session
is swept idle; one without had no end), until every customer of the tenant got 1013. Now such a
connection closes 4408 after `receive_first_message_seconds`, with the reason, and its slot is
free again; a connection that did send a message follows its session as before (its end is the
session's: swept when idle).
"""

from __future__ import annotations

from typing import Any

import pytest

from agentcore_apps.app import create_runtime_app
from oratio.platform import Platform
from oratio.runtime import ModelFactory
from tests.support.models import scripted_agent
from tests.support.runtime_ws import close_of, customer_socket, next_frame, ready, say
from tests.support.serving import serving
from tests.support.worlds import World

pytestmark = pytest.mark.anyio


@pytest.fixture
def platform_models() -> ModelFactory:
    return scripted_agent


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"receive_waits_per_tenant": 1, "receive_first_message_seconds": 1.0}


async def test_a_silent_connection_is_closed_and_its_slot_comes_back(platform: Platform, world: World) -> None:
    with serving(create_runtime_app(platform)) as served:
        async with customer_socket(served, world.secret, agent_id=world.agent.id) as silent:
            assert (await next_frame(silent))["type"] == "ready"
            closed = await close_of(silent)
        async with customer_socket(served, world.secret, agent_id=world.agent.id) as next_customer:
            ready = await next_frame(next_customer)  # the only slot (receive_waits_per_tenant=1) is free again

    assert closed[0] == 4408 and "no message in 1 s" in closed[1] and len(closed[1].encode()) <= 123
    assert ready["type"] == "ready"


async def test_a_connection_that_spoke_keeps_following_its_session(platform: Platform, world: World) -> None:
    with serving(create_runtime_app(platform)) as served:
        async with customer_socket(served, world.secret, agent_id=world.agent.id) as customer:
            await ready(customer)
            await say(customer, "hi")
            item, done = await next_frame(customer), await next_frame(customer)
            session_id = done["session_id"]
            platform.handoff.take_over(world.acme.principal, session_id)
            notice = await next_frame(customer)
            platform.handoff.say(world.acme.principal, session_id, "Sam here, let me look.")
            human = await next_frame(customer)

    assert (item["type"], done["type"], notice["role"]) == ("item", "done", "notice")
    assert (human["type"], human["role"], human["text"]) == ("item", "human", "Sam here, let me look.")
