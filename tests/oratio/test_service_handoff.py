"""HandoffService: once per session, the admin notification and events, email and webhook via the outbox.

Email goes to a real aiosmtpd server and webhooks to a real HTTP receiver, both on 127.0.0.1. The
outbox dispatcher delivers on worker threads; tests wait for it with `flush`, which returns as soon
as nothing is due or in flight. Backoff is zero here, so retries are due at once.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator

import pytest

from oratio.errors import InvalidState, NotFound
from oratio.ids import new_id
from oratio.notify.address_policy import WebhookPolicy
from oratio.notify.email import SmtpEmailSender
from oratio.notify.signing import WebhookSecrets
from oratio.notify.signing import verify_signature as verify
from oratio.notify.webhooks import DELIVERY_HEADER, EVENT_HEADER, WebhookSender
from oratio.platform import Platform
from oratio.services.handoff import HandoffService
from oratio.services.outbox import OutboxLimits
from schemas import (
    Agent,
    AgentSpec,
    AgentStatus,
    Channel,
    CreateAgent,
    Event,
    HandoffConfig,
    NotificationType,
    Priority,
    Session,
    SessionStatus,
)
from tests.net import free_port
from tests.notify.servers import HOST, Receiver, SmtpSink, smtp_server, webhook_receiver
from tests.support.platforms import JWT_SECRET
from tests.support.tenants import SOP, Tenancy, events

FLUSH_TIMEOUT_S = 30.0
MASTER = "w" * 40
REASON = "Customer asks for a refund above the agent's limit"
STAFF = ["oncall@acme.example", "lead@acme.example"]


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with smtp_server() as sink:
        yield sink


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as r:
        yield r


def no_sleep(seconds: float) -> None:
    return None


def webhooks(sleep: Callable[[float], None] = no_sleep) -> WebhookSender:
    return WebhookSender(
        WebhookSecrets(MASTER),
        policy=WebhookPolicy(allow_private=True),
        sleep=sleep,
        timeout_s=5,
    )


@pytest.fixture
def services() -> Iterator[list[HandoffService]]:
    """Every HandoffService a test builds, closed at the end so no worker outlives its backends."""
    built: list[HandoffService] = []
    yield built
    for service in built:
        assert service.close(FLUSH_TIMEOUT_S)


def handoff(
    platform: Platform,
    services: list[HandoffService],
    *,
    email: SmtpEmailSender | None = None,
    hooks: WebhookSender | None = None,
    workers: int = 2,
) -> HandoffService:
    limits = OutboxLimits(workers=workers, max_attempts=4, backoff_base_s=0, backoff_max_s=0)
    service = HandoffService(platform.backends, platform.sessions, platform.notifications, email, hooks, limits=limits)
    services.append(service)
    return service


def agent_with(platform: Platform, tenancy: Tenancy, config: HandoffConfig, name: str = "Billing Helper") -> Agent:
    spec = AgentSpec(name=name, sop=SOP, handoff=config)
    agent = platform.agents.create(tenancy.principal, CreateAgent(spec=spec))
    return platform.agents.transition(tenancy.tenant_id, agent.id, AgentStatus.ACTIVE, reason=None)


def live_session(platform: Platform, tenancy: Tenancy, agent: Agent, channel: Channel = Channel.TEXT) -> Session:
    return platform.sessions.start(tenancy.tenant_id, agent.id, channel)


def session_events(platform: Platform, tenancy: Tenancy, session_id: str, type_: str) -> list[Event]:
    return [e for e in events(platform, tenancy.tenant_id) if e.subject == session_id and e.type.value == type_]


def notify_config(*, emails: list[str] | None = None, webhook_url: str | None = None) -> HandoffConfig:
    return HandoffConfig(enabled=True, notify_emails=emails or [], webhook_url=webhook_url)


# -- the request itself ---------------------------------------------------------------------------


def test_request_hands_the_session_over_and_tells_the_admins(
    platform: Platform, acme: Tenancy, services: list[HandoffService]
) -> None:
    agent = agent_with(platform, acme, HandoffConfig(enabled=True))
    session = live_session(platform, acme, agent)

    handoff(platform, services).request(acme.tenant_id, session.id, f"  {REASON}\n")

    stored = platform.sessions.get(acme.principal, session.id).session
    assert (stored.status, stored.ended_at) == (SessionStatus.HANDOFF_REQUESTED, None)
    [notification] = platform.notifications.list(acme.principal).items
    assert (notification.type, notification.priority) == (NotificationType.HANDOFF, Priority.HIGH)
    assert (notification.agent_id, notification.session_id) == (agent.id, session.id)
    assert notification.title == "Handoff requested: Billing Helper"
    assert REASON in notification.body and session.id in notification.body
    [status] = session_events(platform, acme, session.id, "session.status")
    assert status.data == {"status": "handoff_requested", "reason": REASON}
    created = [e for e in events(platform, acme.tenant_id) if e.type.value == "notification.created"]
    assert [e.subject for e in created] == [notification.id]
    assert created[0].data["session_id"] == session.id and created[0].data["type"] == "handoff"


def test_a_caller_on_the_line_is_urgent(platform: Platform, acme: Tenancy, services: list[HandoffService]) -> None:
    agent = agent_with(platform, acme, HandoffConfig(enabled=True))
    session = live_session(platform, acme, agent, Channel.VOICE)

    handoff(platform, services).request(acme.tenant_id, session.id, "")

    [notification] = platform.notifications.list(acme.principal).items
    assert notification.priority is Priority.URGENT
    assert "Reason: no reason given" in notification.body


def test_a_second_request_does_nothing(
    platform: Platform, acme: Tenancy, services: list[HandoffService], smtp: SmtpSink
) -> None:
    agent = agent_with(platform, acme, notify_config(emails=STAFF))
    session = live_session(platform, acme, agent)
    service = handoff(platform, services, email=SmtpEmailSender(HOST, smtp.port, "oratio@example.com"))

    service.request(acme.tenant_id, session.id, REASON)
    assert service.flush(FLUSH_TIMEOUT_S)
    before = events(platform, acme.tenant_id)
    service.request(acme.tenant_id, session.id, "asked again")
    assert service.flush(FLUSH_TIMEOUT_S)

    assert events(platform, acme.tenant_id) == before
    assert len(platform.notifications.list(acme.principal).items) == 1
    assert len(smtp.received) == 1


def test_concurrent_requests_hand_over_once(platform: Platform, acme: Tenancy, services: list[HandoffService]) -> None:
    agent = agent_with(platform, acme, HandoffConfig(enabled=True))
    session = live_session(platform, acme, agent)
    service = handoff(platform, services)
    start = threading.Barrier(4)

    def ask() -> None:
        start.wait(FLUSH_TIMEOUT_S)
        service.request(acme.tenant_id, session.id, REASON)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(FLUSH_TIMEOUT_S)

    assert len(platform.notifications.list(acme.principal).items) == 1
    assert len(session_events(platform, acme, session.id, "session.status")) == 1


def test_ended_and_unknown_sessions_are_refused(
    platform: Platform, acme: Tenancy, globex: Tenancy, services: list[HandoffService]
) -> None:
    agent = agent_with(platform, acme, HandoffConfig(enabled=True))
    session = live_session(platform, acme, agent)
    service = handoff(platform, services)
    platform.sessions.end(acme.tenant_id, session.id)

    with pytest.raises(InvalidState, match="already ended"):
        service.request(acme.tenant_id, session.id, REASON)
    with pytest.raises(NotFound):
        service.request(acme.tenant_id, new_id("session"), REASON)
    with pytest.raises(NotFound):  # another tenant's session reads as unknown
        service.request(globex.tenant_id, session.id, REASON)
    assert platform.notifications.list(acme.principal).items == []


# -- email ----------------------------------------------------------------------------------------


def test_the_agents_staff_get_an_email(
    platform: Platform, acme: Tenancy, services: list[HandoffService], smtp: SmtpSink
) -> None:
    agent = agent_with(platform, acme, notify_config(emails=STAFF))
    session = live_session(platform, acme, agent)
    service = handoff(platform, services, email=SmtpEmailSender(HOST, smtp.port, "oratio@example.com"))

    service.request(acme.tenant_id, session.id, REASON)
    assert service.flush(FLUSH_TIMEOUT_S)

    [mail] = smtp.received
    [delivery] = platform.deliveries.list(acme.principal).items
    assert mail.message["Message-ID"] == delivery.key  # the idempotency key: the same on every retry
    assert mail.rcpt_tos == STAFF
    assert mail.message["Subject"] == "[Oratio] Handoff requested: Billing Helper"
    text = mail.message.get_content()
    assert session.id in text and REASON in text and agent.id in text
    secrets = (JWT_SECRET, MASTER, WebhookSecrets(MASTER).for_tenant(acme.tenant_id))
    assert not any(secret in mail.message.as_string() for secret in secrets)
    assert session_events(platform, acme, session.id, "error") == []


def test_smtp_down_does_not_fail_the_turn_and_is_recorded(
    platform: Platform, acme: Tenancy, services: list[HandoffService], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="oratio")  # our own lines (botocore debug logs dump whole records)
    agent = agent_with(platform, acme, notify_config(emails=STAFF))
    session = live_session(platform, acme, agent)
    port = free_port()  # nothing listens there
    down = SmtpEmailSender(HOST, port, "oratio@example.com", username="oratio", password="pa55-w0rd!", starttls=True)
    service = handoff(platform, services, email=down)

    service.request(acme.tenant_id, session.id, REASON)  # does not raise
    assert service.flush(FLUSH_TIMEOUT_S)

    assert platform.sessions.get(acme.principal, session.id).session.status is SessionStatus.HANDOFF_REQUESTED
    [notification] = platform.notifications.list(acme.principal).items
    [error] = session_events(platform, acme, session.id, "error")
    [dead] = platform.deliveries.list(acme.principal).items
    assert error.data == {
        "source": "handoff.email",
        "message": f"could not send email through SMTP {HOST}:{port} (ConnectionRefusedError)",
        "agent_id": agent.id,
        "notification_id": notification.id,
        "delivery_id": dead.id,
        "attempts": 4,
    }
    assert "pa55-w0rd!" not in caplog.text and "handoff email for session" in caplog.text


def test_emails_configured_without_an_email_backend_are_recorded(
    platform: Platform, acme: Tenancy, services: list[HandoffService]
) -> None:
    agent = agent_with(platform, acme, notify_config(emails=STAFF))
    session = live_session(platform, acme, agent)

    handoff(platform, services).request(acme.tenant_id, session.id, REASON)

    [error] = session_events(platform, acme, session.id, "error")
    assert error.data["source"] == "handoff.email" and "ORATIO_EMAIL" in error.data["message"]


# -- webhooks -------------------------------------------------------------------------------------


def test_the_webhook_gets_a_signed_event(
    platform: Platform,
    acme: Tenancy,
    services: list[HandoffService],
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="oratio")  # our own lines (botocore debug logs dump whole records)
    agent = agent_with(platform, acme, notify_config(webhook_url=receiver.url("/acme/handoffs")))
    session = live_session(platform, acme, agent)
    service = handoff(platform, services, hooks=webhooks())

    service.request(acme.tenant_id, session.id, REASON)
    assert service.flush(FLUSH_TIMEOUT_S)

    [request] = receiver.requests
    [notification] = platform.notifications.list(acme.principal).items
    secret = WebhookSecrets(MASTER).for_tenant(acme.tenant_id)
    assert verify(secret, request.headers["x-oratio-signature"], request.body)
    assert request.headers[EVENT_HEADER.lower()] == "handoff.requested"
    [delivery] = platform.deliveries.list(acme.principal).items
    assert request.headers[DELIVERY_HEADER.lower()] == delivery.key == delivery.id
    envelope = json.loads(request.body)
    assert (envelope["type"], envelope["tenant_id"]) == ("handoff.requested", acme.tenant_id)
    brief = envelope["data"].pop("brief")  # the warm brief: tests/oratio/test_handoff_brief.py
    assert (brief["why"], brief["written_by"]) == (REASON, "extractive")
    assert envelope["data"] == {
        "session_id": session.id,
        "agent_id": agent.id,
        "agent_name": "Billing Helper",
        "channel": "text",
        "reason": REASON,
        "notification_id": notification.id,
        "priority": "high",
    }
    assert secret not in caplog.text and MASTER not in caplog.text
    assert "/acme/handoffs" not in caplog.text, "URL paths may hold a receiver's own secret"


def test_webhook_retries_go_through_the_outbox_and_failures_are_recorded(
    platform: Platform, acme: Tenancy, services: list[HandoffService], receiver: Receiver
) -> None:
    receiver.script(*[500] * 10)
    agent = agent_with(platform, acme, notify_config(webhook_url=receiver.url()))
    session = live_session(platform, acme, agent)
    service = handoff(platform, services, hooks=webhooks())

    service.request(acme.tenant_id, session.id, REASON)
    assert service.flush(FLUSH_TIMEOUT_S)

    assert platform.sessions.get(acme.principal, session.id).session.status is SessionStatus.HANDOFF_REQUESTED
    assert len(receiver.requests) == 4  # max_attempts, one request each: retries are the outbox's
    assert len({r.headers[DELIVERY_HEADER.lower()] for r in receiver.requests}) == 1  # one idempotency key
    [error] = session_events(platform, acme, session.id, "error")
    assert error.data["source"] == "handoff.webhook" and error.data["attempts"] == 4
    assert error.data["message"] == f"webhook to http://{HOST}:{receiver.port} failed after 1 attempts (last: HTTP 500)"


def test_many_handoffs_are_all_delivered_none_dropped(
    platform: Platform, acme: Tenancy, services: list[HandoffService], receiver: Receiver
) -> None:
    """The old shared queue dropped deliveries when full; the outbox stores every one."""
    agent = agent_with(platform, acme, notify_config(webhook_url=receiver.url()))
    sessions = [live_session(platform, acme, agent) for _ in range(12)]
    service = handoff(platform, services, hooks=webhooks(), workers=1)

    for session in sessions:
        service.request(acme.tenant_id, session.id, REASON)
    assert service.flush(FLUSH_TIMEOUT_S)

    delivered = {json.loads(r.body)["data"]["session_id"] for r in receiver.requests}
    assert delivered == {s.id for s in sessions}
    assert all(session_events(platform, acme, s.id, "error") == [] for s in sessions)


def test_the_platform_refuses_private_webhooks_by_default(
    platform: Platform, acme: Tenancy, receiver: Receiver
) -> None:
    """The wired service: settings-driven policy, so a tenant's 127.0.0.1 URL is refused, not called."""
    agent = agent_with(platform, acme, notify_config(webhook_url=receiver.url()))
    session = live_session(platform, acme, agent)
    try:
        platform.handoff.request(acme.tenant_id, session.id, REASON)
        assert platform.handoff.flush(FLUSH_TIMEOUT_S)
    finally:
        assert platform.handoff.close(FLUSH_TIMEOUT_S)

    assert receiver.requests == []
    [error] = session_events(platform, acme, session.id, "error")
    assert error.data["source"] == "handoff.webhook"
    assert (
        error.data["message"]
        == f"webhook host {HOST} resolves to a private or reserved address; only public hosts may be called"
    )


def test_after_close_deliveries_wait_in_the_outbox_for_the_next_start(
    platform: Platform, acme: Tenancy, services: list[HandoffService], receiver: Receiver
) -> None:
    agent = agent_with(platform, acme, notify_config(webhook_url=receiver.url()))
    session = live_session(platform, acme, agent)
    service = handoff(platform, services, hooks=webhooks())
    assert service.close(FLUSH_TIMEOUT_S)

    service.request(acme.tenant_id, session.id, REASON)

    assert receiver.requests == []
    [waiting] = platform.deliveries.list(acme.principal).items
    assert waiting.status.value == "pending"
    assert handoff(platform, services, hooks=webhooks()).flush(FLUSH_TIMEOUT_S)  # the next process
    [request] = receiver.requests
    assert request.headers[DELIVERY_HEADER.lower()] == waiting.key
    assert session_events(platform, acme, session.id, "error") == []
