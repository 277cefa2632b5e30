"""Concurrent turns of one session sent through different replicas run one after another.

Before the turn lock, two replicas each stored their customer's words and then their agent's reply,
so the transcript read customer, customer, agent, agent (and each model saw the other's question as
unanswered history). Now the customer's turn takes the session's lock in its own commit and the agent's
turn clears it: the other replicas wait, and every acknowledged turn is stored once, answered next.
"""

from __future__ import annotations

import anyio
import pytest

from tests.scaleout.customers import assert_pairs, customer, say, transcript
from tests.scaleout.world import World
from tests.support.replicas import Cluster

pytestmark = pytest.mark.anyio

CONCURRENT = 6


async def test_concurrent_turns_of_one_session_on_different_replicas_never_interleave(
    replicas: Cluster, world: World
) -> None:
    routed_before = list(replicas.proxy.routed)
    async with customer(replicas) as http:
        opened = await say(http, world, "hello there")
        assert opened.status_code == 200, opened.text
        session_id = opened.json()["session_id"]
        answers: dict[str, str] = {}

        async def ask(message: str) -> None:
            response = await say(http, world, message, session_id)
            assert response.status_code == 200, response.text
            answers[message] = response.json()["reply"]

        async with anyio.create_task_group() as group:
            for n in range(CONCURRENT):
                group.start_soon(ask, f"what are your opening hours, question {n}?")

    routed = [after - before for after, before in zip(replicas.proxy.routed, routed_before, strict=True)]
    assert all(count >= 2 for count in routed), f"the turns did not spread over the replicas: {routed}"
    turns = transcript(replicas.platform, world, session_id)
    assert len(turns) == 2 * (CONCURRENT + 1)
    assert_pairs(turns, answers)
