"""An unacknowledged handoff escalates once, after its agent's `escalate_after_seconds`, through the outbox.

The platform's clock is a FakeClock moved by hand (no sleeps); the webhook goes to a real HTTP
receiver on 127.0.0.1 and the test waits for the outbox with `flush`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest

from oratio.notify.address_policy import WebhookPolicy
from oratio.notify.signing import WebhookSecrets
from oratio.notify.webhooks import EVENT_HEADER, WebhookSender
from oratio.platform import Platform
from oratio.services.handoff import HandoffService
from oratio.services.outbox import OutboxLimits
from schemas import AgentSpec, AgentStatus, Channel, CreateAgent, EventType, HandoffConfig, Session
from tests.notify.servers import Receiver, webhook_receiver
from tests.support.platforms import FakeClock
from tests.support.tenants import SOP, Tenancy, events

FLUSH_TIMEOUT_S = 30.0


@pytest.fixture
def platform_clock(clock: FakeClock) -> Callable[[], datetime]:
    return clock


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as r:
        yield r


@pytest.fixture
def service(platform: Platform) -> Iterator[HandoffService]:
    hooks = WebhookSender(WebhookSecrets("w" * 40), policy=WebhookPolicy(allow_private=True), timeout_s=5)
    limits = OutboxLimits(workers=1, max_attempts=2, backoff_base_s=0, backoff_max_s=0)
    built = HandoffService(platform.backends, platform.sessions, platform.notifications, None, hooks, limits=limits)
    yield built
    assert built.close(FLUSH_TIMEOUT_S)


def _requested(platform: Platform, acme: Tenancy, service: HandoffService, receiver: Receiver) -> Session:
    config = HandoffConfig(enabled=True, webhook_url=receiver.url("/hooks"), escalate_after_seconds=120)
    agent = platform.agents.create(acme.principal, CreateAgent(spec=AgentSpec(name="Desk", sop=SOP, handoff=config)))
    platform.agents.transition(acme.tenant_id, agent.id, AgentStatus.ACTIVE, reason=None)
    session = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    service.request(acme.tenant_id, session.id, "customer asked for a person")
    assert service.flush(FLUSH_TIMEOUT_S)
    return session


def _events_sent(receiver: Receiver) -> list[str]:
    return [r.headers[EVENT_HEADER.lower()] for r in receiver.requests]


def test_an_unacknowledged_handoff_escalates_once_after_its_time(
    platform: Platform, acme: Tenancy, clock: FakeClock, service: HandoffService, receiver: Receiver
) -> None:
    session = _requested(platform, acme, service, receiver)

    clock.advance(timedelta(seconds=119))
    early = service.escalate_due()
    clock.advance(timedelta(seconds=2))
    due = service.escalate_due()
    again = service.escalate_due()  # a second replica's sweep, or the next interval
    assert service.flush(FLUSH_TIMEOUT_S)

    assert (early, due, again) == (0, 1, 0)
    assert _events_sent(receiver) == ["handoff.requested", "handoff.escalated"]
    envelope = json.loads(receiver.requests[1].body)
    assert envelope["data"]["session_id"] == session.id
    assert envelope["data"]["reason"].startswith("not acknowledged after 2 min 0 s")
    stored = platform.sessions.get(acme.principal, session.id).session
    assert stored.handoff is not None and stored.handoff.escalated_at == clock()
    escalated = [e for e in events(platform, acme.tenant_id) if e.type is EventType.SESSION_HANDOFF]
    assert [e.data.get("escalated", False) for e in escalated] == [False, True]


def test_an_acknowledged_handoff_never_escalates(
    platform: Platform, acme: Tenancy, clock: FakeClock, service: HandoffService, receiver: Receiver
) -> None:
    session = _requested(platform, acme, service, receiver)
    platform.handoff.acknowledge(acme.principal, session.id)

    clock.advance(timedelta(hours=2))

    assert service.escalate_due() == 0
    assert service.flush(FLUSH_TIMEOUT_S)
    assert _events_sent(receiver) == ["handoff.requested"]
