"""Issue 19's target: no customer turn is lost or answered twice across take over, return and a server restart.

The customer talks to the real runtime under uvicorn (`/invocations` turns, `{"action": "receive"}`
for what it did not ask for); a person takes the session over and speaks (`HandoffService.say`, the
path of MCP's `send_human_message` and the dashboard's compose box); the server stops and a new one
opens the same SQLite data directory and listens on the same port; the person speaks again, then
returns the session to the agent.

What must hold: every customer turn is stored once, in order; the agent's model runs only for turns
before the takeover and after the return (never for a turn the person had, never twice for one
turn); the customer receives each of the person's messages exactly once, across the restart, by its
cursor; and the returned agent answers only the new turn (what the person answered is in its history).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from agentcore_apps.app import create_runtime_app
from oratio.models import Say, ScriptedModel
from oratio.platform import Platform
from oratio.runtime.history import HUMAN_PREFIX
from schemas import Role
from tests.net import uvicorn_in_thread
from tests.support.platforms import open_test_platform
from tests.support.worlds import World, new_world


@contextmanager
def _server(data_dir: Path, model: ScriptedModel, port: int = 0) -> Iterator[tuple[Platform, httpx.Client, int]]:
    with (
        open_test_platform(data_dir, models=lambda spec: model) as platform,
        uvicorn_in_thread(lambda _: create_runtime_app(platform), port=port) as bound,
        httpx.Client(base_url=f"http://127.0.0.1:{bound}", timeout=30.0) as http,
    ):
        yield platform, http, bound


class Customer:
    """A customer app: sends turns, and receives from its cursor (every item it was given, in order)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.session_id: str | None = None
        self.cursor = 0
        self.items: list[dict[str, Any]] = []

    def say(self, http: httpx.Client, text: str) -> dict[str, Any]:
        body = {"agent_id": self.world.agent.id, "message": text, "session_id": self.session_id}
        response = http.post("/invocations", json=body, headers={"X-Api-Key": self.world.secret})
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        self.session_id = answer["session_id"]
        return answer

    def receive(self, http: httpx.Client, wait_seconds: float = 0) -> list[dict[str, Any]]:
        body = {
            "action": "receive",
            "agent_id": self.world.agent.id,
            "session_id": self.session_id,
            "after": self.cursor,
            "wait_seconds": wait_seconds,
        }
        response = http.post("/invocations", json=body, headers={"X-Api-Key": self.world.secret})
        assert response.status_code == 200, response.text
        page = response.json()
        self.cursor = page["cursor"]
        self.items += page["items"]
        fresh: list[dict[str, Any]] = page["items"]
        return fresh


def test_no_customer_turn_is_lost_or_answered_twice_across_takeover_restart_and_return(tmp_path: Path) -> None:
    model = ScriptedModel()
    model.add(Say("Hi! How can I help?"))
    with _server(tmp_path, model) as (platform, http, port):
        world = new_world(platform)
        person = world.acme.principal
        customer = Customer(world)
        customer.say(http, "hello")
        customer.receive(http)
        platform.handoff.take_over(person, str(customer.session_id))
        during = [customer.say(http, text) for text in ("Is anyone there?", "My order is 42")]
        platform.handoff.say(person, str(customer.session_id), "Sam here: order 42 ships today.")
        before_restart = customer.receive(http, wait_seconds=5)

    with _server(tmp_path, model, port) as (platform, http, _):  # the server restarted on the same data
        session_id = str(customer.session_id)
        still = customer.say(http, "Great, and the invoice?")
        platform.handoff.say(person, session_id, "The invoice is in your email.")
        after_restart = customer.receive(http, wait_seconds=5)
        platform.handoff.return_to_agent(person, session_id)
        model.add(Say("Glad it is sorted. Anything else?"))
        back = customer.say(http, "Thanks, that's all")
        customer.receive(http)
        turns = platform.sessions.get(person, session_id).turns

    assert all(answer["paused"] for answer in [*during, still]) and not back["paused"]
    customer_turns = [t.text for t in turns if t.role is Role.CUSTOMER]
    assert customer_turns == [
        "hello",
        "Is anyone there?",
        "My order is 42",
        "Great, and the invoice?",
        "Thanks, that's all",
    ]  # each stored once, in order, across the restart
    assert [t.seq for t in turns] == list(range(1, len(turns) + 1))
    agent_answers = [t.text for t in turns if t.role is Role.AGENT]
    # a person had it: no canned handoff message in between, only the agent's two real answers
    assert agent_answers == ["Hi! How can I help?", "Glad it is sorted. Anything else?"]
    assert len(model.prompts) == 2  # the model ran for the first turn and the one after the return, once each
    returned_prompt = model.prompts[-1]
    assert returned_prompt.texts[-1] == ("user", "Thanks, that's all")
    assert ("assistant", HUMAN_PREFIX + "The invoice is in your email.") in returned_prompt.texts
    human = [(i["role"], i["text"]) for i in customer.items if i["role"] == "human"]
    assert human == [("human", "Sam here: order 42 ships today."), ("human", "The invoice is in your email.")]
    assert [i["text"] for i in before_restart if i["role"] == "human"] == ["Sam here: order 42 ships today."]
    assert [i["text"] for i in after_restart if i["role"] == "human"] == ["The invoice is in your email."]
    seqs = [i["seq"] for i in customer.items]
    assert seqs == sorted(set(seqs))  # nothing received twice
    assert customer.items[-1]["text"] == "Glad it is sorted. Anything else?"
