"""Security (issue 15, item 4): one tenant cannot suppress or delay another tenant's handoff alerts.

Before the outbox, every tenant shared 4 delivery workers and a 256-slot queue: a tenant whose
webhook never answered held the workers and filled the queue, and other tenants' alerts waited or
were dropped. Here tenant A's webhooks go to two real listeners on 127.0.0.1 that accept the
connection and never answer, while A keeps handing off; tenant B's alerts must all arrive within a
bound far below A's webhook timeout, and none of A's are lost (they stay pending, to be retried).
Runs on SQLite and on DynamoDB (moto_server).
"""

from __future__ import annotations

import json

import pytest

from oratio.notify.address_policy import WebhookPolicy
from oratio.notify.signing import WebhookSecrets
from oratio.notify.webhooks import WebhookSender
from oratio.platform import Platform
from oratio.services.handoff import HandoffService
from oratio.services.outbox import OutboxLimits
from schemas import AgentSpec, AgentStatus, Channel, CreateAgent, DeliveryStatus, HandoffConfig
from tests.notify.servers import HOST, silent_listener, webhook_receiver
from tests.support.platforms import BOTH_BACKENDS, FakeClock
from tests.support.tenants import SOP, Tenancy

HANG_S = 60.0
"""Tenant A's webhook timeout: longer than the whole test, so A's deliveries hang throughout."""
BOUND_S = 30.0
"""How long B's alerts may take at most (they take well under a second when nothing blocks them)."""
A_HANDOFFS = 24
B_HANDOFFS = 8


@pytest.fixture(params=BOTH_BACKENDS)
def platform_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture
def platform_clock(clock: FakeClock) -> FakeClock:
    return clock


def hand_off_many(
    oratio: Platform, service: HandoffService, tenancy: Tenancy, url: str, name: str, n: int
) -> list[str]:
    config = HandoffConfig(enabled=True, webhook_url=url)
    agent = oratio.agents.create(tenancy.principal, CreateAgent(spec=AgentSpec(name=name, sop=SOP, handoff=config)))
    agent = oratio.agents.transition(tenancy.tenant_id, agent.id, AgentStatus.ACTIVE, reason=None)
    ids = []
    for _ in range(n):
        session = oratio.sessions.start(tenancy.tenant_id, agent.id, Channel.TEXT)
        service.request(tenancy.tenant_id, session.id, "customer asks for a person")
        ids.append(session.id)
    return ids


def test_a_tenant_whose_webhooks_hang_cannot_hold_up_another_tenants_alerts(
    platform: Platform,
    acme: Tenancy,
    globex: Tenancy,
) -> None:
    hooks = WebhookSender(WebhookSecrets("w" * 40), policy=WebhookPolicy(allow_private=True), timeout_s=HANG_S)
    limits = OutboxLimits(workers=6, per_destination=2, per_tenant=4, max_attempts=3, backoff_base_s=0, backoff_max_s=0)
    service = HandoffService(platform.backends, platform.sessions, platform.notifications, None, hooks, limits=limits)
    with silent_listener() as hang_1, silent_listener() as hang_2, webhook_receiver() as good:
        try:
            stuck = hand_off_many(platform, service, acme, f"http://{HOST}:{hang_1}/a", "Stuck One", A_HANDOFFS // 2)
            stuck += hand_off_many(platform, service, acme, f"http://{HOST}:{hang_2}/a", "Stuck Two", A_HANDOFFS // 2)
            wanted = hand_off_many(platform, service, globex, good.url("/b"), "Prompt", B_HANDOFFS)

            assert good.wait_for(B_HANDOFFS, BOUND_S), f"only {len(good.requests)} of B's alerts arrived"
            assert {json.loads(r.body)["data"]["session_id"] for r in good.requests} == set(wanted)
            a_rows = platform.deliveries.list(acme.principal, limit=100).items
            assert len(a_rows) == len(stuck)  # every one of A's alerts is kept
            assert {row.status for row in a_rows} == {DeliveryStatus.PENDING}  # none given up while hanging
            assert sum(row.attempts > 0 for row in a_rows) <= limits.per_tenant  # A holds at most its cap
        finally:
            service.close(0.1)  # A's sends are still hanging; their rows stay pending in the store
