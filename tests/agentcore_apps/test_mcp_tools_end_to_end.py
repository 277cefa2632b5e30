"""An agent's MCP server tools end to end, every part real: the MCP server is its own process
(tests/support/mcp_test_server.py, streamable HTTP on 127.0.0.1, 401 without the bearer), the bearer is a
tenant secret set through the SecretService, the AgentCreator attached by `attach_creator` discovers the
allowed tools with the platform's one MCP client (`Platform.mcp`), and customers talk to the agent through
the runtime door (real uvicorn) with a scripted model: a lookup runs, a write is held, confirmed with "yes"
and runs once on the server; the transcript keeps both calls; the bearer is in no file, event or log line.

Loopback is let through the address policy the operator's way, `webhook_allowed_hosts` (as in
`tests/support/actions.LOOPBACK_TOOLS`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from strands.models import Model

from creator_agent.models import attach_creator
from oratio.models import CallTool, Say, ScriptedModel, Step, after_tool
from oratio.models.factory import create_model
from oratio.platform import Platform
from oratio.runtime import ModelFactory
from schemas import CreateAgent, CreationRecord, McpServerTool, PendingAction, Role, ToolCallStatus, Turn
from tests.support.actions import LOOPBACK_TOOLS
from tests.support.mcp_test_server import journal, serving_http
from tests.support.orders_tools import orders_spec
from tests.support.secret_scan import LeakScan
from tests.support.tenants import Tenancy, mint

TOKEN = f"mcp-bearer-{secrets.token_hex(16)}"
STATEMENT = "To confirm: I will cancel an order that has not shipped yet with order id A123 and reason damaged."
CANCEL = CallTool("orders_cancel_order", {"order_id": "A123", "reason": "damaged"})
BUILD_BOUND_S = 120.0
"""Only keeps a broken build from hanging; nothing here asserts on time."""


class Models:
    """The engine's model factory: the offline models while the AgentCreator builds and rehearses, then
    `scripted` (set by the test) for the customers' turns."""

    def __init__(self) -> None:
        self.scripted: ScriptedModel | None = None
        self.settings: Any = None

    def __call__(self, spec: str) -> Model:
        if self.scripted is not None:
            return self.scripted
        return create_model(spec, self.settings)


@pytest.fixture
def models() -> Models:
    return Models()


@pytest.fixture
def platform_models(models: Models) -> ModelFactory:
    return models


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"model": "scripted", **LOOPBACK_TOOLS}


@pytest.fixture
def journal_file(tmp_path: Path) -> Path:
    return tmp_path / "mcp-journal.jsonl"


@pytest.fixture
def port(journal_file: Path) -> Iterator[int]:
    with serving_http(TOKEN, journal=journal_file) as bound:
        yield bound


def orders_server(port: int) -> McpServerTool:
    return McpServerTool.model_validate(
        {
            "kind": "mcp",
            "name": "orders",
            "description": "Acme's order system.",
            "url": f"http://127.0.0.1:{port}/mcp",
            "bearer_secret": "ORDERS_TOKEN",
            "allowed_tools": ["find_order", "cancel_order"],
            "read_only_tools": ["find_order"],
            "timeout_seconds": 10,
        }
    )


def tell(result: str) -> Step:
    return Say(f"Here is what happened: {result}")


def test_an_mcp_agent_built_by_the_creator_looks_up_and_writes_after_a_yes_and_never_leaks_the_bearer(
    platform: Platform,
    models: Models,
    acme: Tenancy,
    http: httpx.Client,
    port: int,
    journal_file: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    models.settings = platform.settings
    platform.secrets.put(acme.principal, "ORDERS_TOKEN", TOKEN)
    created = platform.agents.create(acme.principal, CreateAgent(spec=orders_spec(tools=[orders_server(port)])))

    # The AgentCreator as the composition root attaches it: discovery through the platform's MCP client.
    builder = attach_creator(platform).builder
    assert builder is not None

    async def build() -> CreationRecord:
        with anyio.fail_after(BUILD_BOUND_S):
            return await builder.create(acme.tenant_id, created.id)

    record = anyio.run(build)
    assert record.succeeded is True, record.failure
    plan = platform.plans.artifact(acme.principal, created.id, 1).plan
    assert [(t.name, t.tool, t.write) for t in plan.mcp_tools] == [
        ("orders_find_order", "find_order", False),
        ("orders_cancel_order", "cancel_order", True),
    ]
    assert journal(journal_file) == []  # discovery lists tools; the rehearsals ran on the sandbox, not the server

    agent = platform.agents.get(acme.principal, created.id)
    key, _ = mint(platform, acme, agent)
    model = models.scripted = ScriptedModel()

    def say(message: str, session_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"agent_id": agent.id, "message": message}
        if session_id is not None:
            body["session_id"] = session_id
        response = http.post("/invocations", json=body, headers={"X-Api-Key": key})
        assert response.status_code == 200, response.text
        reply: dict[str, Any] = response.json()
        return reply

    def pending(session_id: str) -> PendingAction | None:
        return platform.sessions.get(acme.principal, session_id).session.pending_action

    # A read-only tool runs on the server at once.
    model.add(CallTool("orders_find_order", {"order_id": "A123"}), after_tool("orders_find_order", tell))
    first = say("where is my order A123?")
    session_id = first["session_id"]
    assert "shipped" in first["reply"]
    assert journal(journal_file) == [{"tool": "find_order", "arguments": {"order_id": "A123"}}]

    # A write is held: nothing runs, the customer is told in code what would happen.
    model.add(CANCEL, Say("I can cancel that for you."))
    second = say("please cancel order A123, it arrived damaged", session_id)
    assert STATEMENT in second["reply"]
    assert len(journal(journal_file)) == 1
    held = pending(session_id)
    assert held is not None and held.tool == "orders_cancel_order"

    # "yes": it runs once, exactly the held arguments, and the model tells the customer how it went.
    model.add(CANCEL, after_tool("orders_cancel_order", tell))  # asking again in this turn runs nothing twice
    third = say("yes", session_id)
    assert "cancelled" in third["reply"]
    assert pending(session_id) is None
    assert journal(journal_file)[1:] == [
        {"tool": "cancel_order", "arguments": {"order_id": "A123", "reason": "damaged"}}
    ]

    # The transcript shows both calls on the agent's turns.
    turns: list[Turn] = platform.sessions.get(acme.principal, session_id).turns
    calls = [(c.name, c.status, c.write, c.confirmed) for t in turns if t.role is Role.AGENT for c in t.tool_calls]
    assert calls == [
        ("orders_find_order", ToolCallStatus.OK, False, False),
        ("orders_cancel_order", ToolCallStatus.AWAITING_CONFIRMATION, True, False),
        ("orders_cancel_order", ToolCallStatus.OK, True, True),
    ]

    # The bearer went to the server on every call, and nowhere else.
    scan = LeakScan((TOKEN,))
    scan.files(platform.settings.data_dir)
    scan.events(platform.backends.events, [acme.tenant_id])
    scan.logs(caplog.records, client_side=())  # here the platform is the MCP client: its logs count
    for turn in turns:
        scan.text(f"turn {turn.seq}", turn.model_dump_json())
    scan.assert_clean()
