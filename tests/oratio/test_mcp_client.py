"""MCP client tools against a real MCP server process (tests/support/mcp_test_server.py), over HTTP and stdio."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from oratio.actions import ToolOutcome, ToolRequest, ToolRunner
from oratio.actions.mcp_client import McpToolRunner, build_mcp_runner, model_tool_name
from oratio.actions.mcp_connect import EraMemo, open_client
from oratio.actions.mcp_errors import McpUnavailable
from oratio.config import McpStdioServer, load_settings
from oratio.errors import ConfigError, InvalidInput, NotFound
from oratio.notify.address_policy import WebhookPolicy
from schemas import HttpTool, McpServerTool, McpToolSnapshot, McpTransport, ToolCallStatus
from schemas.tools import TOOL_NAME_PATTERN
from tests.net import free_port
from tests.support.mcp_test_server import STDIO_COMMAND, serving_http

pytestmark = pytest.mark.anyio

TOKEN = secrets.token_urlsafe(24)
TENANT = "t-acme"
BOUND_S = 20.0
"""Only keeps a broken test from hanging; nothing here asserts on time."""


class DictSecrets:
    """A SecretResolver over a dict (task A's SecretService implements the real one)."""

    def __init__(self, values: dict[tuple[str, str], str]) -> None:
        self.values = values

    def resolve(self, tenant_id: str, name: str) -> str:
        try:
            return self.values[(tenant_id, name)]
        except KeyError:
            raise NotFound.of("secret", name) from None


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with serving_http(TOKEN) as bound:
        yield bound


def server(port: int, **changes: Any) -> McpServerTool:
    fields: dict[str, Any] = {
        "name": "orders",
        "url": f"http://127.0.0.1:{port}/mcp",
        "bearer_secret": "ORDERS_TOKEN",
        "allowed_tools": ["find_order", "cancel_order", "hang", "fail", "big", "leak_token"],
        "read_only_tools": ["find_order"],
        "timeout_seconds": 10,
    }
    return McpServerTool.model_validate(fields | changes)


def runner(token: str = TOKEN, **stdio: McpStdioServer) -> McpToolRunner:
    # The test server is on loopback: the operator's development switch lets it through (the
    # refusals without it are in tests/reliability/test_mcp_client_policy.py).
    return McpToolRunner(
        secrets=DictSecrets({(TENANT, "ORDERS_TOKEN"): token}),
        policy=WebhookPolicy(allow_private=True),
        stdio_servers=stdio,
    )


def snapshot(definition: McpServerTool, tool: str) -> McpToolSnapshot:
    return McpToolSnapshot(server=definition.name, tool=tool, name=model_tool_name(definition.name, tool))


async def call(
    run: McpToolRunner, definition: McpServerTool, tool: str, deadline_s: float | None = None, **arguments: Any
) -> ToolOutcome:
    request = ToolRequest(TENANT, "a-1", "s-1", snapshot(definition, tool), arguments, definition, deadline_s)
    with anyio.fail_after(BOUND_S):
        return await run.run(request)


async def test_discovery_keeps_the_allow_list_and_marks_writes(port: int) -> None:
    definition = server(port, allowed_tools=["find_order", "cancel_order"])
    with anyio.fail_after(BOUND_S):
        found = await runner().discover(TENANT, definition)
    assert [(s.name, s.tool, s.server, s.write) for s in found] == [
        ("orders_find_order", "find_order", "orders", False),
        ("orders_cancel_order", "cancel_order", "orders", True),
    ]
    assert "Look up an order" in found[0].description
    assert found[0].parameters["type"] == "object"
    assert "order_id" in found[0].parameters["properties"]
    assert set(found[1].parameters["required"]) == {"order_id", "reason"}


async def test_discovery_names_an_allowed_tool_the_server_does_not_have(port: int) -> None:
    with anyio.fail_after(BOUND_S), pytest.raises(InvalidInput, match="'refund_order'") as caught:
        await runner().discover(TENANT, server(port, allowed_tools=["find_order", "refund_order"]))
    assert caught.value.field == "allowed_tools"


async def test_discovery_refuses_two_tools_that_would_get_the_same_name(port: int) -> None:
    with anyio.fail_after(BOUND_S), pytest.raises(InvalidInput, match="orders_get_status"):
        await runner().discover(TENANT, server(port, allowed_tools=["Get-Status", "get_status"], read_only_tools=[]))


async def test_discovery_of_a_server_that_is_down_is_a_clear_error() -> None:
    dead = server(free_port())
    with anyio.fail_after(BOUND_S), pytest.raises(McpUnavailable, match="could not be reached"):
        await runner().discover(TENANT, dead)


def test_model_facing_names_fit_the_tool_name_pattern() -> None:
    assert model_tool_name("crm", "Get-Customer.Info") == "crm_get_customer_info"
    assert model_tool_name("crm", "a  -- b") == "crm_a_b"
    long = model_tool_name("crm", "x" * 120)
    assert len(long) == 48
    for name in ("crm_get_customer_info", long, model_tool_name("crm", "Ünïcode-tööl_")):
        assert re.fullmatch(TOOL_NAME_PATTERN, name), name


async def test_a_read_over_http_with_the_bearer_secret(port: int) -> None:
    outcome = await call(runner(), server(port), "find_order", order_id="A123")
    assert outcome.status is ToolCallStatus.OK
    assert outcome.content == {"order_id": "A123", "status": "shipped", "delivery": "2026-12-10"}
    assert "shipped" in outcome.summary


async def test_a_write_runs_with_exactly_the_arguments_given(port: int) -> None:
    outcome = await call(runner(), server(port), "cancel_order", order_id="A123", reason="damaged")
    assert outcome.status is ToolCallStatus.OK
    assert outcome.content == {"result": "order A123 cancelled (damaged)"}


async def test_a_wrong_bearer_secret_is_an_error_outcome(port: int) -> None:
    outcome = await call(runner(token="not-the-token"), server(port), "find_order", order_id="A1")
    assert outcome.status is ToolCallStatus.ERROR
    assert "error" in outcome.content


async def test_a_missing_secret_is_refused_before_connecting(port: int) -> None:
    outcome = await call(runner(), server(port, bearer_secret="OTHER_TOKEN"), "find_order", order_id="A1")
    assert outcome.status is ToolCallStatus.REFUSED
    assert "OTHER_TOKEN" in outcome.content["error"] and "not set" in outcome.content["error"]


async def test_a_tool_error_reaches_the_model_with_its_text(port: int) -> None:
    outcome = await call(runner(), server(port), "fail")
    assert outcome.status is ToolCallStatus.ERROR
    assert "order system is down" in outcome.content["error"]
    assert "order system is down" in outcome.summary


async def test_a_long_result_is_cut_with_a_note_the_model_sees(port: int) -> None:
    outcome = await call(runner(), server(port, max_response_bytes=1000), "big", size=1500)
    assert outcome.status is ToolCallStatus.OK
    assert len(outcome.content["result"].encode()) == 1000
    assert "cut at 1000 bytes" in outcome.content["note"]
    assert len(outcome.summary) <= 500


async def test_a_result_far_over_the_cap_is_not_read_whole(port: int) -> None:
    outcome = await call(runner(), server(port, max_response_bytes=1000), "big", size=1_000_000)
    assert outcome.status is ToolCallStatus.ERROR
    assert "far over 1000 bytes" in outcome.content["error"]


async def test_a_server_that_echoes_the_token_gets_it_masked(port: int) -> None:
    outcome = await call(runner(), server(port), "leak_token")
    assert outcome.status is ToolCallStatus.OK
    assert TOKEN not in json.dumps(outcome.content) and TOKEN not in outcome.summary
    assert "[redacted]" in json.dumps(outcome.content)


async def test_a_hanging_tool_is_cut_at_the_server_timeout(port: int) -> None:
    outcome = await call(runner(), server(port, timeout_seconds=0.5), "hang")
    assert outcome.status is ToolCallStatus.TIMEOUT
    assert "0.5 seconds" in outcome.content["error"] and "unknown" in outcome.content["error"]


async def test_a_hanging_tool_is_cut_at_the_turn_deadline_when_that_comes_first(port: int) -> None:
    outcome = await call(runner(), server(port, timeout_seconds=30), "hang", deadline_s=0.5)
    assert outcome.status is ToolCallStatus.TIMEOUT
    assert "0.5 seconds" in outcome.content["error"] and "unknown" in outcome.content["error"]


async def test_a_server_that_is_down_is_an_error_outcome() -> None:
    outcome = await call(runner(), server(free_port()), "find_order", order_id="A1")
    assert outcome.status is ToolCallStatus.ERROR
    assert "could not be reached" in outcome.content["error"]


async def test_a_request_for_another_kind_of_tool_is_refused(port: int) -> None:
    http_tool = HttpTool(name="lookup", description="Look up an order.", url="https://orders.example.com/x")
    request = ToolRequest(TENANT, "a-1", None, http_tool, {}, server(port))
    with anyio.fail_after(BOUND_S):
        outcome = await runner().run(request)
    assert outcome.status is ToolCallStatus.REFUSED


STDIO = McpServerTool(
    name="local_orders",
    transport=McpTransport.STDIO,
    server="orders",
    allowed_tools=["find_order", "env_names"],
    read_only_tools=["find_order", "env_names"],
    timeout_seconds=20,
)


async def test_a_call_over_stdio_through_the_operator_registry() -> None:
    run = runner(orders=McpStdioServer(command=STDIO_COMMAND))
    with anyio.fail_after(BOUND_S):
        found = await run.discover(TENANT, STDIO)
    assert [s.name for s in found] == ["local_orders_find_order", "local_orders_env_names"]
    outcome = await call(run, STDIO, "find_order", order_id="B7")
    assert outcome.status is ToolCallStatus.OK
    assert outcome.content["order_id"] == "B7"


async def test_the_runner_built_from_settings_reads_the_stdio_registry() -> None:
    registry = {"orders": {"command": STDIO_COMMAND, "env": {"ORDERS_REGION": "eu"}}}
    settings = load_settings({"ORATIO_MCP_STDIO_SERVERS": json.dumps(registry)})
    outcome = await call(build_mcp_runner(settings, None), STDIO, "env_names")
    assert outcome.status is ToolCallStatus.OK
    assert "ORDERS_REGION" in json.dumps(outcome.content)


def test_the_stdio_registry_setting_is_checked_at_start() -> None:
    with pytest.raises(ConfigError, match="ORATIO_MCP_STDIO_SERVERS"):
        load_settings({"ORATIO_MCP_STDIO_SERVERS": json.dumps({"orders": {"command": []}})})
    with pytest.raises(ConfigError, match="ORATIO_MCP_STDIO_SERVERS"):
        load_settings({"ORATIO_MCP_STDIO_SERVERS": "not json"})


async def test_the_next_connection_skips_the_era_probe_and_still_works(port: int) -> None:
    definition = server(port)
    assert definition.url is not None
    memo = EraMemo()
    policy = WebhookPolicy(allow_private=True)
    with anyio.fail_after(BOUND_S):
        async with open_client(definition, bearer=TOKEN, policy=policy, stdio_servers={}, max_bytes=1000, memo=memo):
            pass
        mode, discovered = memo.get(definition.url)
        assert mode != "auto" and discovered is not None  # the test server speaks the modern protocol
        async with open_client(
            definition, bearer=TOKEN, policy=policy, stdio_servers={}, max_bytes=1000, memo=memo
        ) as client:
            result = await client.call_tool("find_order", {"order_id": "C3"})
    assert result.structured_content == {"order_id": "C3", "status": "shipped", "delivery": "2026-12-10"}


async def test_a_connection_that_fails_forgets_what_was_learned(port: int) -> None:
    definition = server(port)
    assert definition.url is not None
    memo = EraMemo()
    policy = WebhookPolicy(allow_private=True)
    with anyio.fail_after(BOUND_S):
        async with open_client(definition, bearer=TOKEN, policy=policy, stdio_servers={}, max_bytes=1000, memo=memo):
            pass
        with pytest.raises(Exception):  # noqa: B017 - whatever the mcp client raises for a 401
            async with open_client(
                definition, bearer="wrong", policy=policy, stdio_servers={}, max_bytes=1000, memo=memo
            ) as client:
                await client.call_tool("find_order", {"order_id": "C3"})
    assert memo.get(definition.url) == ("auto", None)


def test_no_stdio_servers_are_registered_by_default() -> None:
    assert load_settings({}).mcp_stdio_servers is None
    assert load_settings({}).mcp_stdio_max_processes == 8


async def test_a_server_remembered_as_legacy_is_spoken_to_with_the_initialize_handshake(port: int) -> None:
    definition = server(port)
    assert definition.url is not None
    memo = EraMemo()
    memo.remember(definition.url, ("legacy", None))  # as if the server had answered the probe like a 2025 server
    policy = WebhookPolicy(allow_private=True)
    with anyio.fail_after(BOUND_S):
        async with open_client(
            definition, bearer=TOKEN, policy=policy, stdio_servers={}, max_bytes=1000, memo=memo
        ) as client:
            result = await client.call_tool("find_order", {"order_id": "L1"})
            assert client.session.initialize_result is not None
    assert result.structured_content is not None and result.structured_content["order_id"] == "L1"


def test_the_runner_is_a_tool_runner() -> None:
    run: ToolRunner = runner()  # mypy checks the seam (oratio.actions.ToolRunner); this line runs it
    assert callable(run.run)
