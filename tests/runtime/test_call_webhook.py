"""call_webhook: the admin's endpoint, called with the model's payload, its answer read back by the model."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from oratio.models import CallTool, Say
from oratio.notify.webhooks import WebhookFailed, WebhookReply
from oratio.runtime.engine import ConversationEngine
from schemas import AgentSpec, Channel, CreateAgent, ToolName, WebhookTool
from tests.support.engine import PLAN, SOP, EngineWorld

pytestmark = pytest.mark.anyio

ORDERS = WebhookTool(url="https://orders.acme.example/lookup", description="Looks up an order by its number.")


@dataclass
class OrderSystem:
    """A stand-in for the customer's system: answers like a real endpoint would, records what it got."""

    calls: list[tuple[str, str, Mapping[str, Any]]] = field(default_factory=list)
    down: bool = False

    def call(self, tenant_id: str, url: str, event: str, data: Mapping[str, Any]) -> WebhookReply:
        self.calls.append((tenant_id, url, data))
        if self.down:
            raise WebhookFailed("orders.acme.example: connection refused", attempts=1)
        return WebhookReply(status=200, body=json.dumps({"status": "shipped"}))


def engine_with(world: EngineWorld, orders: OrderSystem) -> ConversationEngine:
    return ConversationEngine(
        agents=world.platform.agents,
        sessions=world.platform.sessions,
        knowledge=world.platform.knowledge,
        backends=world.platform.backends,
        settings=world.platform.settings.model_copy(update={"model": "scripted"}),
        handoffs=world.handoffs,
        model_factory=lambda spec: world.model,
        webhooks=orders,
    )


def webhook_agent(world: EngineWorld, *, configured: bool = True) -> str:
    spec = AgentSpec(name="Orders", sop=SOP, webhook_tool=ORDERS if configured else None)
    agent = world.platform.agents.create(world.principal, CreateAgent(spec=spec))
    plan = PLAN.model_copy(update={"tools": [*PLAN.tools, ToolName.CALL_WEBHOOK]})
    return world.platform.agents.deploy(world.tenant_id, agent.id, plan).id


async def test_the_model_calls_the_admins_endpoint_and_reads_the_answer(world: EngineWorld) -> None:
    orders = OrderSystem()
    agent_id = webhook_agent(world)
    world.model.add(CallTool("call_webhook", {"payload": {"order": "A-17"}}), Say("Your order has shipped."))

    result = await engine_with(world, orders).turn_async(
        world.tenant_id, agent_id, None, "Where is A-17?", Channel.TEXT
    )

    assert result.reply == "Your order has shipped."
    assert orders.calls == [(world.tenant_id, ORDERS.url, {"agent_id": agent_id, "payload": {"order": "A-17"}})]
    [outcome] = world.model.prompts[-1].tool_outcomes()
    answer = json.loads(outcome.text)
    assert (answer["status"], json.loads(answer["body"])) == (200, {"status": "shipped"})


async def test_a_failing_endpoint_is_reported_to_the_model_not_the_customer(world: EngineWorld) -> None:
    orders = OrderSystem(down=True)
    agent_id = webhook_agent(world)
    world.model.add(CallTool("call_webhook", {"payload": {}}), Say("Sorry, I can't check that right now."))

    result = await engine_with(world, orders).turn_async(world.tenant_id, agent_id, None, "Status?", Channel.TEXT)

    assert result.reply == "Sorry, I can't check that right now."
    [outcome] = world.model.prompts[-1].tool_outcomes()
    assert "could not be reached" in outcome.text


async def test_without_an_admin_endpoint_the_tool_is_not_offered(world: EngineWorld) -> None:
    orders = OrderSystem()
    agent_id = webhook_agent(world, configured=False)
    world.model.add(Say("Hello."))

    await engine_with(world, orders).turn_async(world.tenant_id, agent_id, None, "Hi", Channel.TEXT)

    assert "call_webhook" not in world.model.prompts[0].tool_names
    assert orders.calls == []
