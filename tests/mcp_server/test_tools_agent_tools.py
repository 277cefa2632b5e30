"""An agent's tools through a real MCP client: list, add, update, remove, test, and OpenAPI import."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from creator_agent.models import attach_creator
from mcp_server import OperatorPrincipal, build_server
from mcp_server.tools.agent_tools import AgentTools, OperationList
from oratio.actions import ToolOutcome, ToolRequest
from oratio.notify.address_policy import WebhookPolicy
from oratio.platform import Platform
from oratio.services.agent_tools import ToolService
from schemas import Agent, AgentStatus, HttpTool, Principal, Scope, ToolCallStatus, ToolTestResult
from tests.support.mcp import call, call_as, call_error, spec

pytestmark = pytest.mark.anyio

CORPUS = Path(__file__).parent.parent / "actions" / "openapi_corpus"
LOOKUP = {
    "name": "get_order",
    "description": "Look up an order by its id: status and delivery date",
    "url": "https://api.shop.example/orders/{order_id}",
    "parameters": {
        "type": "object",
        "properties": {"order_id": {"type": "string", "pattern": "^A[0-9]{3}$"}},
        "required": ["order_id"],
    },
    "headers": {"Authorization": "Bearer {{secret:SHOP_TOKEN}}"},
}
CANCEL = {
    **LOOKUP,
    "name": "cancel_order",
    "description": "Cancel an order that has not shipped",
    "method": "POST",
    "url": "https://api.shop.example/orders/{order_id}/cancel",
    "write": True,
}


def resolve(host: str, port: int) -> Sequence[str]:
    if host != "api.shop.example":
        raise OSError(f"{host} did not resolve")
    return ["93.184.215.14"]


class Secrets:
    def missing(self, tenant_id: str, names: Iterable[str]) -> list[str]:
        return sorted(set(names) - {"SHOP_TOKEN", "BEARER_AUTH"})


class RecordingRunner:
    def __init__(self) -> None:
        self.requests: list[ToolRequest] = []

    async def run(self, request: ToolRequest) -> ToolOutcome:
        self.requests.append(request)
        return ToolOutcome(
            status=ToolCallStatus.OK, content={"status": "cancelled"}, summary="cancelled", duration_ms=3.0
        )


@pytest.fixture
def runner() -> RecordingRunner:
    return RecordingRunner()


def with_tools(platform: Platform, runner: RecordingRunner) -> Platform:
    service = ToolService(platform.agents, policy=WebhookPolicy(), actions=runner, secrets=Secrets(), resolve=resolve)
    return dataclasses.replace(platform, agent_tools=service)


@pytest.fixture
async def admin(platform: Platform, acme: Principal, runner: RecordingRunner) -> AsyncIterator[Client]:
    async with Client(build_server(with_tools(platform, runner), OperatorPrincipal(acme))) as connected:
        yield connected


async def new_agent(client: Client) -> Agent:
    return await call_as(client, "create_agent", {"spec": spec()}, Agent)


async def listed(client: Client, agent_id: str) -> list[str]:
    tools = await call_as(client, "list_agent_tools", {"agent_id": agent_id}, AgentTools)
    return [t.name for t in tools.tools]


async def test_add_update_remove_and_list(admin: Client) -> None:
    agent = await new_agent(admin)

    added = await call_as(admin, "add_agent_tool", {"agent_id": agent.id, "tool": LOOKUP}, Agent)
    assert [t.name for t in added.spec.tools] == ["get_order"]
    await call_as(admin, "add_agent_tool", {"agent_id": agent.id, "tool": CANCEL}, Agent)
    assert await listed(admin, agent.id) == ["get_order", "cancel_order"]
    tools = await call_as(admin, "list_agent_tools", {"agent_id": agent.id}, AgentTools)
    assert isinstance(tools.tools[1], HttpTool) and tools.tools[1].write
    assert tools.tools[0].headers == {"Authorization": "Bearer {{secret:SHOP_TOKEN}}"}  # type: ignore[union-attr]

    changed = await call_as(
        admin,
        "update_agent_tool",
        {"agent_id": agent.id, "name": "get_order", "changes": {"name": "find_order", "timeout_seconds": 4}},
        Agent,
    )
    assert [t.name for t in changed.spec.tools] == ["find_order", "cancel_order"]
    removed = await call_as(admin, "remove_agent_tool", {"agent_id": agent.id, "name": "cancel_order"}, Agent)
    assert [t.name for t in removed.spec.tools] == ["find_order"]


async def test_a_change_reports_progress_like_update_agent(admin: Client) -> None:
    agent = await new_agent(admin)
    updates: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append(message or "")

    result = await admin.call_tool(
        "add_agent_tool", {"agent_id": agent.id, "tool": LOOKUP}, progress_callback=on_progress
    )

    assert not result.is_error
    assert any("no model is configured on the server" in m for m in updates)  # this server has no AgentCreator


async def test_errors_name_the_field(admin: Client) -> None:
    agent = await new_agent(admin)
    await call_as(admin, "add_agent_tool", {"agent_id": agent.id, "tool": LOOKUP}, Agent)

    cases: list[tuple[str, dict[str, Any], str]] = [
        ("add_agent_tool", {"agent_id": agent.id, "tool": LOOKUP}, "conflict: agent '"),
        (
            "add_agent_tool",
            {"agent_id": agent.id, "tool": {**CANCEL, "url": "http://127.0.0.1/orders"}},
            "invalid_input: tool 'cancel_order'.url: refused by the address policy",
        ),
        (
            "add_agent_tool",
            {"agent_id": agent.id, "tool": {**CANCEL, "headers": {"X-Key": "{{secret:NOT_SET}}"}}},
            "invalid_input: tool 'cancel_order' refers to secret(s) not set: NOT_SET",
        ),
        (
            "update_agent_tool",
            {"agent_id": agent.id, "name": "nope", "changes": {"timeout_seconds": 3}},
            "not_found: agent '",
        ),
        (
            "update_agent_tool",
            {"agent_id": agent.id, "name": "get_order", "changes": {"timeout_seconds": 300}},
            "invalid_input: changes.http.timeout_seconds:",
        ),
        ("remove_agent_tool", {"agent_id": agent.id, "name": "nope"}, "not_found: agent '"),
        (
            "import_openapi_tools",
            {"agent_id": agent.id, "spec": (CORPUS / "missing_ref.yaml").read_text(), "operations": ["getOrder"]},
            "invalid_input: paths./orders/{id}.get.parameters[1].schema: $ref '#/components/schemas/Nope' not found",
        ),
        (
            "list_openapi_operations",
            {"spec": (CORPUS / "bomb.yaml").read_text()},
            "invalid_input: line 3 column 4: YAML anchors (&a) are not accepted",
        ),
    ]
    for name, arguments, expected in cases:
        text = await call_error(admin, name, arguments)
        assert text.startswith(f"Error executing tool {name}: "), text
        assert expected in text, (name, text)
        assert "Traceback" not in text and "\n" not in text
    # A malformed argument is refused by the SDK before the tool runs, naming the field.
    text = await call_error(admin, "add_agent_tool", {"agent_id": agent.id, "tool": {**LOOKUP, "name": "x"}})
    assert "tool.http.name" in text and "Traceback" not in text and len(text) < 600


async def test_test_agent_tool_dry_run_and_send(admin: Client, runner: RecordingRunner) -> None:
    agent = await new_agent(admin)
    await call_as(admin, "add_agent_tool", {"agent_id": agent.id, "tool": CANCEL}, Agent)
    arguments = {"agent_id": agent.id, "name": "cancel_order", "arguments": {"order_id": "A123"}}

    dry = await call_as(admin, "test_agent_tool", arguments, ToolTestResult)
    assert (dry.valid, dry.sent) == (True, False)
    assert dry.request == {
        "method": "POST",
        "url": "https://api.shop.example/orders/A123/cancel",
        "headers": {
            "User-Agent": "Oratio-Tools/1",
            "Accept": "application/json, text/*;q=0.5",
            "Content-Type": "application/json",
            "Authorization": "Bearer {{secret:SHOP_TOKEN}}",
        },
        "body": {},
    }
    invalid = await call_as(admin, "test_agent_tool", {**arguments, "arguments": {"order_id": "nope"}}, ToolTestResult)
    assert not invalid.valid and invalid.errors == ["order_id: 'nope' does not match ^A[0-9]{3}$"]
    refused = await call_error(admin, "test_agent_tool", {**arguments, "send": True})
    assert "write action" in refused and "confirm_write=true" in refused
    assert runner.requests == []

    sent = await call_as(admin, "test_agent_tool", {**arguments, "send": True, "confirm_write": True}, ToolTestResult)
    assert (sent.sent, sent.status, sent.result) == (True, ToolCallStatus.OK, {"status": "cancelled"})
    [request] = runner.requests
    assert request.tool.name == "cancel_order" and dict(request.arguments) == {"order_id": "A123"}


async def test_openapi_list_then_import(admin: Client) -> None:
    agent = await new_agent(admin)
    text = (CORPUS / "orders31.json").read_text()

    operations = await call_as(admin, "list_openapi_operations", {"spec": text}, OperationList)
    assert operations.total == 4
    assert [(o.key, o.tool_name, o.write) for o in operations.operations][:2] == [
        ("GET /orders/{id}", "get_order", False),
        ("POST /orders/{id}/cancel", "cancel_order", True),
    ]

    imported = await call_as(
        admin,
        "import_openapi_tools",
        {
            "agent_id": agent.id,
            "spec": text,
            "operations": ["get-order", "POST /orders/{id}/cancel"],
            "base_url": "https://api.shop.example/v2",
        },
        Agent,
    )
    assert [t.name for t in imported.spec.tools] == ["get_order", "cancel_order"]
    again = await call_error(
        admin,
        "import_openapi_tools",
        {"agent_id": agent.id, "spec": text, "operations": ["get-order"], "base_url": "https://api.shop.example"},
    )
    assert "replace=true" in again
    replaced = await call_as(
        admin,
        "import_openapi_tools",
        {
            "agent_id": agent.id,
            "spec": text,
            "operations": ["get-order"],
            "base_url": "https://api.shop.example",
            "replace": True,
        },
        Agent,
    )
    urls = [t.url for t in replaced.spec.tools if isinstance(t, HttpTool)]
    assert urls == ["https://api.shop.example/v2/orders/{id}/cancel", "https://api.shop.example/orders/{id}"]


async def test_another_tenant_cannot_see_or_change_the_tools(admin: Client, rival: Client) -> None:
    agent = await new_agent(admin)
    await call_as(admin, "add_agent_tool", {"agent_id": agent.id, "tool": LOOKUP}, Agent)

    calls: list[tuple[str, dict[str, Any]]] = [
        ("list_agent_tools", {"agent_id": agent.id}),
        ("remove_agent_tool", {"agent_id": agent.id, "name": "get_order"}),
        ("test_agent_tool", {"agent_id": agent.id, "name": "get_order", "arguments": {"order_id": "A123"}}),
    ]
    for name, arguments in calls:
        assert "not_found" in await call_error(rival, name, arguments)
    assert await listed(admin, agent.id) == ["get_order"]


class TestRebuild:
    """With the AgentCreator attached, a tool change rebuilds the agent into a new version, like an SOP change."""

    @pytest.fixture
    def platform_settings(self) -> dict[str, Any]:
        return {"model": "scripted"}

    @pytest.fixture
    async def builder_admin(self, platform: Platform, runner: RecordingRunner) -> AsyncIterator[Client]:
        built = attach_creator(with_tools(platform, runner))
        tenant = built.tenants.create_tenant("Acme")
        principal = Principal(tenant_id=tenant.tenant_id, subject="operator", scopes=frozenset({Scope.ADMIN}))
        async with Client(build_server(built, OperatorPrincipal(principal))) as client:
            yield client

    async def test_adding_a_tool_rebuilds_into_a_new_version(self, builder_admin: Client) -> None:
        agent = await call_as(builder_admin, "create_agent", {"spec": spec("Desk")}, Agent)
        assert (agent.status, agent.artifact_version) == (AgentStatus.ACTIVE, 1)

        rebuilt = await call_as(builder_admin, "add_agent_tool", {"agent_id": agent.id, "tool": LOOKUP}, Agent)

        assert (rebuilt.status, rebuilt.artifact_version) == (AgentStatus.ACTIVE, 2)
        assert [t.name for t in rebuilt.spec.tools] == ["get_order"]
        records = await call(builder_admin, "get_creation_records", {"agent_id": agent.id})
        assert [r["version"] for r in records["records"]] == [1, 2]
