"""The long-poll receive through `/invocations`: a person's messages reach a customer who did not ask for them.

Over the real runtime under uvicorn: the customer's turn opens the session, an admin takes it over
and speaks (`HandoffService.say`, the path MCP and the dashboard use), and `{"action": "receive"}`
answers with what the customer should see after its cursor, waiting for it when there is nothing yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest

from agentcore_apps.app import create_runtime_app
from agentcore_apps.contract import SESSION_HEADER
from agentcore_apps.receive import Receivers
from oratio.platform import Platform
from tests.support.serving import Served, serving
from tests.support.worlds import World

WAIT = 15.0


@pytest.fixture
def app_and_served(platform: Platform) -> Iterator[tuple[Any, Served]]:
    app = create_runtime_app(platform)
    with serving(app) as served:
        yield app, served


def _turn(http: httpx.Client, world: World, message: str, **extra: Any) -> dict[str, Any]:
    body = {"agent_id": world.agent.id, "message": message, **extra}
    response = http.post("/invocations", json=body, headers={"X-Api-Key": world.secret})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _receive(http: httpx.Client, key: str, **body: Any) -> httpx.Response:
    return http.post("/invocations", json={"action": "receive", **body}, headers={"X-Api-Key": key})


def test_after_a_takeover_the_customer_receives_the_persons_message(
    http: httpx.Client, platform: Platform, world: World
) -> None:
    session_id = _turn(http, world, "hello")["session_id"]
    first = _receive(http, world.secret, agent_id=world.agent.id, session_id=session_id, wait_seconds=0)
    assert first.status_code == 200, first.text
    assert [(i["seq"], i["role"], i["text"]) for i in first.json()["items"]] == [
        (2, "agent", "You said: hello. Anything else?")
    ]
    cursor = first.json()["cursor"]

    platform.handoff.take_over(world.acme.principal, session_id)
    platform.handoff.say(world.acme.principal, session_id, "Hi, I am Sam from support.")
    page = _receive(http, world.secret, agent_id=world.agent.id, session_id=session_id, after=cursor).json()

    assert [(i["role"], i["text"]) for i in page["items"]] == [
        ("notice", "A person from the team has joined the conversation."),
        ("human", "Hi, I am Sam from support."),
    ]
    assert "author" not in page["items"][1] and world.acme.principal.subject not in str(page)
    assert page["with_person"] is True and page["ended"] is False and page["cursor"] == 4
    again = _receive(http, world.secret, agent_id=world.agent.id, session_id=session_id, after=4, wait_seconds=0)
    assert again.json()["items"] == [] and again.json()["cursor"] == 4


def test_the_customers_own_turns_during_takeover_are_not_sent_back(
    http: httpx.Client, platform: Platform, world: World
) -> None:
    session_id = _turn(http, world, "hello")["session_id"]
    platform.handoff.take_over(world.acme.principal, session_id)
    paused = _turn(http, world, "are you there?", session_id=session_id)
    platform.handoff.say(world.acme.principal, session_id, "Yes, one moment.")

    page = _receive(http, world.secret, agent_id=world.agent.id, session_id=session_id, after=3).json()

    assert paused["paused"] is True and paused["reply"] == ""  # a person has it: no canned handoff message
    # seq 4 is the customer's own turn: not sent back; only the person's answer is
    assert [(i["seq"], i["role"], i["text"]) for i in page["items"]] == [(5, "human", "Yes, one moment.")]


@pytest.mark.anyio
async def test_a_waiting_receive_is_answered_when_the_person_speaks(
    served: Served, platform: Platform, world: World
) -> None:
    with httpx.Client(base_url=served.base_url, timeout=10.0) as http:
        session_id = _turn(http, world, "hello")["session_id"]
    platform.handoff.take_over(world.acme.principal, session_id)
    body = {"action": "receive", "agent_id": world.agent.id, "session_id": session_id, "after": 3, "wait_seconds": 20}

    async with httpx.AsyncClient(base_url=served.base_url, timeout=30.0) as client:
        with anyio.fail_after(WAIT):
            async with anyio.create_task_group() as tasks:
                answers: list[httpx.Response] = []

                async def wait() -> None:
                    answers.append(await client.post("/invocations", json=body, headers={"X-Api-Key": world.secret}))

                tasks.start_soon(wait)
                await anyio.to_thread.run_sync(
                    lambda: platform.handoff.say(world.acme.principal, session_id, "Sorry for the wait.")
                )

    [answer] = answers
    assert answer.status_code == 200, answer.text
    assert [(i["role"], i["text"]) for i in answer.json()["items"]] == [("human", "Sorry for the wait.")]


def test_a_wait_that_ends_empty_returns_the_cursor(http: httpx.Client, world: World) -> None:
    session_id = _turn(http, world, "hello")["session_id"]
    runtime_id = "oratio-" + session_id

    response = http.post(
        "/invocations",
        json={"action": "receive", "agent_id": world.agent.id, "after": 2, "wait_seconds": 0.05},
        headers={"X-Api-Key": world.secret, SESSION_HEADER: runtime_id},
    )

    assert response.status_code == 200, response.text
    assert response.json()["items"] == [] and response.json()["cursor"] == 2
    assert response.json()["runtime_session_id"] == runtime_id


def test_sessions_of_another_agent_or_tenant_read_as_unknown(http: httpx.Client, world: World) -> None:
    session_id = _turn(http, world, "hello")["session_id"]

    other_agent = _receive(http, world.other_secret, agent_id=world.other_agent.id, session_id=session_id)
    other_tenant = _receive(http, world.globex_secret, agent_id=world.globex_agent.id, session_id=session_id)
    wrong_key = _receive(http, world.secret, agent_id=world.other_agent.id, session_id=session_id)

    assert (other_agent.status_code, other_agent.json()["error"]) == (404, "not_found")
    assert (other_tenant.status_code, other_tenant.json()["error"]) == (404, "not_found")
    assert wrong_key.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "session_id"),
        ({"session_id": "ses_x", "after": -1}, "after"),
        ({"session_id": "ses_x", "wait_seconds": 26}, "wait_seconds"),
        ({"session_id": "ses_x", "message": "hi"}, "message"),
        ({"session_id": "ses_x", "after": "many"}, "after"),
    ],
)
def test_bad_receives_are_422_naming_the_field(
    http: httpx.Client, world: World, body: dict[str, Any], field: str
) -> None:
    response = _receive(http, world.secret, agent_id=world.agent.id, **body)

    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_a_receive_needs_the_key(http: httpx.Client, world: World) -> None:
    response = http.post("/invocations", json={"action": "receive", "agent_id": world.agent.id, "session_id": "ses_1"})
    assert response.status_code == 401


def test_receivers_beyond_the_tenants_bound_are_told_to_retry(app_and_served: tuple[Any, Served], world: World) -> None:
    app, served = app_and_served
    receivers: Receivers = app.state.receivers
    with httpx.Client(base_url=served.base_url, timeout=10.0) as http:
        session_id = _turn(http, world, "hello")["session_id"]
        with receivers.slot(world.acme.tenant_id):
            for _ in range(receivers.limit - 1):
                receivers._open[world.acme.tenant_id] += 1  # the others are waiting elsewhere
            refused = _receive(http, world.secret, agent_id=world.agent.id, session_id=session_id, wait_seconds=0)
            globex_free = _receive(
                http, world.globex_secret, agent_id=world.globex_agent.id, session_id=session_id, wait_seconds=0
            )
            receivers._open[world.acme.tenant_id] -= receivers.limit - 1

    assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"
    assert refused.headers["retry-after"] == "1"
    assert globex_free.status_code == 404  # another tenant's bound is its own (and the session is not theirs)
    assert receivers.open_for(world.acme.tenant_id) == 0


def test_the_bound_comes_from_the_settings(platform: Platform) -> None:
    assert create_runtime_app(platform).state.receivers.limit == platform.settings.receive_waits_per_tenant == 200
