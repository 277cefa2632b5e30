"""The outbox dispatcher on its own: backoff on the platform clock, leases, exclusive claims, final refusals.

Deliveries go to a real HTTP receiver on 127.0.0.1. The platform clock is a `FakeClock`, so a retry
scheduled 10 s out is provably not sent until the test moves the clock past it: no sleeping.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest

from oratio.errors import InvalidState
from oratio.notify.address_policy import WebhookPolicy
from oratio.notify.signing import WebhookSecrets
from oratio.notify.webhooks import DELIVERY_HEADER, WebhookSender
from oratio.platform import Platform
from oratio.services.dispatcher import OutboxDispatcher
from oratio.services.outbox import OutboxLimits, session_webhook, webhook_delivery
from oratio.store.tables import OUTBOX
from schemas import AgentUpdate, Channel, DeliveryStatus, HandoffConfig, OutboxDelivery, Session
from tests.notify.servers import Receiver, webhook_receiver
from tests.support.platforms import FakeClock
from tests.support.tenants import Tenancy, new_agent, new_tenancy

WAIT_S = 30.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as r:
        yield r


@pytest.fixture
def dispatchers() -> Iterator[list[OutboxDispatcher]]:
    built: list[OutboxDispatcher] = []
    yield built
    for dispatcher in built:
        assert dispatcher.close(WAIT_S)


def dispatcher(platform: Platform, built: list[OutboxDispatcher], **limits: float) -> OutboxDispatcher:
    hooks = WebhookSender(WebhookSecrets("w" * 40), policy=WebhookPolicy(allow_private=True), timeout_s=5)
    settings = OutboxLimits(**{"backoff_base_s": 0.0, "backoff_max_s": 0.0, "max_attempts": 3, **limits})  # type: ignore[arg-type]
    made = OutboxDispatcher(platform.backends, email=None, webhooks=hooks, limits=settings, rand=lambda: 1.0)
    built.append(made)
    return made


def stored_row(platform: Platform, tenancy: Tenancy, url: str, **changes: object) -> OutboxDelivery:
    row = webhook_delivery(platform.backends, tenancy.tenant_id, url, "handoff.requested", {"n": 1}, max_attempts=3)
    return platform.backends.store.insert(OUTBOX, row.model_copy(update=changes))


def current(platform: Platform, row: OutboxDelivery) -> OutboxDelivery:
    found = platform.backends.store.get(OUTBOX, row.tenant_id, row.id)
    assert found is not None
    return found


def test_a_failed_attempt_is_retried_after_its_backoff_on_the_platform_clock(
    platform: Platform, acme: Tenancy, receiver: Receiver, clock: FakeClock, dispatchers: list[OutboxDispatcher]
) -> None:
    receiver.script(503)
    outbox = dispatcher(platform, dispatchers, backoff_base_s=10.0, backoff_max_s=60.0)
    row = stored_row(platform, acme, receiver.url())

    assert outbox.drain(WAIT_S)
    waiting = current(platform, row)
    assert (waiting.status, waiting.attempts, waiting.last_error) == (
        DeliveryStatus.PENDING,
        1,
        f"webhook to http://127.0.0.1:{receiver.port} failed after 1 attempts (last: HTTP 503)",
    )
    assert waiting.next_at == clock() + timedelta(seconds=10)  # rand=1.0: the top of the jitter range
    assert waiting.claimed_by is None
    assert outbox.drain(WAIT_S) and len(receiver.requests) == 1  # not due yet: not sent again

    clock.advance(timedelta(seconds=10))
    assert outbox.drain(WAIT_S)

    done = current(platform, row)
    assert (done.status, done.attempts, done.last_error) == (DeliveryStatus.DELIVERED, 2, None)
    assert [r.headers[DELIVERY_HEADER.lower()] for r in receiver.requests] == [row.key, row.key]


def test_a_row_a_crashed_claimer_holds_is_sent_once_its_lease_runs_out(
    platform: Platform, acme: Tenancy, receiver: Receiver, clock: FakeClock, dispatchers: list[OutboxDispatcher]
) -> None:
    lease_end = clock() + timedelta(seconds=120)
    row = stored_row(platform, acme, receiver.url(), claimed_by="ghost:1", attempts=1, next_at=lease_end)
    outbox = dispatcher(platform, dispatchers)

    assert outbox.drain(WAIT_S)
    assert receiver.requests == []  # the claimer may still be sending it
    clock.advance(timedelta(seconds=120))
    assert outbox.drain(WAIT_S)

    assert [r.headers[DELIVERY_HEADER.lower()] for r in receiver.requests] == [row.key]
    assert (current(platform, row).status, current(platform, row).attempts) == (DeliveryStatus.DELIVERED, 2)


def test_two_dispatchers_on_one_store_never_send_the_same_row_twice(
    platform: Platform, acme: Tenancy, globex: Tenancy, receiver: Receiver, dispatchers: list[OutboxDispatcher]
) -> None:
    rows = [stored_row(platform, tenancy, receiver.url()) for tenancy in (acme, globex) for _ in range(10)]
    first, second = dispatcher(platform, dispatchers), dispatcher(platform, dispatchers)

    first.wake()
    second.wake()
    assert first.drain(WAIT_S) and second.drain(WAIT_S)

    sent = Counter(r.headers[DELIVERY_HEADER.lower()] for r in receiver.requests)
    assert sent == Counter({row.key: 1 for row in rows})
    assert {current(platform, row).status for row in rows} == {DeliveryStatus.DELIVERED}


def test_a_final_refusal_is_dead_at_once_and_only_dead_rows_are_retried(
    platform: Platform, acme: Tenancy, receiver: Receiver, dispatchers: list[OutboxDispatcher]
) -> None:
    receiver.script(410)
    outbox = dispatcher(platform, dispatchers)
    gone = stored_row(platform, acme, receiver.url())
    pending = stored_row(platform, acme, receiver.url(), next_at=platform.backends.clock() + timedelta(days=1))

    assert outbox.drain(WAIT_S)

    dead = current(platform, gone)
    assert (dead.status, dead.attempts) == (DeliveryStatus.DEAD, 1)
    assert dead.last_error is not None and "HTTP 410; not retried" in dead.last_error
    with pytest.raises(InvalidState, match="only dead deliveries are retried"):
        platform.deliveries.retry(acme.principal, pending.id)
    revived = platform.deliveries.retry(acme.principal, dead.id)
    assert (revived.status, revived.attempts, revived.key) == (DeliveryStatus.PENDING, 0, gone.key)
    outbox.wake()
    assert outbox.drain(WAIT_S)
    assert current(platform, gone).status is DeliveryStatus.DELIVERED
    assert [r.headers[DELIVERY_HEADER.lower()] for r in receiver.requests] == [gone.key, gone.key]


def test_with_more_tenants_than_a_round_looks_at_every_tenant_still_gets_its_turn(
    platform: Platform, acme: Tenancy, globex: Tenancy, receiver: Receiver, dispatchers: list[OutboxDispatcher]
) -> None:
    """Acme (first in key order) always has a due row: its receiver keeps failing and backoff is zero.
    With one tenant looked at per round, the others are served only if rounds move on past acme."""
    others = [globex, new_tenancy(platform, "Initech"), new_tenancy(platform, "Umbrella")]
    with webhook_receiver() as failing:
        failing.script(*[500] * 100)
        stubborn = stored_row(platform, acme, failing.url(), max_attempts=40)
        rows = [stored_row(platform, tenancy, receiver.url()) for tenancy in others]
        outbox = dispatcher(platform, dispatchers, tenants_per_round=1, batch_per_tenant=1)
        outbox.wake()

        assert receiver.wait_for(len(rows), WAIT_S)
        assert current(platform, stubborn).attempts < 20  # the others did not wait for acme to give up
        assert outbox.drain(WAIT_S)

    assert sorted(r.headers[DELIVERY_HEADER.lower()] for r in receiver.requests) == sorted(row.key for row in rows)


def test_a_session_webhook_goes_to_its_agents_url_or_nowhere(platform: Platform, acme: Tenancy) -> None:
    """The row post-call analysis and the handoff brief write: the agent's URL, or none without one."""
    with_url, without = new_agent(platform, acme, "Hooked"), new_agent(platform, acme, "Quiet")
    hook = HandoffConfig(webhook_url="https://hooks.example.com/oratio?token=secret")
    platform.agents.update(acme.principal, with_url.id, AgentUpdate(handoff=hook))

    def about(agent_id: str) -> Session:
        return Session(tenant_id=acme.tenant_id, id="ses_1234", agent_id=agent_id, channel=Channel.TEXT)

    row = session_webhook(
        platform.backends, about(with_url.id), "handoff.brief", {"k": 1}, max_attempts=3, notification_id="ntf_1"
    )
    assert row is not None and row.webhook is not None
    assert (row.webhook.url, row.webhook.event, row.webhook.data) == (hook.webhook_url, "handoff.brief", {"k": 1})
    assert (row.session_id, row.agent_id, row.notification_id) == ("ses_1234", with_url.id, "ntf_1")
    assert row.destination == "https://hooks.example.com"  # the origin only: no token in the admin's list
    assert row.max_attempts == 3 and row.status is DeliveryStatus.PENDING
    assert session_webhook(platform.backends, about(without.id), "session.ended", {}, max_attempts=3) is None
    assert session_webhook(platform.backends, about("agt_gone"), "session.ended", {}, max_attempts=3) is None
