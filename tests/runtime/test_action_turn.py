"""The agent's own tools inside one turn: cut at the turn's deadline, capped per turn, redacted in records,
MCP tools write unless the admin says read-only, the gate checks arguments exactly as the runner does, and
the statement streamed like the rest of the reply.

Tools run through the platform's own ActionRunner (`platform.actions`) against the real loopback
tool service; TEST DOUBLE runners remain only where a test needs one that hangs or raises on purpose,
and (`RecordingMcpRunner`) for the MCP runner, which is another task's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from oratio.actions import ActionRunner, ToolOutcome, ToolRequest
from oratio.actions.http_tool import HttpToolRunner
from oratio.actions.limits import ToolLimits, ToolLimitSettings
from oratio.actions.runner import PlatformActionRunner
from oratio.models import CallTool, Say, after_tool
from oratio.notify.address_policy import WebhookPolicy
from oratio.platform import Platform
from oratio.runtime import TurnResult
from oratio.runtime.action_turn import ActionTurn, catalog
from oratio.runtime.outcome import TurnOutcome
from schemas import AgentPlan, Channel, HttpMethod, HttpTool, McpServerTool, McpToolSnapshot, ToolCallStatus
from schemas.tools import TOOL_CALLS_PER_TURN_MAX
from tests.support.actions import LOOPBACK_TOOLS, ORDER_ID, HangingActionRunner, base_url, plan_with_tools
from tests.support.engine import EngineWorld, deployed_agent, engine_over
from tests.support.tool_server import DictSecrets, ToolServer, tool_server

pytestmark = pytest.mark.anyio

BASE = "http://127.0.0.1:9"


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return LOOPBACK_TOOLS


@pytest.fixture
def service() -> Iterator[ToolServer]:
    with tool_server() as running:
        yield running


def turn_over(plan: AgentPlan, runner: ActionRunner, platform: Platform) -> ActionTurn:
    return ActionTurn(
        runner=runner,
        actions=catalog(plan),
        tenant_id="ten_1",
        agent_id="agt_1",
        session_id="ses_1",
        language=plan.language,
        turn_seq=2,
        outcome=TurnOutcome(),
        validator=platform.engine.validator,
    )


async def test_a_hanging_tool_costs_the_customer_a_reply_within_the_turn_timeout(world: EngineWorld) -> None:
    agent = deployed_agent(world.platform, world.principal, "Orders", plan_with_tools(BASE))
    runner = HangingActionRunner()
    engine = engine_over(world.platform, lambda spec: world.model, actions=runner, turn_timeout_seconds=1.0)
    world.model.add(CallTool("lookup_order", {"order_id": "A123"}), after_tool("lookup_order", lambda t: Say(t)))
    with anyio.fail_after(10):  # the engine's own deadline must fire long before this one
        result = await engine.turn_async(world.tenant_id, agent.id, None, "where is A123", Channel.TEXT)
    assert "did not answer in time" in result.reply
    [call] = world.platform.sessions.get(world.principal, result.session_id).turns[-1].tool_calls
    assert call.status is ToolCallStatus.TIMEOUT
    assert runner.calls[0].deadline_s is not None and runner.calls[0].deadline_s < 1.0


async def test_calls_are_capped_per_turn(platform: Platform, service: ToolServer) -> None:
    turn = turn_over(plan_with_tools(base_url(service)), platform.actions, platform)
    action = turn.actions["lookup_order"]
    for n in range(TOOL_CALLS_PER_TURN_MAX):
        _, status = await turn.call(action, f"c{n}", {"order_id": "A123"})
        assert status is ToolCallStatus.OK
    content, status = await turn.call(action, "one-too-many", {"order_id": "A123"})
    assert status is ToolCallStatus.REFUSED and "no more tool calls" in content["error"]
    assert len(service.requests) == len(turn.outcome.tool_calls) == TOOL_CALLS_PER_TURN_MAX


async def test_records_redact_sensitive_arguments_and_secret_shaped_values(
    platform: Platform, service: ToolServer
) -> None:
    tool = HttpTool(
        name="pay_invoice",
        description="Pay an invoice with the customer's card.",
        url=service.url("/orders/INV1"),  # answers with the query it received: the card comes back
        parameters={"type": "object", "properties": {"card": {"type": "string"}, "note": {"type": "string"}}},
        sensitive_arguments=["card"],
    )
    plan = AgentPlan(persona="p", system_prompt="You are a billing assistant.", actions=[tool])
    turn = turn_over(plan, platform.actions, platform)
    note = "key sk-abcdefghijklmnopqrstuvwx1234"
    await turn.call(turn.actions["pay_invoice"], "c1", {"card": "4111111111111111", "note": note})
    [record] = turn.outcome.tool_calls
    assert record.status is ToolCallStatus.OK and record.arguments["card"] == "[redacted]"
    assert "sk-abcdefghijklmnopqrstuvwx1234" not in str(record.arguments)
    assert "4111111111111111" not in record.summary and "abcdefghijklmnopqrstuvwx1234" not in record.summary
    assert service.requests[0].query["card"] == ["4111111111111111"]  # the tool itself gets the real value


async def test_mcp_tools_are_writes_unless_the_admin_lists_them_read_only(platform: Platform) -> None:
    server = McpServerTool(
        name="shop", url="http://127.0.0.1:9/mcp", allowed_tools=["get_order", "refund"], read_only_tools=["get_order"]
    )
    plan = AgentPlan(
        persona="p",
        system_prompt="You are a shop assistant.",
        actions=[server],
        mcp_tools=[
            McpToolSnapshot(server="shop", tool="get_order", name="shop_get_order", write=False),
            # The server says refund is read-only; only the admin's list counts.
            McpToolSnapshot(
                server="shop",
                tool="refund",
                name="shop_refund",
                write=False,
                parameters={"type": "object", "properties": {"amount": {"type": "number"}}},
            ),
            McpToolSnapshot(server="shop", tool="delete_all", name="shop_delete_all", write=False),  # not allowed
            McpToolSnapshot(server="gone", tool="x", name="gone_x", write=False),  # its server left the plan
        ],
    )
    mcp = RecordingMcpRunner()
    runner = PlatformActionRunner(
        http=HttpToolRunner(DictSecrets({}), WebhookPolicy.of(False, "")),
        mcp=mcp,
        limits=ToolLimits(ToolLimitSettings(calls_per_minute=60, concurrency_per_tenant=4, concurrency_per_tool=4)),
        validator=platform.engine.validator,
    )
    turn = turn_over(plan, runner, platform)
    assert sorted(turn.actions) == ["shop_get_order", "shop_refund"]
    _, status = await turn.call(turn.actions["shop_get_order"], "c1", {})
    assert status is ToolCallStatus.OK and mcp.requests[0].server == server
    _, status = await turn.call(turn.actions["shop_refund"], "c2", {"amount": 5})
    assert status is ToolCallStatus.AWAITING_CONFIRMATION and len(mcp.requests) == 1
    assert turn.gate.pending is not None and turn.gate.pending.tool == "shop_refund"


async def test_the_statement_is_streamed_like_the_rest_of_the_reply(world: EngineWorld, service: ToolServer) -> None:
    agent = deployed_agent(world.platform, world.principal, "Orders", plan_with_tools(base_url(service)))
    engine = engine_over(world.platform, lambda spec: world.model, actions=world.platform.actions)
    world.model.add(CallTool("cancel_order", {"order_id": "A123", "reason": "late"}), Say("Let me check."))
    deltas: list[str] = []
    final: list[TurnResult] = []
    async for item in engine.stream_turn(world.tenant_id, agent.id, None, "cancel A123, it is late", Channel.TEXT):
        (final if isinstance(item, TurnResult) else deltas).append(item)  # type: ignore[arg-type]
    assert "".join(deltas) == final[0].reply
    assert final[0].reply.endswith("Shall I go ahead? Please answer yes or no.")


async def test_without_a_runner_the_agents_tools_are_not_offered(world: EngineWorld) -> None:
    agent = deployed_agent(world.platform, world.principal, "Orders", plan_with_tools(BASE))
    world.model.add(Say("Hello."))
    await world.engine().turn_async(world.tenant_id, agent.id, None, "hi", Channel.TEXT)
    assert "lookup_order" not in world.model.prompts[-1].tool_names
    engine = engine_over(world.platform, lambda spec: world.model, actions=world.platform.actions)
    world.model.add(Say("Hello."))
    await engine.turn_async(world.tenant_id, agent.id, None, "hi", Channel.TEXT)
    assert {"lookup_order", "cancel_order"} <= set(world.model.prompts[-1].tool_names)


class RaisingActionRunner:
    """TEST DOUBLE: an ActionRunner with a bug, it raises instead of returning an outcome."""

    async def run(self, request: ToolRequest) -> ToolOutcome:
        raise KeyError("a bug in the runner")


async def test_a_runner_that_raises_on_a_confirmed_action_still_leaves_the_customer_an_answer(
    world: EngineWorld,
) -> None:
    agent = deployed_agent(world.platform, world.principal, "Orders", plan_with_tools(BASE))
    engine = engine_over(world.platform, lambda spec: world.model, actions=RaisingActionRunner())
    world.model.add(CallTool("cancel_order", {"order_id": "A123", "reason": "late"}), Say("Shall I?"))
    first = await engine.turn_async(world.tenant_id, agent.id, None, "cancel A123", Channel.TEXT)
    world.model.add(after_tool("cancel_order", lambda text: Say(text)))
    second = await engine.turn_async(world.tenant_id, agent.id, first.session_id, "yes", Channel.TEXT)
    assert "cannot be done now" in second.reply
    [call] = world.platform.sessions.get(world.principal, first.session_id).turns[-1].tool_calls
    assert (call.status, call.confirmed) == (ToolCallStatus.ERROR, True)


class RecordingMcpRunner:
    """TEST DOUBLE for the MCP runner (`oratio.actions.mcp_client`, another task's): answers OK, keeps requests."""

    def __init__(self) -> None:
        self.requests: list[ToolRequest] = []

    async def run(self, request: ToolRequest) -> ToolOutcome:
        self.requests.append(request)
        return ToolOutcome(ToolCallStatus.OK, {"ok": True}, "ok", 1.0)


def plan_of(tool: HttpTool) -> AgentPlan:
    return AgentPlan(persona="p", system_prompt="You are Acme's orders assistant.", actions=[tool])


def refund_tool(service: ToolServer) -> HttpTool:
    """A write whose schema uses what only a full JSON Schema check sees (nested objects, formats, bounds)."""
    return HttpTool(
        name="refund_order",
        description="Refund part of an order.",
        url=service.url("/returns"),
        method=HttpMethod.POST,
        write=True,
        parameters={
            "type": "object",
            "properties": {
                "order_id": ORDER_ID,
                "refund": {
                    "type": "object",
                    "properties": {"amount": {"type": "number", "exclusiveMinimum": 0, "maximum": 500}},
                    "required": ["amount"],
                    "additionalProperties": False,
                },
                "on": {"type": "string", "format": "date"},
            },
            "required": ["order_id", "refund"],
        },
    )


@pytest.mark.parametrize(
    "arguments",
    [
        {"order_id": "A123", "refund": {"amount": 9000}},  # over the maximum, one level down
        {"order_id": "A123", "refund": {"amount": 5, "to": "my other account"}},  # an argument it does not take
        {"order_id": "A123", "refund": {"amount": 5}, "on": "next tuesday"},  # not a date
    ],
)
async def test_the_gate_refuses_what_the_runner_would_refuse_before_holding(
    platform: Platform, service: ToolServer, arguments: dict[str, Any]
) -> None:
    tool = refund_tool(service)
    turn = turn_over(plan_of(tool), platform.actions, platform)
    content, status = await turn.call(turn.actions["refund_order"], "c1", arguments)
    assert status is ToolCallStatus.INVALID_ARGUMENTS and content["problems"]
    assert turn.gate.pending is None and service.requests == []
    # The same answer the runner gives (one validator): the model reads the same fix either way.
    direct = await platform.actions.run(
        ToolRequest(tenant_id="ten_1", agent_id="agt_1", session_id="ses_1", tool=tool, arguments=arguments)
    )
    assert (direct.status, direct.content) == (status, content)
    [record] = turn.outcome.tool_calls
    assert record.summary == direct.summary and "my other account" not in record.summary


async def test_a_tool_with_a_schema_the_platform_refuses_is_never_held(platform: Platform, service: ToolServer) -> None:
    tool = HttpTool(
        name="odd_tool",
        description="A write whose stored schema is not valid JSON Schema.",
        url=service.url("/returns"),
        method=HttpMethod.POST,
        write=True,
        parameters={"type": "object", "properties": [], "required": [{"not": "a name"}, "id"]},
    )
    turn = turn_over(plan_of(tool), platform.actions, platform)
    content, status = await turn.call(turn.actions["odd_tool"], "c1", {"id": "x"})
    assert status is ToolCallStatus.INVALID_ARGUMENTS and "cannot be called" in content["problems"][0]
    assert turn.gate.pending is None and service.requests == []
