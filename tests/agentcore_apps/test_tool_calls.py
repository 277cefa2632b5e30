"""An agent's own tools in conversations, end to end: HTTP in through the runtime door, the real engine and
Strands loop (scripted model), the tool served by a real loopback HTTP service, the transcript in SQLite.

The confirmation gate (docs: the issue-18 contract): a write call is held and the customer told in code
what would happen; the next message runs it only on an explicit yes, exactly with the held arguments,
once. The tools run through the platform's own ActionRunner (schema check, limits, address policy, the
HTTP runner), which the settings allow to reach the loopback service.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from oratio.actions import ActionRunner, ToolOutcome, ToolRequest
from oratio.actions.openapi import import_operations
from oratio.actions.schema_check import REQUEST_BODY_MARKER
from oratio.models import CallTool, Prompt, Say, ScriptedModel, Step, after_tool
from oratio.platform import Platform
from oratio.runtime import ModelFactory
from schemas import Channel, EventType, Role, ToolCallStatus, Turn
from tests.support.actions import LOOPBACK_TOOLS, base_url, cancels, lookups, plan_with_tools
from tests.support.engine import engine_over
from tests.support.platforms import open_test_platform
from tests.support.tenants import Tenancy, events, mint, new_agent, new_tenancy
from tests.support.tool_server import ToolServer, tool_server

STATEMENT = (
    "To confirm: I will cancel an order that has not shipped yet with order id A123 and reason damaged. "
    "Shall I go ahead? Please answer yes or no."
)
CANCEL_A123 = CallTool("cancel_order", {"order_id": "A123", "reason": "damaged"})


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def platform_models(model: ScriptedModel) -> ModelFactory:
    return lambda spec: model


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return LOOPBACK_TOOLS


@pytest.fixture
def service() -> Iterator[ToolServer]:
    with tool_server() as running:
        yield running


class Desk:
    """Acme's orders agent (deployed with the tools), its key, and the door to talk to it."""

    def __init__(self, platform: Platform, http: httpx.Client, tenancy: Tenancy, base_url: str) -> None:
        self.platform, self.http, self.tenancy = platform, http, tenancy
        self.agent = new_agent(platform, tenancy, "Orders", plan=plan_with_tools(base_url))
        self.secret, _ = mint(platform, tenancy, self.agent)

    def say(self, message: str, session_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"agent_id": self.agent.id, "message": message}
        if session_id is not None:
            body["session_id"] = session_id
        response = self.http.post("/invocations", json=body, headers={"X-Api-Key": self.secret})
        assert response.status_code == 200, response.text
        reply: dict[str, Any] = response.json()
        return reply

    def turns(self, session_id: str) -> list[Turn]:
        return self.platform.sessions.get(self.tenancy.principal, session_id).turns

    def pending(self, session_id: str) -> Any:
        return self.platform.sessions.get(self.tenancy.principal, session_id).session.pending_action


@pytest.fixture
def desk(platform: Platform, http: httpx.Client, acme: Tenancy, service: ToolServer) -> Desk:
    return Desk(platform, http, acme, base_url(service))


def tell(result: str) -> Step:
    return Say(f"Here is what happened: {result}")


def last_blocks(prompt: Prompt, kind: str) -> list[Any]:
    return [dict(block).get(kind) for message in prompt.messages for block in message["content"] if kind in block]


def test_a_lookup_runs_against_the_service_and_is_stored_on_the_agent_turn(
    desk: Desk, model: ScriptedModel, service: ToolServer
) -> None:
    model.add(CallTool("lookup_order", {"order_id": "A123"}), after_tool("lookup_order", tell))
    body = desk.say("where is my order A123")
    assert "shipped" in body["reply"]
    assert lookups(service) == ["/orders/A123"] and cancels(service) == []
    agent_turn = desk.turns(body["session_id"])[-1]
    assert agent_turn.role is Role.AGENT
    [call] = agent_turn.tool_calls
    assert (call.name, call.status, call.write, call.confirmed) == ("lookup_order", ToolCallStatus.OK, False, False)
    assert call.arguments == {"order_id": "A123"} and "shipped" in call.summary
    [event] = [e for e in events(desk.platform, desk.tenancy.tenant_id) if e.type is EventType.SESSION_TOOL_CALL]
    assert event.data == {
        "session_id": body["session_id"],
        "agent_id": desk.agent.id,
        "call_id": call.id,
        "name": "lookup_order",
        "status": "ok",
        "duration_ms": call.duration_ms,
        "write": False,
        "confirmed": False,
    }


def test_the_next_turn_remembers_what_was_looked_up(desk: Desk, model: ScriptedModel) -> None:
    model.add(CallTool("lookup_order", {"order_id": "A123"}), after_tool("lookup_order", tell))
    first = desk.say("where is my order A123")
    model.add(Say("Anything else?"))
    desk.say("thanks", first["session_id"])
    shown = model.prompts[-1]
    [use] = last_blocks(shown, "toolUse")
    [result] = last_blocks(shown, "toolResult")
    assert use["name"] == "lookup_order" and use["input"] == {"order_id": "A123"}
    assert result["toolUseId"] == use["toolUseId"] and "shipped" in result["content"][0]["text"]


def test_a_write_is_held_until_the_customer_says_yes_then_runs_once_with_the_held_arguments(
    desk: Desk, model: ScriptedModel, service: ToolServer
) -> None:
    model.add(CANCEL_A123, Say("I can cancel that for you."))
    first = desk.say("please cancel my order A123, it arrived damaged")
    session_id = first["session_id"]
    assert first["reply"] == f"I can cancel that for you.\n\n{STATEMENT}"
    assert cancels(service) == []  # nothing ran
    held = desk.pending(session_id)
    assert held is not None and held.tool == "cancel_order" and held.statement == STATEMENT
    assert held.arguments == {"order_id": "A123", "reason": "damaged"}
    [awaiting] = desk.turns(session_id)[-1].tool_calls
    assert awaiting.status is ToolCallStatus.AWAITING_CONFIRMATION and awaiting.write
    note = json.loads(model.prompts[-1].tool_outcomes()[0].text)
    assert note["status"] == "awaiting_confirmation" and note["note"].startswith("Nothing has been done yet.")

    # The model calls the same write again in the confirming turn: it gets the same outcome, nothing runs twice.
    model.add(CANCEL_A123, after_tool("cancel_order", tell))
    second = desk.say("yes please", session_id)
    assert cancels(service) == [("/orders/A123/cancel", {"reason": "damaged"})]
    assert "cancelled" in second["reply"]
    assert desk.pending(session_id) is None
    [ran] = desk.turns(session_id)[-1].tool_calls
    assert (ran.status, ran.confirmed, ran.write) == (ToolCallStatus.OK, True, True)
    # The model ran with the confirmed call and its result as the last toolUse/toolResult of its messages.
    told = model.prompts[-2].messages
    assert told[-2]["content"][0]["toolUse"]["input"] == {"order_id": "A123", "reason": "damaged"}
    assert "cancelled" in told[-1]["content"][0]["toolResult"]["content"][0]["text"]
    assert ("user", "yes please") in model.prompts[-2].texts


def test_a_no_drops_the_action_and_the_model_is_told_nothing_was_done(
    desk: Desk, model: ScriptedModel, service: ToolServer
) -> None:
    model.add(CANCEL_A123, Say("Sure."))
    session_id = desk.say("cancel order A123, damaged")["session_id"]
    model.add(after_tool("cancel_order", tell))
    reply = desk.say("no thanks", session_id)["reply"]
    assert "Nothing was done" in reply
    assert cancels(service) == [] and desk.pending(session_id) is None
    [declined] = desk.turns(session_id)[-1].tool_calls
    assert declined.status is ToolCallStatus.DECLINED and not declined.confirmed


def test_anything_but_an_explicit_yes_drops_the_action(desk: Desk, model: ScriptedModel, service: ToolServer) -> None:
    model.add(CANCEL_A123, Say("Sure."))
    session_id = desk.say("cancel order A123, damaged")["session_id"]
    model.add(Say("Of course, what else?"))
    desk.say("yes but change the date", session_id)
    assert cancels(service) == [] and desk.pending(session_id) is None
    [dropped] = desk.turns(session_id)[-1].tool_calls
    assert dropped.status is ToolCallStatus.NOT_CONFIRMED
    # The model ran normally: the customer's words are its last message, no injected tool result.
    assert model.prompts[-1].messages[-1]["content"] == [{"text": "yes but change the date"}]
    # A later bare "yes" runs nothing: there is nothing held any more.
    model.add(Say("Noted."))
    desk.say("yes", session_id)
    assert cancels(service) == []


def test_changed_arguments_need_a_new_confirmation(desk: Desk, model: ScriptedModel, service: ToolServer) -> None:
    model.add(CANCEL_A123, Say("Sure."))
    session_id = desk.say("cancel order A123, damaged")["session_id"]
    # Confirmed: A123 runs; then the model asks for B456 as well, which is held, not run.
    model.add(CallTool("cancel_order", {"order_id": "B456", "reason": "late"}), Say("Done for A123."))
    reply = desk.say("yes", session_id)["reply"]
    assert cancels(service) == [("/orders/A123/cancel", {"reason": "damaged"})]
    assert reply.endswith("with order id B456 and reason late. Shall I go ahead? Please answer yes or no.")
    assert desk.pending(session_id).arguments == {"order_id": "B456", "reason": "late"}
    model.add(after_tool("cancel_order", tell))
    desk.say("go ahead", session_id)
    assert cancels(service)[-1] == ("/orders/B456/cancel", {"reason": "late"})
    assert len(cancels(service)) == 2


def test_invalid_arguments_never_become_pending(desk: Desk, model: ScriptedModel, service: ToolServer) -> None:
    model.add(CallTool("cancel_order", {"order_id": "not an id"}), Say("Which order?"))
    body = desk.say("cancel my order")
    assert body["reply"] == "Which order?"
    assert desk.pending(body["session_id"]) is None
    [refused] = desk.turns(body["session_id"])[-1].tool_calls
    assert refused.status is ToolCallStatus.INVALID_ARGUMENTS
    assert "error" in json.loads(model.prompts[-1].tool_outcomes()[0].text)
    assert cancels(service) == []


def test_a_failing_tool_gives_the_model_an_error_and_counts_as_unhelpful(
    desk: Desk, model: ScriptedModel, service: ToolServer
) -> None:
    model.add(CallTool("broken_lookup", {}), after_tool("broken_lookup", tell))
    body = desk.say("check the thing")
    assert "500" in body["reply"]
    [failed] = desk.turns(body["session_id"])[-1].tool_calls
    assert failed.status is ToolCallStatus.ERROR
    session = desk.platform.sessions.get(desk.tenancy.principal, body["session_id"]).session
    assert session.failed_turns == 1


def test_a_held_action_survives_a_restart(tmp_path: Path) -> None:
    """The held action is on the stored session: a new process (platform and engine) runs it on yes."""
    model = ScriptedModel()
    with tool_server() as service:
        with open_test_platform(tmp_path / "data", models=lambda spec: model, **LOOPBACK_TOOLS) as first:
            tenancy = new_tenancy(first, "Acme")
            agent = new_agent(first, tenancy, "Orders", plan=plan_with_tools(base_url(service)))
            model.add(CANCEL_A123, Say("Sure."))
            result = first.engine.turn(tenancy.tenant_id, agent.id, None, "cancel A123, damaged", Channel.TEXT)
        with open_test_platform(tmp_path / "data", models=lambda spec: model, **LOOPBACK_TOOLS) as second:
            model.add(after_tool("cancel_order", tell))
            after = second.engine.turn(tenancy.tenant_id, agent.id, result.session_id, "yes", Channel.TEXT)
        assert cancels(service) == [("/orders/A123/cancel", {"reason": "damaged"})]
        assert "cancelled" in after.reply


RETURNS_API = {
    "openapi": "3.1.0",
    "info": {"title": "Returns", "version": "1"},
    "paths": {
        "/returns": {
            "post": {
                "operationId": "createReturn",
                "summary": "Open a return for some items of an order.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}},
                                    "required": ["sku", "qty"],
                                },
                            }
                        }
                    },
                },
                "responses": {"201": {"description": "opened"}},
            }
        }
    },
}


@dataclass
class Recorder:
    """The platform's real ActionRunner, keeping what the engine asked of it (a recorder, not a stand-in)."""

    inner: ActionRunner
    requests: list[ToolRequest] = field(default_factory=list)

    async def run(self, request: ToolRequest) -> ToolOutcome:
        self.requests.append(request)
        return await self.inner.run(request)


def test_an_imported_tool_whose_body_is_one_argument_reaches_the_runner_as_imported(
    platform: Platform, acme: Tenancy, model: ScriptedModel, service: ToolServer
) -> None:
    """The engine holds, confirms and hands over the `body` argument and the REQUEST_BODY_MARKER untouched:
    how the runner puts that argument on the wire is the HTTP runner's (`oratio.actions.http_tool`)."""
    [tool] = import_operations(json.dumps(RETURNS_API), ["createReturn"], base_url=base_url(service))
    assert tool.write and tool.parameters[REQUEST_BODY_MARKER] == "body"
    plan = plan_with_tools(base_url(service)).model_copy(update={"actions": [tool]})
    agent = new_agent(platform, acme, "Returns", plan=plan)
    runner = Recorder(platform.actions)
    engine = engine_over(platform, lambda spec: model, actions=runner)
    items = [{"sku": "X1", "qty": 2}]
    model.add(CallTool(tool.name, {"body": items}), Say("I can open that return."))
    first = engine.turn(acme.tenant_id, agent.id, None, "return two X1 please", Channel.TEXT)
    assert first.reply.endswith("Shall I go ahead? Please answer yes or no.") and runner.requests == []
    model.add(after_tool(tool.name, tell))
    engine.turn(acme.tenant_id, agent.id, first.session_id, "yes", Channel.TEXT)
    [request] = runner.requests
    assert request.tool == tool and request.tool.parameters[REQUEST_BODY_MARKER] == "body"
    assert dict(request.arguments) == {"body": items}
    [(method, path)] = [(r.method, r.path) for r in service.requests]
    assert (method, path) == ("POST", "/returns")
    [ran] = platform.sessions.get(acme.principal, first.session_id).turns[-1].tool_calls
    assert (ran.status, ran.confirmed, ran.arguments) == (ToolCallStatus.OK, True, {"body": items})
