"""Delivery tools: the admin sees dead letters (with the last error, never a webhook path) and retries one."""

from __future__ import annotations

import pytest
from mcp import Client

from mcp_server.tools.deliveries import DeliveryList
from oratio.platform import Platform
from schemas import AgentSpec, AgentStatus, Channel, CreateAgent, DeliveryStatus, DeliveryView, HandoffConfig, Principal
from tests.support.mcp import call_as, call_error
from tests.support.tenants import SOP

pytestmark = pytest.mark.anyio

FLUSH_S = 30.0
# The platform's default policy refuses private addresses, so this delivery is dead on its first attempt.
HOOK = "http://127.0.0.1:9/receiver-secret-path?token=hush"


def dead_handoff(platform: Platform, tenant: Principal) -> None:
    config = HandoffConfig(enabled=True, webhook_url=HOOK)
    agent = platform.agents.create(tenant, CreateAgent(spec=AgentSpec(name="Desk", sop=SOP, handoff=config)))
    platform.agents.transition(tenant.tenant_id, agent.id, AgentStatus.ACTIVE, reason=None)
    session = platform.sessions.start(tenant.tenant_id, agent.id, Channel.TEXT)
    platform.handoff.request(tenant.tenant_id, session.id, "wants a person")
    assert platform.handoff.flush(FLUSH_S)


async def test_dead_letters_are_listed_with_their_error_and_can_be_retried(
    client: Client, rival: Client, platform: Platform, acme: Principal
) -> None:
    dead_handoff(platform, acme)

    listed = await call_as(client, "list_deliveries", {"status": "dead"}, DeliveryList)
    [dead] = listed.deliveries
    assert (dead.kind.value, dead.destination, dead.attempts) == ("webhook", "http://127.0.0.1:9", 1)
    assert dead.last_error is not None and "private or reserved address" in dead.last_error
    assert dead.idempotency_key == dead.id and dead.finished_at is not None
    assert "receiver-secret-path" not in listed.model_dump_json() and "hush" not in listed.model_dump_json()
    assert (await call_as(rival, "list_deliveries", {}, DeliveryList)).deliveries == []
    assert (await call_error(rival, "retry_delivery", {"delivery_id": dead.id})).startswith(
        "Error executing tool retry_delivery: not_found:"
    )

    revived = await call_as(client, "retry_delivery", {"delivery_id": dead.id}, DeliveryView)
    assert (revived.status, revived.attempts, revived.idempotency_key) == (DeliveryStatus.PENDING, 0, dead.id)
    assert platform.handoff.flush(FLUSH_S)
    [again] = (await call_as(client, "list_deliveries", {}, DeliveryList)).deliveries
    assert (again.id, again.status, again.attempts) == (dead.id, DeliveryStatus.DEAD, 1)


async def test_only_dead_deliveries_are_retried(client: Client) -> None:
    text = await call_error(client, "retry_delivery", {"delivery_id": "dlv_01aaaaaaaaaaaaaaaaaaaaaaaa"})
    assert text.startswith("Error executing tool retry_delivery: not_found:"), text
