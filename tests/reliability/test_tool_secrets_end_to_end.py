"""An agent's tools end to end through the runtime door, on the platform's real ActionRunner, with a tenant
secret in the tools' headers (issue 18: secrets never appear in any record, event, log, error, transcript).

HTTP in at /invocations (real uvicorn), the real engine and gate (scripted model), the real runner
(schema check with a RE2 `pattern`, limits, address policy, HTTP runner) calling a real loopback
service that records what it received. The secret is resolved by a dict-backed SecretResolver passed
to `build_services(secrets=...)` (the `platform_secrets` fixture). It is plain words, so nothing but the
platform knowing it is a secret can keep it out of what is stored: the generic secret scan would not.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agentcore_apps.app import create_runtime_app
from oratio.actions import SecretResolver
from oratio.models import CallTool, Say, ScriptedModel, after_tool
from oratio.platform import Platform
from oratio.runtime import ModelFactory
from schemas import AgentPlan, HttpMethod, HttpTool, ToolCallStatus
from tests.support.actions import LOOPBACK_TOOLS, ORDER_ID, cancels
from tests.support.serving import serving
from tests.support.tenants import Tenancy, events, mint, new_agent
from tests.support.tool_server import DictSecrets, ToolServer, tool_server

SECRET = "plainwords-orders-desk-passphrase"
BEARER = {"Authorization": "Bearer {{secret:ORDERS_TOKEN}}"}


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
def secret_values() -> dict[tuple[str, str], str]:
    return {}


@pytest.fixture
def platform_secrets(secret_values: dict[tuple[str, str], str]) -> SecretResolver:
    return DictSecrets(secret_values)


@pytest.fixture
def service() -> Iterator[ToolServer]:
    with tool_server() as running:
        yield running


def desk_plan(service: ToolServer) -> AgentPlan:
    return AgentPlan(
        persona="Acme's orders assistant",
        system_prompt="You are Acme's orders assistant. Use your tools to look up and cancel orders.",
        actions=[
            HttpTool(
                name="lookup_order",
                description="Look up an order's status by its id.",
                url=service.url("/orders/{order_id}"),
                headers=BEARER,
                parameters={"type": "object", "properties": {"order_id": ORDER_ID}, "required": ["order_id"]},
            ),
            HttpTool(
                name="check_access",
                description="Check that the orders system accepts our credentials.",
                url=service.url("/headers"),  # an endpoint that echoes what it received, credentials included
                headers=BEARER,
            ),
            HttpTool(
                name="cancel_order",
                description="Cancel an order that has not shipped yet.",
                url=service.url("/orders/{order_id}/cancel"),
                method=HttpMethod.POST,
                write=True,
                headers=BEARER,
                parameters={
                    "type": "object",
                    "properties": {"order_id": ORDER_ID, "reason": {"type": "string"}},
                    "required": ["order_id", "reason"],
                },
            ),
        ],
    )


def echo(text: str) -> Say:
    return Say(f"The system said: {text}")


def test_a_secret_reaches_the_service_and_nothing_the_platform_keeps_or_says(
    platform: Platform,
    acme: Tenancy,
    model: ScriptedModel,
    service: ToolServer,
    secret_values: dict[tuple[str, str], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret_values[(acme.tenant_id, "ORDERS_TOKEN")] = SECRET
    agent = new_agent(platform, acme, "Orders", plan=desk_plan(service))
    key, _ = mint(platform, acme, agent)
    cancel = {"order_id": "A123", "reason": "damaged"}
    model.add(
        CallTool("lookup_order", {"order_id": "12"}),  # refused by the schema's pattern: nothing is sent
        CallTool("lookup_order", {"order_id": "A123"}),
        CallTool("check_access", {}),
        after_tool("check_access", echo),
    )
    model.add(CallTool("cancel_order", cancel), Say("I can cancel it."))
    model.add(after_tool("cancel_order", echo))
    caplog.set_level(logging.DEBUG)
    replies: list[dict[str, Any]] = []
    with serving(create_runtime_app(platform)) as served, httpx.Client(base_url=served.base_url, timeout=30) as http:
        session_id: str | None = None
        for message in ("where is my order A123? is my account fine?", "cancel A123, it arrived damaged", "yes"):
            body: dict[str, Any] = {"agent_id": agent.id, "message": message}
            if session_id is not None:
                body["session_id"] = session_id
            response = http.post("/invocations", json=body, headers={"X-Api-Key": key})
            assert response.status_code == 200, response.text
            replies.append(response.json())
            session_id = replies[-1]["session_id"]
    assert session_id is not None

    # The secret reached the service, in every call that named it, and the write ran once, confirmed.
    assert [(r.method, r.path) for r in service.requests] == [
        ("GET", "/orders/A123"),
        ("GET", "/headers"),
        ("POST", "/orders/A123/cancel"),
    ]
    assert {r.headers["authorization"] for r in service.requests} == {f"Bearer {SECRET}"}
    assert cancels(service) == [("/orders/A123/cancel", {"reason": "damaged"})]
    found = platform.sessions.get(acme.principal, session_id)
    calls = [c for turn in found.turns for c in turn.tool_calls]
    assert [(c.name, c.status, c.confirmed) for c in calls] == [
        ("lookup_order", ToolCallStatus.INVALID_ARGUMENTS, False),
        ("lookup_order", ToolCallStatus.OK, False),
        ("check_access", ToolCallStatus.OK, False),
        ("cancel_order", ToolCallStatus.AWAITING_CONFIRMATION, False),
        ("cancel_order", ToolCallStatus.OK, True),
    ]
    assert "cancelled" in replies[-1]["reply"] and found.session.pending_action is None
    # The echoing endpoint's answer reached the model (and the customer) with the secret masked.
    assert "[redacted]" in replies[0]["reply"] and "authorization" in replies[0]["reply"]

    # Nowhere the platform keeps or says anything: replies, transcript, session, events, logs, the model's prompts.
    kept = [
        json.dumps(replies),
        found.model_dump_json(),
        json.dumps([e.model_dump(mode="json") for e in events(platform, acme.tenant_id)]),
        caplog.text,
        json.dumps([prompt.messages for prompt in model.prompts], default=str),
    ]
    for text in kept:
        assert SECRET not in text
