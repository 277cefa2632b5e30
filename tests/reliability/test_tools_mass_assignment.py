"""Issue 18 red team, mass assignment: a model (or a prompt injection steering it) adds top-level
arguments a tool's schema does not declare ("role": "admin") hoping the HTTP runner sends them as
query or body fields. Only declared arguments are accepted unless the admin opened the schema
(`additionalProperties` not false, or `patternProperties`); the rest are refused as invalid arguments
naming them, before the confirmation gate and before anything reaches the endpoint.

Parts: the conversation engine with the scripted model, the platform's real ActionRunner and
HttpToolRunner, and the loopback tool service (tests/support/tool_server.py), which records requests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from oratio.actions.http_tool import HttpToolRunner
from oratio.actions.limits import ToolLimits, ToolLimitSettings
from oratio.actions.runner import PlatformActionRunner
from oratio.models import CallTool, Say
from oratio.notify.address_policy import WebhookPolicy
from oratio.platform import Platform
from schemas import Channel, HttpMethod, ToolCallStatus
from tests.support.actions import LOOPBACK_TOOLS, base_url, cancels, lookups, plan_with_tools
from tests.support.engine import EngineWorld, deployed_agent, engine_over, new_engine_world
from tests.support.tool_server import DictSecrets, ToolServer, http_tool, tool_request, tool_server

pytestmark = pytest.mark.anyio


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return LOOPBACK_TOOLS


@pytest.fixture
def desk(platform: Platform) -> EngineWorld:
    return new_engine_world(platform)


@pytest.fixture
def server() -> Iterator[ToolServer]:
    with tool_server() as running:
        yield running


def _calls(desk: EngineWorld, session_id: str) -> list[tuple[ToolCallStatus, str]]:
    session = desk.platform.sessions.get(desk.principal, session_id)
    return [(call.status, call.summary) for turn in session.turns for call in turn.tool_calls]


def _actions() -> PlatformActionRunner:
    http = HttpToolRunner(DictSecrets({}), WebhookPolicy.of(False, "127.0.0.1"))
    return PlatformActionRunner(http=http, mcp=None, limits=ToolLimits(ToolLimitSettings()))


async def test_a_read_tool_never_sends_an_argument_its_schema_does_not_declare(
    desk: EngineWorld, server: ToolServer
) -> None:
    """Attack: lookup_order (a read: no confirmation) called with "role": "admin" as well. It is refused
    naming the argument, nothing reaches the service, and the model's retry without it runs."""
    agent = deployed_agent(desk.platform, desk.principal, "Orders", plan_with_tools(base_url(server)))
    engine = engine_over(desk.platform, lambda spec: desk.model, actions=desk.platform.actions)
    desk.model.add(
        CallTool("lookup_order", {"order_id": "A123", "role": "admin"}),
        CallTool("lookup_order", {"order_id": "A123"}),
        Say("It ships tomorrow."),
    )
    with anyio.fail_after(30):
        result = await engine.turn_async(desk.tenant_id, agent.id, None, "where is A123?", Channel.TEXT)
    [(refused, problem), (ran, _)] = _calls(desk, result.session_id)
    assert refused is ToolCallStatus.INVALID_ARGUMENTS and "unexpected arguments" in problem
    assert ran is ToolCallStatus.OK
    assert lookups(server) == ["/orders/A123"]
    assert all("role" not in seen.query for seen in server.requests)


async def test_a_write_tool_with_an_undeclared_argument_is_never_held_nor_sent(
    desk: EngineWorld, server: ToolServer
) -> None:
    """Attack: cancel_order with "refund_to" added. It never becomes the pending action (so a yes runs
    nothing) and no POST reaches the service."""
    agent = deployed_agent(desk.platform, desk.principal, "Orders", plan_with_tools(base_url(server)))
    engine = engine_over(desk.platform, lambda spec: desk.model, actions=desk.platform.actions)
    padded = {"order_id": "A123", "reason": "damaged", "refund_to": "XX00 ATTACKER"}
    desk.model.add(CallTool("cancel_order", padded), Say("Shall I cancel it?"))
    with anyio.fail_after(30):
        result = await engine.turn_async(desk.tenant_id, agent.id, None, "cancel A123", Channel.TEXT)
        assert desk.platform.sessions.get(desk.principal, result.session_id).session.pending_action is None
        desk.model.add(Say("OK."))
        await engine.turn_async(desk.tenant_id, agent.id, result.session_id, "yes", Channel.TEXT)
    [(status, problem)] = _calls(desk, result.session_id)
    assert status is ToolCallStatus.INVALID_ARGUMENTS and "unexpected arguments" in problem
    assert cancels(server) == []


@pytest.mark.parametrize("method", [HttpMethod.GET, HttpMethod.POST])
async def test_the_runner_refuses_undeclared_query_and_body_fields(server: ToolServer, method: HttpMethod) -> None:
    """The ActionRunner itself (the admin's test call, the simulations) applies the same rule."""
    schema = {"type": "object", "properties": {"order_id": {"type": "string"}}}
    tool = http_tool(server.url("/orders"), method=method, write=method is not HttpMethod.GET, parameters=schema)
    outcome = await _actions().run(tool_request(tool, {"order_id": "A1", "role": "admin", "is_staff": True}))
    assert outcome.status is ToolCallStatus.INVALID_ARGUMENTS
    assert "unexpected arguments: 'is_staff', 'role'" in json.dumps(outcome.content)
    assert server.requests == []


@pytest.mark.parametrize(
    "opened",
    [
        {"additionalProperties": {"type": "string"}},
        {"additionalProperties": True},
        {"patternProperties": {"^x_": {"type": "string"}}},
    ],
)
async def test_an_admin_who_opens_the_schema_gets_extra_arguments_sent(server: ToolServer, opened: Any) -> None:
    schema = {"type": "object", "properties": {"order_id": {"type": "string"}}, **opened}
    tool = http_tool(server.url("/orders/{order_id}"), parameters=schema)
    outcome = await _actions().run(tool_request(tool, {"order_id": "A1", "x_tag": "blue"}))
    assert outcome.status is ToolCallStatus.OK
    [seen] = server.requests
    assert seen.query.get("x_tag") == ["blue"]
