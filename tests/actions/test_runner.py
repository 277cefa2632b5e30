"""The ActionRunner: validation before anything is sent, limits, dispatch by kind, never an exception."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import anyio
import anyio.to_thread
import pytest

from oratio.actions import ToolOutcome, ToolRequest
from oratio.actions.http_tool import HttpToolRunner
from oratio.actions.limits import ToolLimits, ToolLimitSettings
from oratio.actions.runner import PlatformActionRunner
from oratio.notify.address_policy import WebhookPolicy
from schemas import McpServerTool, McpToolSnapshot, ToolCallStatus
from tests.support.tool_server import DictSecrets, ToolServer, http_tool, tool_request, tool_server

pytestmark = pytest.mark.anyio

SCHEMA = {
    "type": "object",
    "properties": {"order_id": {"type": "string", "pattern": "^[A-Z][0-9]{3}$"}},
    "required": ["order_id"],
}
SNAPSHOT = McpToolSnapshot(server="crm", tool="find", name="crm_find", parameters=SCHEMA)
SERVER = McpServerTool(name="crm", url="https://crm.example.com/mcp", allowed_tools=["find"])


class RecordingMcp:
    """Stands in for the MCP runner (task C's): records what it was asked to run."""

    def __init__(self) -> None:
        self.requests: list[ToolRequest] = []

    async def run(self, request: ToolRequest) -> ToolOutcome:
        self.requests.append(request)
        return ToolOutcome(ToolCallStatus.OK, {"found": True}, "found", 1.0)


class Broken:
    async def run(self, request: ToolRequest) -> ToolOutcome:
        raise RuntimeError("a bug in a runner")


@pytest.fixture
def server() -> Iterator[ToolServer]:
    with tool_server() as running:
        yield running


def actions(mcp: RecordingMcp | None = None, **limits: int) -> PlatformActionRunner:
    http = HttpToolRunner(DictSecrets({}), WebhookPolicy.of(False, "127.0.0.1"))
    return PlatformActionRunner(http=http, mcp=mcp, limits=ToolLimits(ToolLimitSettings(**limits)))


async def test_invalid_arguments_are_never_sent_and_the_model_is_told_what_to_fix(
    server: ToolServer, caplog: pytest.LogCaptureFixture
) -> None:
    tool = http_tool(server.url("/orders/{order_id}"), parameters=SCHEMA)
    caplog.set_level(logging.INFO, logger="oratio.actions")
    outcome = await actions().run(tool_request(tool, {"order_id": "secret-ish-value"}))
    assert outcome.status is ToolCallStatus.INVALID_ARGUMENTS and server.requests == []
    assert outcome.content["problems"] == ["order_id: 'secret-ish-value' does not match ^[A-Z][0-9]{3}$"]
    assert "fix them" in outcome.content["error"]
    assert outcome.summary == "invalid arguments: order_id"
    assert "tool=lookup_order status=invalid_arguments" in caplog.text and "secret-ish-value" not in caplog.text
    ok = await actions().run(tool_request(tool, {"order_id": "A123"}))
    assert ok.status is ToolCallStatus.OK and ok.duration_ms > 0


async def test_mcp_tools_go_to_the_mcp_runner_or_are_refused_without_one() -> None:
    request = ToolRequest("t1", "a1", "s1", SNAPSHOT, {"order_id": "A123"}, server=SERVER, deadline_s=5)
    refused = await actions().run(request)
    assert refused.status is ToolCallStatus.REFUSED and "not available" in refused.content["error"]
    mcp = RecordingMcp()
    outcome = await actions(mcp).run(request)
    assert outcome.status is ToolCallStatus.OK and [r.arguments for r in mcp.requests] == [{"order_id": "A123"}]
    assert mcp.requests[0].deadline_s is not None and mcp.requests[0].deadline_s <= 5
    invalid = await actions(mcp).run(ToolRequest("t1", "a1", "s1", SNAPSHOT, {}, server=SERVER))
    assert invalid.status is ToolCallStatus.INVALID_ARGUMENTS and len(mcp.requests) == 1


async def test_a_runner_that_raises_costs_the_call_not_the_turn(caplog: pytest.LogCaptureFixture) -> None:
    runner = PlatformActionRunner(http=Broken(), mcp=None, limits=ToolLimits(ToolLimitSettings()))
    tool = http_tool("https://orders.example.com/orders/{order_id}")
    outcome = await runner.run(tool_request(tool, {"order_id": "Q1"}))
    assert outcome.status is ToolCallStatus.ERROR and "apologise" in outcome.content["error"]
    assert "tool=lookup_order | tool call failed inside the platform" in caplog.text


async def test_no_time_left_is_a_timeout_without_a_call(server: ToolServer) -> None:
    outcome = await actions().run(tool_request(http_tool(server.url("/text")), {}, deadline_s=0))
    assert outcome.status is ToolCallStatus.TIMEOUT and server.requests == []


async def test_calls_over_the_tenants_concurrency_are_refused_and_slots_come_back(server: ToolServer) -> None:
    runner = actions(concurrency_per_tenant=2)
    hang, quick = http_tool(server.url("/hang"), name="slow_tool"), http_tool(server.url("/text"))
    held: list[ToolOutcome] = []

    async def call_held() -> None:
        held.append(await runner.run(tool_request(hang, {})))

    with anyio.fail_after(20):
        async with anyio.create_task_group() as group:
            group.start_soon(call_held)
            group.start_soon(call_held)
            assert await anyio.to_thread.run_sync(server.wait_for, 2)
            refused = await runner.run(tool_request(quick, {}))
            other_tenant = await runner.run(tool_request(quick, {}, tenant="t2"))
            server.release.set()
    assert refused.status is ToolCallStatus.REFUSED and "at once (2)" in refused.content["error"]
    assert other_tenant.status is ToolCallStatus.OK
    assert [o.status for o in held] == [ToolCallStatus.OK, ToolCallStatus.OK]
    assert (await runner.run(tool_request(quick, {}))).status is ToolCallStatus.OK


async def test_a_tool_over_its_calls_per_minute_is_refused(server: ToolServer) -> None:
    runner = actions(calls_per_minute=2)
    tool = http_tool(server.url("/text"))
    statuses = [(await runner.run(tool_request(tool, {}))).status for _ in range(3)]
    assert statuses == [ToolCallStatus.OK, ToolCallStatus.OK, ToolCallStatus.REFUSED]
    assert len(server.requests) == 2
