"""A customer app talking to the cluster through its proxy: every request on a new connection, so the
proxy's round robin spreads one session's turns over the replicas (a keep-alive client would stick)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from oratio.platform import Platform
from oratio.services._common import all_items
from oratio.store.tables import TURNS
from schemas import Role, Turn
from tests.scaleout.world import World
from tests.support.replicas import Cluster

TURN_TIMEOUT_S = 30.0
"""Bounds one HTTP turn (a turn waits at most ORATIO_TURN_WAIT_SECONDS for its session, 10 s by default)."""


@asynccontextmanager
async def customer(replicas: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the proxy that opens a new connection per request."""
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=replicas.url, timeout=TURN_TIMEOUT_S, limits=limits) as http:
        yield http


async def say(http: httpx.AsyncClient, world: World, message: str, session_id: str | None = None) -> httpx.Response:
    """One customer turn through the runtime's JSON path (`/runtime/agents/{id}/invocations`)."""
    body: dict[str, Any] = {"message": message}
    if session_id is not None:
        body["session_id"] = session_id
    return await http.post(f"/runtime/agents/{world.agent.id}/invocations", json=body, headers={"X-Api-Key": world.key})


def transcript(platform: Platform, world: World, session_id: str) -> list[Turn]:
    """Every stored turn of the session, in seq order (read from the shared store)."""
    return all_items(platform.backends.store, TURNS, f"{world.tenant_id}#{session_id}")


def assert_pairs(turns: list[Turn], acknowledged: dict[str, str]) -> None:
    """Turns alternate customer, agent, customer, agent...; each acknowledged message (text -> reply) is
    stored exactly once, answered by the very next turn with the reply its customer was given."""
    roles = [turn.role for turn in turns]
    assert roles == [Role.CUSTOMER, Role.AGENT] * (len(turns) // 2), f"interleaved turns: {roles}"
    texts = [turn.text for turn in turns]
    for message, reply in acknowledged.items():
        assert texts.count(message) == 1, f"{message!r} is stored {texts.count(message)} times"
        at = texts.index(message)
        assert turns[at].role is Role.CUSTOMER and turns[at + 1].text == reply
