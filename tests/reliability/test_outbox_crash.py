"""kill -9 mid-delivery loses no handoff alert; a repeat carries the same idempotency key.

A child process (the real `open_platform` on a temporary data directory; SQLite, or DynamoDB on
moto_server) writes handoffs for an agent whose webhook is a real receiver on 127.0.0.1. The
receiver records each request and then holds it unanswered, so the child is SIGKILLed with
deliveries in flight (it says so only once its outbox shows a claimed row). The platform is then
opened again on the same store, as a restarted server would be, and the receiver lets requests
through. Every handoff the child acknowledged must reach the receiver at least once, and every
repeat must carry the same `X-Oratio-Delivery` key, which is what the receiver deduplicates on.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import defaultdict
from pathlib import Path

import pytest

from oratio.config import load_settings
from oratio.notify.webhooks import DELIVERY_HEADER
from oratio.platform import open_platform
from oratio.store.dynamodb import create_dynamodb_tables
from schemas import DeliveryStatus, Principal, Scope
from tests.aws import REGION, MotoServer
from tests.crash import acknowledged_then_killed
from tests.notify.servers import Request, webhook_receiver
from tests.reliability.serve import clean_env

_tables = itertools.count()
HANDOFFS = 6
RECOVERY_S = 60.0

CHILD = """
import sys, time
import pytest

from oratio.config import load_settings
from oratio.platform import open_platform
from schemas import AgentSpec, AgentStatus, Channel, CreateAgent, HandoffConfig, Principal, Scope

url, count = sys.argv[1], int(sys.argv[2])
sop = "Greet the customer, answer from the knowledge base, and hand off when asked."
with open_platform(load_settings()) as platform:
    tenant = platform.tenants.create_tenant("Acme")
    admin = platform.tenants.create_admin(tenant.tenant_id, "owner@example.com", "Owner")
    principal = Principal(tenant_id=tenant.tenant_id, subject=admin.id, scopes=frozenset({Scope.ADMIN}))
    spec = AgentSpec(name="Desk", sop=sop, handoff=HandoffConfig(enabled=True, webhook_url=url))
    agent = platform.agents.create(principal, CreateAgent(spec=spec))
    platform.agents.transition(tenant.tenant_id, agent.id, AgentStatus.ACTIVE, reason=None)
    print(tenant.tenant_id, admin.id, flush=True)
    for _ in range(count):
        session = platform.sessions.start(tenant.tenant_id, agent.id, Channel.TEXT)
        platform.handoff.request(tenant.tenant_id, session.id, "wants a person")
        print(session.id, flush=True)  # acknowledged: the handoff and its delivery row are stored
    deadline = time.monotonic() + 60
    while not any(d.attempts for d in platform.deliveries.list(principal, limit=200).items):
        assert time.monotonic() < deadline, "no delivery was ever claimed"
        time.sleep(0.01)
    print("in flight", flush=True)
    time.sleep(600)  # killed here, mid-delivery
"""


@pytest.fixture(params=["sqlite", pytest.param("dynamodb", marks=pytest.mark.aws)])
def store_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The ORATIO_ settings that pick the store: SQLite in the data dir, or fresh tables on moto_server."""
    if request.param == "sqlite":
        return {}
    server: MotoServer = request.getfixturevalue("moto")
    prefix = f"crash{next(_tables)}_"
    create_dynamodb_tables(server.client("dynamodb"), prefix)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # the restarted platform runs in this process
        monkeypatch.setenv(name, "testing")
    return {
        "ORATIO_STORE": "dynamodb",
        "ORATIO_AWS_ENDPOINT_URL": server.endpoint_url,
        "ORATIO_AWS_REGION": REGION,
        "ORATIO_DYNAMODB_TABLE_PREFIX": prefix,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def test_kill_9_mid_delivery_loses_no_alert_and_repeats_keep_their_key(
    tmp_path: Path, store_env: dict[str, str]
) -> None:
    env = clean_env(
        **store_env,
        ORATIO_DATA_DIR=str(tmp_path),
        ORATIO_WEBHOOK_ALLOW_PRIVATE="true",
        ORATIO_WEBHOOK_TIMEOUT_SECONDS="2",
        ORATIO_SMTP_TIMEOUT_SECONDS="2",
        ORATIO_OUTBOX_LEASE_SECONDS="1",  # raised to 2 x the timeout: a dead claimer's rows return in ~4 s
    )
    with webhook_receiver() as receiver:
        receiver.hold = threading.Event()

        def a_request_is_held() -> None:
            # A claimed row is sent a moment later: kill only once the receiver holds a request.
            assert receiver.wait_until(lambda requests: len(requests) >= 1, RECOVERY_S), "nothing was ever sent"

        lines = acknowledged_then_killed(
            CHILD, HANDOFFS + 2, args=[receiver.url("/alerts"), str(HANDOFFS)], env=env, before_kill=a_request_is_held
        )
        tenant_id, admin_id = lines[0].split()
        acknowledged = set(lines[1 : HANDOFFS + 1])
        assert lines[-1] == "in flight" and len(acknowledged) == HANDOFFS
        held_at_kill = len(receiver.requests)
        receiver.hold.set()

        def every_alert_arrived(requests: list[Request]) -> bool:
            """Counting only requests after the kill: those held at the kill were never answered."""
            return acknowledged <= {json.loads(r.body)["data"]["session_id"] for r in requests[held_at_kill:]}

        with open_platform(load_settings(env)) as platform:
            platform.outbox.start()  # as `oratio serve` does on start
            assert receiver.wait_until(every_alert_arrived, RECOVERY_S), "some acknowledged handoff never arrived"
            assert platform.handoff.flush(RECOVERY_S)
            principal = Principal(tenant_id=tenant_id, subject=admin_id, scopes=frozenset({Scope.ADMIN}))
            rows = platform.deliveries.list(principal, limit=200).items

    keys: dict[str, set[str]] = defaultdict(set)
    for request in receiver.requests:
        keys[json.loads(request.body)["data"]["session_id"]].add(request.headers[DELIVERY_HEADER.lower()])
    assert held_at_kill >= 1  # the kill did land mid-delivery
    assert set(keys) == acknowledged
    assert all(len(k) == 1 for k in keys.values()), "a repeat must carry the same idempotency key"
    assert len({k for ks in keys.values() for k in ks}) == HANDOFFS  # one key per alert
    assert len(receiver.requests) > HANDOFFS  # the in-flight ones were sent again: at least once, not once
    assert {row.status for row in rows} == {DeliveryStatus.DELIVERED} and len(rows) == HANDOFFS
