"""A cursor the session never gave out is refused, not followed into silence (red team, issue 19).

A page's cursor is the last seq read and seqs only grow, so a cursor past the session's last turn
was never returned: it is a careless client's (another session's cursor, a made-up number) or an
attacker's. Before, it was accepted and kept: every later turn had a smaller seq, so a `/ws`
customer never saw another reply (not even to their own turn) and a long-poll waited forever on
nothing, with a 200. Now the long-poll answers 422 naming `after`, `/ws` closes 4400 with the
reason, and the cursor of the last turn itself is still fine.
"""

from __future__ import annotations

import httpx
import pytest

from agentcore_apps.app import create_runtime_app
from oratio.platform import Platform
from oratio.runtime import ModelFactory
from tests.support.models import scripted_agent
from tests.support.runtime_ws import customer_socket, frames_until_closed
from tests.support.serving import serving
from tests.support.worlds import World

pytestmark = pytest.mark.anyio


@pytest.fixture
def platform_models() -> ModelFactory:
    return scripted_agent


async def _started(http: httpx.AsyncClient, world: World) -> tuple[str, int]:
    turn = await http.post(
        "/invocations", json={"agent_id": world.agent.id, "message": "hi"}, headers={"X-Api-Key": world.secret}
    )
    assert turn.status_code == 200, turn.text
    session_id: str = turn.json()["session_id"]
    page = await http.post(
        "/invocations",
        json={"action": "receive", "agent_id": world.agent.id, "session_id": session_id, "wait_seconds": 0},
        headers={"X-Api-Key": world.secret},
    )
    cursor: int = page.json()["cursor"]
    return session_id, cursor


@pytest.mark.parametrize("past", [1, 10**6, 10**30])
async def test_a_receive_past_the_last_turn_is_refused(platform: Platform, world: World, past: int) -> None:
    with serving(create_runtime_app(platform)) as served:
        async with httpx.AsyncClient(base_url=served.base_url, timeout=30.0) as http:
            session_id, cursor = await _started(http, world)
            body = {"action": "receive", "agent_id": world.agent.id, "session_id": session_id, "wait_seconds": 0}
            at_end = await http.post(
                "/invocations", json={**body, "after": cursor}, headers={"X-Api-Key": world.secret}
            )
            beyond = await http.post(
                "/invocations", json={**body, "after": cursor + past}, headers={"X-Api-Key": world.secret}
            )

    assert cursor >= 2
    assert at_end.status_code == 200 and at_end.json()["items"] == [] and at_end.json()["cursor"] == cursor
    assert beyond.status_code == 422, beyond.text
    assert beyond.json()["error"] == "invalid_input" and beyond.json()["field"] == "after"
    assert f"last turn ({cursor})" in beyond.json()["message"]


async def test_a_websocket_connecting_past_the_last_turn_is_closed_with_the_reason(
    platform: Platform, world: World
) -> None:
    with serving(create_runtime_app(platform)) as served:
        async with httpx.AsyncClient(base_url=served.base_url, timeout=30.0) as http:
            session_id, cursor = await _started(http, world)
        past = str(cursor + 1000)
        async with customer_socket(
            served, world.secret, agent_id=world.agent.id, session_id=session_id, after=past
        ) as ws:
            frames, code, reason = await frames_until_closed(ws)

    assert frames == []  # not even `ready`: nothing would ever have followed it
    assert code == 4400 and "after is past" in reason and len(reason.encode()) <= 123
