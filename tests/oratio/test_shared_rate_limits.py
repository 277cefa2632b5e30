"""Rate limits shared across replicas (ORATIO_RATE_LIMIT_STATE=store), on SQLite and DynamoDB (moto_server).

Replicas are platforms on one store (`tests.support.peers`); the 5% target is checked with three
limiters on three DynamoDB clients racing on threads, on a clock the test moves (no sleeps, no timing).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from oratio.blobs.local import LocalBlobStore
from oratio.config import RateLimitState
from oratio.errors import RateLimited, Unauthenticated
from oratio.platform import Platform
from oratio.services import Backends
from oratio.services.rate_limits import RateLimits, StoreRateLimiter
from oratio.store.dynamodb import TTL_ATTRIBUTE, DynamoEventLog, DynamoRecordStore, create_dynamodb_tables
from oratio.store.tables import RATE_BUCKET_SHARDS, RATE_BUCKETS
from tests.aws import MotoServer
from tests.support.peers import peer_platform
from tests.support.platforms import MAX_DOCUMENT_BYTES, FakeClock
from tests.support.tenants import Tenancy
from tests.support.worlds import World

BURST = 3


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {
        "max_document_bytes": MAX_DOCUMENT_BYTES,
        "rate_limit_state": "store",
        "admin_burst": BURST,
        "admin_rate_per_minute": 60,
        "key_burst": BURST,
        "key_rate_per_minute": 60,
        "signin_max_failures": 3,
        "password_memory_kib": 8192,
    }


@pytest.fixture
def peer(platform: Platform, tmp_path: Path) -> Iterator[Platform]:
    with peer_platform(platform, tmp_path) as opened:
        yield opened


def test_the_shared_limiter_admits_a_burst_then_429s_with_retry_after_then_refills(
    platform: Platform, clock: FakeClock
) -> None:
    limiter = StoreRateLimiter(platform.backends, "test", rate_per_minute=60, burst=BURST)
    for _ in range(BURST):
        limiter.check("k")
    with pytest.raises(RateLimited) as refused:
        limiter.check("k")
    assert refused.value.retry_after == pytest.approx(1.0)
    limiter.check("other key")  # one bucket per key
    clock.advance(timedelta(seconds=1))
    limiter.check("k")
    with pytest.raises(RateLimited):
        limiter.check("k")


def test_an_admin_over_the_limit_on_one_replica_is_refused_on_another(
    platform: Platform, peer: Platform, acme: Tenancy, clock: FakeClock
) -> None:
    for _ in range(BURST):
        platform.access.check_rate(acme.principal)
    with pytest.raises(RateLimited) as refused:
        peer.access.check_rate(acme.principal)  # per process, the peer would have had its own burst
    assert refused.value.retry_after is not None and refused.value.retry_after > 0
    clock.advance(timedelta(seconds=1))
    peer.access.check_rate(acme.principal)
    with pytest.raises(RateLimited):
        platform.access.check_rate(acme.principal)


def test_an_api_key_has_one_budget_across_replicas(platform: Platform, peer: Platform, world: World) -> None:
    admitted = 0
    with pytest.raises(RateLimited):
        for replica in [platform, peer] * BURST:
            replica.keys.authenticate_for_agent(world.secret, world.agent.id)
            admitted += 1
    assert admitted == BURST


def test_a_blocking_limiter_is_never_called_from_the_event_loop(platform: Platform, world: World) -> None:
    """With the buckets in DynamoDB a check is a network call: the cached path hands it to the worker thread."""
    platform.keys.authenticate_for_agent(world.secret, world.agent.id)  # now in the key cache
    cached = platform.keys.authenticate_cached(world.secret, world.agent.id)
    if platform.settings.store.value == "dynamodb":
        assert cached is None
    else:  # embedded SQLite: brief calls, answered in place
        assert cached is not None


def test_bucket_rows_go_once_full_again(platform: Platform, clock: FakeClock, acme: Tenancy) -> None:
    for _ in range(BURST):
        platform.access.check_rate(acme.principal)
    assert _rows(platform) == 1
    assert platform.rate_limits.sweep() == 0  # not full yet: it still says something
    clock.advance(timedelta(seconds=BURST))  # refilled: as good as no row
    assert platform.rate_limits.sweep() == 1
    assert _rows(platform) == 0
    platform.access.check_rate(acme.principal)  # a fresh bucket, a full burst


def test_dynamodb_expires_bucket_rows_by_ttl(moto: MotoServer, tmp_path: Path) -> None:
    client = moto.client("dynamodb")
    create_dynamodb_tables(client, "ttl_")
    create_dynamodb_tables(client, "ttl_")  # idempotent, TTL included
    ttl = client.describe_time_to_live(TableName="ttl_rate_buckets")["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == TTL_ATTRIBUTE
    seconds = [1_000_000.0]
    limiter = StoreRateLimiter(_backends(client, "ttl_", tmp_path), "s", 60, 2, clock=lambda: seconds[0])
    limiter.check("k")
    (item,) = client.scan(TableName="ttl_rate_buckets")["Items"]
    assert int(item[TTL_ATTRIBUTE]["N"]) == 1_000_000 + 1 + 1  # full again 1 s later, rounded up


@pytest.mark.aws
def test_three_replicas_admit_the_configured_rate_within_five_percent(moto: MotoServer, tmp_path: Path) -> None:
    """Three limiters, each on its own DynamoDB client, hammer one key from three threads."""
    create_dynamodb_tables(moto.client("dynamodb"), "rate3_")
    seconds = [1_000_000.0]
    rate_per_s, burst, step_s, steps, tries = 10.0, 10, 0.5, 30, 3
    limiters = [
        StoreRateLimiter(
            _backends(moto.client("dynamodb"), "rate3_", tmp_path),
            "keys",
            rate_per_s * 60,
            burst,
            clock=lambda: seconds[0],
        )
        for _ in range(3)
    ]
    admitted = [0, 0, 0]
    start, done = threading.Barrier(4), threading.Barrier(4)

    def replica(i: int) -> None:
        for _ in range(steps + 1):
            start.wait()
            for _ in range(tries):
                try:
                    limiters[i].check("api-key")
                    admitted[i] += 1
                except RateLimited:
                    pass
            done.wait()

    threads = [threading.Thread(target=replica, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for _ in range(steps + 1):
        start.wait(60)
        done.wait(60)
        seconds[0] += step_s  # the clock moves only while no replica checks
    for thread in threads:
        thread.join(60)
    configured = burst + rate_per_s * step_s * steps
    assert abs(sum(admitted) - configured) <= 0.05 * configured, (admitted, configured)
    assert all(admitted), admitted  # every replica got a share


def test_memory_state_keeps_the_per_process_limiter(platform: Platform) -> None:
    limits = RateLimits(platform.backends, RateLimitState.MEMORY)
    limiter = limits.limiter("keys", 60, 1)
    assert not isinstance(limiter, StoreRateLimiter)
    assert platform.rate_limits.state is RateLimitState.STORE


def _rows(platform: Platform) -> int:
    store = platform.backends.store
    return sum(len(store.query(RATE_BUCKETS, f"admins#{shard}").items) for shard in range(RATE_BUCKET_SHARDS))


def _backends(client: Any, prefix: str, tmp_path: Path) -> Backends:
    return Backends(
        store=DynamoRecordStore(client, prefix),
        events=DynamoEventLog(client, prefix),
        blobs=LocalBlobStore(tmp_path / "blobs"),
    )


def test_failed_sign_ins_on_any_replica_count_toward_one_lockout(
    platform: Platform, peer: Platform, clock: FakeClock
) -> None:
    """Behind N replicas a password guesser gets the configured tries per lockout, not N times them."""
    failures = platform.settings.signin_max_failures
    for replica in ([platform, peer] * failures)[:failures]:  # alternating replicas, up to the limit
        with pytest.raises(Unauthenticated):
            replica.signin.sign_in("nobody@acme.example", "wrong password", "203.0.113.7")
    for replica in (platform, peer):
        with pytest.raises(RateLimited) as locked:
            replica.signin.sign_in("nobody@acme.example", "wrong password", "203.0.113.7")
        assert locked.value.retry_after is not None and locked.value.retry_after > 0
    clock.advance(timedelta(seconds=platform.settings.signin_lockout_seconds + 1))
    with pytest.raises(Unauthenticated):  # the lock is over: a wrong password is a plain refusal again
        peer.signin.sign_in("nobody@acme.example", "wrong password", "203.0.113.7")
    clock.advance(timedelta(seconds=platform.settings.signin_lockout_seconds + 1))
    assert platform.rate_limits.sweep() == 2  # the email's and the address's counts, over: deleted
