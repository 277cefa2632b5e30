"""The agent's own tools inside one turn: cut at the turn's deadline, capped per turn, redacted in records,
MCP tools write unless the admin says read-only, and the statement streamed like the rest of the reply."""

from __future__ import annotations

import anyio
import pytest

from oratio.actions import ToolOutcome, ToolRequest
from oratio.models import CallTool, Say, after_tool
from oratio.runtime import TurnResult
from oratio.runtime.action_turn import ActionTurn, argument_problems, catalog
from oratio.runtime.outcome import TurnOutcome
from schemas import AgentPlan, Channel, HttpTool, McpServerTool, McpToolSnapshot, ToolCallStatus
from schemas.tools import TOOL_CALLS_PER_TURN_MAX
from tests.support.actions import HangingActionRunner, plan_with_tools
from tests.support.engine import EngineWorld, deployed_agent, engine_over

pytestmark = pytest.mark.anyio

BASE = "http://127.0.0.1:9"


class Answering:
    """An ActionRunner that answers every call with the same outcome, keeping the requests."""

    def __init__(self) -> None:
        self.requests: list[ToolRequest] = []

    async def run(self, request: ToolRequest) -> ToolOutcome:
        self.requests.append(request)
        return ToolOutcome(ToolCallStatus.OK, {"ok": True, "token": "Bearer abcdefghijklmnopqrstuvwxyz0123"}, "ok", 1.0)


def turn_over(plan: AgentPlan, runner: Answering) -> ActionTurn:
    return ActionTurn(
        runner=runner,
        actions=catalog(plan),
        tenant_id="ten_1",
        agent_id="agt_1",
        session_id="ses_1",
        language=plan.language,
        turn_seq=2,
        outcome=TurnOutcome(),
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


async def test_calls_are_capped_per_turn() -> None:
    runner = Answering()
    turn = turn_over(plan_with_tools(BASE), runner)
    action = turn.actions["lookup_order"]
    for n in range(TOOL_CALLS_PER_TURN_MAX):
        _, status = await turn.call(action, f"c{n}", {"order_id": "A123"})
        assert status is ToolCallStatus.OK
    content, status = await turn.call(action, "one-too-many", {"order_id": "A123"})
    assert status is ToolCallStatus.REFUSED and "no more tool calls" in content["error"]
    assert len(runner.requests) == len(turn.outcome.tool_calls) == TOOL_CALLS_PER_TURN_MAX


async def test_records_redact_sensitive_arguments_and_secret_shaped_values() -> None:
    tool = HttpTool(
        name="pay_invoice",
        description="Pay an invoice with the customer's card.",
        url=BASE + "/pay",
        parameters={"type": "object", "properties": {"card": {"type": "string"}, "note": {"type": "string"}}},
        sensitive_arguments=["card"],
    )
    runner = Answering()
    turn = turn_over(AgentPlan(persona="p", system_prompt="You are a billing assistant.", actions=[tool]), runner)
    note = "key sk-abcdefghijklmnopqrstuvwx1234"
    await turn.call(turn.actions["pay_invoice"], "c1", {"card": "4111111111111111", "note": note})
    [record] = turn.outcome.tool_calls
    assert record.arguments["card"] == "[redacted]"
    assert "sk-abcdefghijklmnopqrstuvwx1234" not in str(record.arguments)
    assert "abcdefghijklmnopqrstuvwxyz0123" not in record.summary
    assert runner.requests[0].arguments["card"] == "4111111111111111"  # the tool itself gets the real value


async def test_mcp_tools_are_writes_unless_the_admin_lists_them_read_only() -> None:
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
            McpToolSnapshot(server="shop", tool="refund", name="shop_refund", write=False),
            McpToolSnapshot(server="shop", tool="delete_all", name="shop_delete_all", write=False),  # not allowed
            McpToolSnapshot(server="gone", tool="x", name="gone_x", write=False),  # its server left the plan
        ],
    )
    runner = Answering()
    turn = turn_over(plan, runner)
    assert sorted(turn.actions) == ["shop_get_order", "shop_refund"]
    _, status = await turn.call(turn.actions["shop_get_order"], "c1", {})
    assert status is ToolCallStatus.OK and runner.requests[0].server == server
    _, status = await turn.call(turn.actions["shop_refund"], "c2", {"amount": 5})
    assert status is ToolCallStatus.AWAITING_CONFIRMATION and len(runner.requests) == 1
    assert turn.gate.pending is not None and turn.gate.pending.tool == "shop_refund"


async def test_the_statement_is_streamed_like_the_rest_of_the_reply(world: EngineWorld) -> None:
    agent = deployed_agent(world.platform, world.principal, "Orders", plan_with_tools(BASE))
    engine = engine_over(world.platform, lambda spec: world.model, actions=Answering())
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
    engine = engine_over(world.platform, lambda spec: world.model, actions=Answering())
    world.model.add(Say("Hello."))
    await engine.turn_async(world.tenant_id, agent.id, None, "hi", Channel.TEXT)
    assert {"lookup_order", "cancel_order"} <= set(world.model.prompts[-1].tool_names)


class Broken:
    """An ActionRunner with a bug: it raises instead of returning an outcome."""

    async def run(self, request: ToolRequest) -> ToolOutcome:
        raise KeyError("a bug in the runner")


async def test_a_runner_that_raises_on_a_confirmed_action_still_leaves_the_customer_an_answer(
    world: EngineWorld,
) -> None:
    agent = deployed_agent(world.platform, world.principal, "Orders", plan_with_tools(BASE))
    engine = engine_over(world.platform, lambda spec: world.model, actions=Broken())
    world.model.add(CallTool("cancel_order", {"order_id": "A123", "reason": "late"}), Say("Shall I?"))
    first = await engine.turn_async(world.tenant_id, agent.id, None, "cancel A123", Channel.TEXT)
    world.model.add(after_tool("cancel_order", lambda text: Say(text)))
    second = await engine.turn_async(world.tenant_id, agent.id, first.session_id, "yes", Channel.TEXT)
    assert "cannot be done now" in second.reply
    [call] = world.platform.sessions.get(world.principal, first.session_id).turns[-1].tool_calls
    assert (call.status, call.confirmed) == (ToolCallStatus.ERROR, True)


def test_argument_checks_survive_an_odd_schema() -> None:
    tool = HttpTool(
        name="odd_tool",
        description="A tool whose schema is unusual.",
        url=BASE + "/odd",
        parameters={"type": "object", "properties": [], "required": [{"not": "a name"}, "id"]},
    )
    assert argument_problems(tool, {"x": 1}) == ["id: required"]
