"""`Platform.actions`: the ActionRunner wired from settings (address policy, limits, no secrets yet)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from oratio.config import load_settings
from oratio.errors import ConfigError
from oratio.platform import Platform
from schemas import ToolCallStatus
from tests.support.tool_server import ToolServer, http_tool, tool_request, tool_server

pytestmark = pytest.mark.anyio


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"webhook_allowed_hosts": "127.0.0.1", "tool_calls_per_minute": 2}


@pytest.fixture
def server() -> Iterator[ToolServer]:
    with tool_server() as running:
        yield running


async def test_the_platform_runs_tools_under_the_webhook_address_policy_and_tool_limits(
    platform: Platform, server: ToolServer
) -> None:
    tool = http_tool(server.url("/orders/{order_id}"))
    first = await platform.actions.run(tool_request(tool, {"order_id": "A1"}))
    await platform.actions.run(tool_request(tool, {"order_id": "A2"}))
    third = await platform.actions.run(tool_request(tool, {"order_id": "A3"}))
    assert first.status is ToolCallStatus.OK and first.content["order_id"] == "A1"
    assert third.status is ToolCallStatus.REFUSED and "2 times a minute" in third.content["error"]
    private = await platform.actions.run(tool_request(http_tool("http://10.1.2.3/x"), {}))
    assert private.status is ToolCallStatus.REFUSED


async def test_until_the_secret_store_is_wired_no_secret_resolves(platform: Platform, server: ToolServer) -> None:
    tool = http_tool(server.url("/headers"), headers={"Authorization": "Bearer {{secret:ORDERS_TOKEN}}"})
    outcome = await platform.actions.run(tool_request(tool, {}))
    assert outcome.status is ToolCallStatus.ERROR and outcome.summary == "error: secret ORDERS_TOKEN is not set"
    assert server.requests == []


def test_tool_limits_come_from_the_environment_and_are_validated() -> None:
    settings = load_settings({})
    assert (
        settings.tool_calls_per_minute,
        settings.tool_concurrency_per_tenant,
        settings.tool_concurrency_per_tool,
    ) == (60, 8, 4)
    custom = load_settings({"ORATIO_TOOL_CALLS_PER_MINUTE": "10", "ORATIO_TOOL_CONCURRENCY_PER_TENANT": "3"})
    assert (custom.tool_calls_per_minute, custom.tool_concurrency_per_tenant) == (10, 3)
    with pytest.raises(ConfigError, match="ORATIO_TOOL_CONCURRENCY_PER_TOOL"):
        load_settings({"ORATIO_TOOL_CONCURRENCY_PER_TOOL": "0"})
