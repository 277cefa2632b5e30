"""A handoff asked for at once through several replicas is requested exactly once.

Four messages asking for a person reach three replicas together. The session's turn lock runs them one
after another, and the handoff's own conditional write (`HandoffService.request`) lets only the first
move the session: one `session.handoff` requested event, one notification, and every acknowledged
message stored once.
"""

from __future__ import annotations

import anyio
import pytest

from schemas import EventType, SessionStatus
from tests.scaleout.customers import customer, say, transcript
from tests.scaleout.world import World
from tests.support.replicas import Cluster
from tests.support.tenants import events

pytestmark = pytest.mark.anyio

ASKS = 4


async def test_a_handoff_asked_for_concurrently_on_three_replicas_is_requested_once(
    replicas: Cluster, world: World
) -> None:
    async with customer(replicas) as http:
        opened = await say(http, world, "hello")
        assert opened.status_code == 200, opened.text
        session_id = opened.json()["session_id"]
        answers: dict[str, str] = {}

        async def ask(n: int) -> None:
            message = f"I want to talk to a real person now ({n})"
            response = await say(http, world, message, session_id)
            assert response.status_code == 200, response.text
            answers[message] = response.json()["reply"]

        async with anyio.create_task_group() as group:
            for n in range(ASKS):
                group.start_soon(ask, n)

    logged = [event for event in events(replicas.platform, world.tenant_id) if event.subject == session_id]
    requested = [e for e in logged if e.type is EventType.SESSION_HANDOFF and e.data.get("state") == "requested"]
    assert len(requested) == 1, [e.data for e in requested]
    notified = [e for e in events(replicas.platform, world.tenant_id) if e.type is EventType.NOTIFICATION_CREATED]
    assert len(notified) == 1, [e.data for e in notified]
    session = replicas.platform.sessions.record(world.tenant_id, session_id)
    assert session.status is SessionStatus.HANDOFF_REQUESTED
    # Once the handoff pauses the agent, later messages may go unanswered (`reminder_every`): each is stored once.
    texts = [turn.text for turn in transcript(replicas.platform, world, session_id)]
    assert all(texts.count(message) == 1 for message in answers), texts
