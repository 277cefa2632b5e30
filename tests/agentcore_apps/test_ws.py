"""AgentCore's `/ws`: a customer's conversation over a WebSocket, with a person's messages pushed to it.

A real `websockets` client against the runtime under uvicorn: turns go through the same engine as
`/invocations`; agent replies, a person's messages and the hand-over notices arrive as `item` frames,
each once and in seq order; refusals close with the documented codes and reasons.
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from websockets.asyncio.client import connect

from agentcore_apps.ws import MAX_FRAME_BYTES
from oratio.platform import Platform
from tests.support.runtime_ws import close_of, customer_socket, frames_until, next_frame, say, ws_url
from tests.support.serving import Served
from tests.support.worlds import World

pytestmark = pytest.mark.anyio


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"key_burst": 6, "key_rate_per_minute": 1}


def _items(frames: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(f["role"], f["text"]) for f in frames if f["type"] == "item"]


async def test_a_conversation_over_the_socket_with_a_person_in_the_middle(
    served: Served, platform: Platform, world: World
) -> None:
    principal = world.acme.principal
    seqs: list[int] = []
    async with customer_socket(served, world.secret, agent_id=world.agent.id) as ws:
        ready = await next_frame(ws)
        await say(ws, "hello")
        first = await frames_until(ws, "done")
        session_id = first[-1]["session_id"]
        await anyio.to_thread.run_sync(lambda: platform.handoff.take_over(principal, session_id))
        joined = await frames_until(ws, "item")
        await anyio.to_thread.run_sync(lambda: platform.handoff.say(principal, session_id, "Hi, Sam here."))
        human = await frames_until(ws, "item")
        await say(ws, "thanks Sam")
        paused = await frames_until(ws, "done")
        await anyio.to_thread.run_sync(lambda: platform.handoff.return_to_agent(principal, session_id))
        back = await frames_until(ws, "item")
        await say(ws, "one more thing")
        last = await frames_until(ws, "done")
        for frames in (first, joined, human, paused, back, last):
            seqs += [f["seq"] for f in frames if f["type"] == "item"]

    assert (ready["type"], ready["session_id"]) == ("ready", None)
    assert _items(first) == [("agent", "You said: hello. Anything else?")]
    assert first[-1]["status"] == "active" and first[-1]["paused"] is False
    assert _items(joined) == [("notice", "A person from the team has joined the conversation.")]
    assert _items(human) == [("human", "Hi, Sam here.")]
    assert paused[-1]["paused"] is True and _items(paused) == []  # a person has it: no canned agent line
    assert _items(back) == [("notice", "You are back with the assistant.")]
    # "thanks Sam" went unanswered (the person returned without replying): it reaches the model with the next words
    assert _items(last) == [("agent", "You said: thanks Sam one more thing. Anything else?")]
    assert seqs == sorted(set(seqs))  # each turn once, in order


async def test_a_reconnecting_customer_gets_what_it_missed_from_its_cursor(
    served: Served, platform: Platform, world: World
) -> None:
    principal = world.acme.principal
    async with customer_socket(served, world.secret, agent_id=world.agent.id) as ws:
        await next_frame(ws)
        await say(ws, "hello")
        session_id = (await frames_until(ws, "done"))[-1]["session_id"]
    platform.handoff.take_over(principal, session_id)
    platform.handoff.say(principal, session_id, "Are you still there?")

    async with customer_socket(served, world.secret, agent_id=world.agent.id, session_id=session_id, after="2") as ws:
        ready = await next_frame(ws)
        missed = [await next_frame(ws), await next_frame(ws)]

    assert (ready["session_id"], ready["cursor"]) == (session_id, 2)
    assert _items(missed) == [
        ("notice", "A person from the team has joined the conversation."),
        ("human", "Are you still there?"),
    ]


async def test_closing_the_session_tells_the_customer_and_closes_the_socket(
    served: Served, platform: Platform, world: World
) -> None:
    async with customer_socket(served, world.secret, agent_id=world.agent.id) as ws:
        await next_frame(ws)
        await say(ws, "hello")
        session_id = (await frames_until(ws, "done"))[-1]["session_id"]
        await anyio.to_thread.run_sync(lambda: platform.handoff.take_over(world.acme.principal, session_id))
        await frames_until(ws, "item")
        await anyio.to_thread.run_sync(lambda: platform.handoff.close_session(world.acme.principal, session_id))
        notice = await frames_until(ws, "item")
        code, reason = await close_of(ws)

    assert _items(notice) == [("notice", "This conversation has been closed.")]
    assert (code, reason) == (1000, "the session has ended")


@pytest.mark.parametrize(
    ("key", "query", "code", "says"),
    [
        (None, {"agent_id": "AGENT"}, 4401, "API key"),
        ("ora_sk_" + "A" * 43, {"agent_id": "AGENT"}, 4401, "key"),
        ("SECRET", {}, 4400, "agent_id"),
        ("SECRET", {"agent_id": "AGENT", "after": "-1"}, 4400, "after"),
        ("SECRET", {"agent_id": "OTHER"}, 4403, "another agent"),
        ("SECRET", {"agent_id": "AGENT", "session_id": "ses_00000000000000000000000000000x"}, 4404, "not found"),
    ],
)
async def test_a_bad_connection_is_closed_with_its_code_and_reason(
    served: Served, world: World, key: str | None, query: dict[str, str], code: int, says: str
) -> None:
    names = {"AGENT": world.agent.id, "OTHER": world.other_agent.id, "SECRET": world.secret}
    query = {k: names.get(v, v) for k, v in query.items()}
    async with customer_socket(served, names.get(key, key) if key else None, **query) as ws:
        closed = await close_of(ws)

    assert closed[0] == code and says in closed[1] and len(closed[1].encode()) <= 123


async def test_another_tenants_session_reads_as_unknown(served: Served, world: World) -> None:
    async with customer_socket(served, world.secret, agent_id=world.agent.id) as ws:
        await next_frame(ws)
        await say(ws, "hello")
        session_id = (await frames_until(ws, "done"))[-1]["session_id"]

    async with customer_socket(
        served, world.globex_secret, agent_id=world.globex_agent.id, session_id=session_id
    ) as ws:
        assert await close_of(ws) == (4404, f"session '{session_id}' was not found")


@pytest.mark.parametrize(
    ("frame", "code", "says"),
    [
        ("not json", 1007, "JSON"),
        ('{"type": "shout", "text": "hi"}', 1007, "type"),
        ('{"type": "message", "text": ""}', 1007, "text"),
        ("[1, 2]", 1007, "message"),
        ('{"type": "message", "text": "' + "x" * MAX_FRAME_BYTES + '"}', 1009, "at most"),
    ],
)
async def test_a_bad_frame_closes_with_its_code(served: Served, world: World, frame: str, code: int, says: str) -> None:
    async with customer_socket(served, world.secret, agent_id=world.agent.id) as ws:
        await next_frame(ws)
        await ws.send(frame)
        closed = await close_of(ws)

    assert closed[0] == code and says in closed[1], closed


async def test_turns_beyond_the_keys_rate_are_refused_in_frames_and_the_socket_stays(
    served: Served, world: World
) -> None:
    async with customer_socket(served, world.secret, agent_id=world.agent.id) as ws:
        await next_frame(ws)
        frames: list[dict[str, Any]] = []
        for n in range(7):  # the connect spent one of the burst of 6
            await say(ws, f"message {n}")
            frames.append((await frames_until(ws, "error" if n >= 5 else "done"))[-1])

    assert [f["type"] for f in frames] == ["done"] * 5 + ["error"] * 2
    assert frames[-1]["status"] == 429 and frames[-1]["error"] == "rate_limited"


async def test_a_client_chosen_runtime_session_id_names_the_session_for_receive(served: Served, world: World) -> None:
    runtime_id = "3f2b8c1e-9d4a-4e7b-8a61-0c5d2e9f7b13"
    headers = {"X-Api-Key": world.secret, "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": runtime_id}
    async with connect(ws_url(served, agent_id=world.agent.id), additional_headers=headers) as ws:
        await next_frame(ws)
        await say(ws, "hello")
        session_id = (await frames_until(ws, "done"))[-1]["session_id"]

    async with httpx.AsyncClient(base_url=served.base_url) as http:
        page = await http.post(
            "/invocations",
            json={"action": "receive", "agent_id": world.agent.id, "wait_seconds": 0},
            headers=headers,
        )

    assert page.status_code == 200, page.text
    assert page.json()["session_id"] == session_id
