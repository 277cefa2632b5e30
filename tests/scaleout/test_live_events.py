"""A dashboard on one replica sees what customers say on the others, in order per session.

The dashboard's WebSocket is opened on replica 0 itself; three customers talk to replicas 1 and 2 only
(alternately, on new connections). Replica 0 writes none of these events: it finds them in the shared
event log (DynamoDB, sharded by session), and hands each over once, each session's turns in seq order
and each shard's events in the shard's order, without a gap.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import anyio
import httpx
import pytest
from websockets.asyncio.client import connect

from oratio.store.ports import EventCursor, shard_of
from schemas import EventType
from tests.scaleout.world import World
from tests.support.replicas import Cluster
from tests.support.tenants import events, token_for

pytestmark = pytest.mark.anyio

SESSIONS = 3
TURNS = 3
WAIT_S = 30.0


async def test_a_dashboard_on_one_replica_sees_turns_stored_by_the_others_in_order(
    replicas: Cluster, world: World
) -> None:
    token = token_for(replicas.platform, world.tenancy.principal)
    watcher, writers = replicas.replicas[0], replicas.replicas[1:]
    feed_url = watcher.base_url.replace("http://", "ws://") + "/ws/dashboard"
    async with connect(feed_url) as feed:
        await feed.send(json.dumps({"type": "auth", "token": token, "after": None}))
        ready = json.loads(await feed.recv())
        assert ready["type"] == "ready", ready

        async def talk(n: int) -> None:
            session_id: str | None = None
            for turn in range(TURNS):
                writer = writers[(n + turn) % len(writers)]
                body: dict[str, Any] = {"message": f"hello from customer {n}, turn {turn}"}
                if session_id is not None:
                    body["session_id"] = session_id
                async with httpx.AsyncClient(base_url=writer.base_url, timeout=WAIT_S) as http:
                    response = await http.post(
                        f"/runtime/agents/{world.agent.id}/invocations", json=body, headers={"X-Api-Key": world.key}
                    )
                assert response.status_code == 200, response.text
                session_id = response.json()["session_id"]

        async with anyio.create_task_group() as group:
            for n in range(SESSIONS):
                group.start_soon(talk, n)

        seen: list[dict[str, Any]] = []
        with anyio.fail_after(WAIT_S):
            while sum(1 for frame in seen if frame["event"] == EventType.SESSION_TURN.value) < 2 * SESSIONS * TURNS:
                frame = json.loads(await feed.recv())
                assert frame["type"] == "event", frame
                seen.append(frame)

    log = replicas.platform.backends.events
    start = EventCursor.parse(ready["cursor"], log.shards)
    per_shard: dict[int, list[int]] = defaultdict(list)
    for frame in seen:
        per_shard[shard_of(frame["subject"], log.shards)].append(frame["seq"])
    for shard, shard_seqs in per_shard.items():  # each shard: every event after the cursor, once, in order
        first = start.positions[shard] + 1
        assert shard_seqs == list(range(first, first + len(shard_seqs))), shard
    per_session: dict[str, list[int]] = defaultdict(list)
    for frame in seen:
        if frame["event"] == EventType.SESSION_TURN.value:
            per_session[frame["subject"]].append(frame["data"]["seq"])
    assert sorted(per_session.values()) == [list(range(1, 2 * TURNS + 1))] * SESSIONS
    # What the dashboard was given is the log itself, each shard in the log's order.
    given = [(shard_of(frame["subject"], log.shards), frame["seq"], frame["event"]) for frame in seen]
    logged = {(e.shard, e.seq): e.type.value for e in events(replicas.platform, world.tenant_id)}
    assert all(logged.get((shard, seq)) == kind for shard, seq, kind in given)
