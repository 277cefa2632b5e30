"""A verified API key is trusted for ORATIO_KEY_CACHE_SECONDS without reading the store, and revocation still holds.

Two `KeyService`s over the same backends stand for two processes (a runtime and the MCP server that
revokes); the cache's monotonic clock is advanced by hand.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any, cast

import pytest

from oratio.auth.rate_limit import TokenBucketLimiter
from oratio.config import load_settings
from oratio.errors import Unauthenticated
from oratio.platform import Platform
from oratio.services import Backends, KeyService
from oratio.store.ports import RecordStore
from oratio.store.tables import API_KEYS
from schemas import Agent, MintKeyRequest
from tests.support.platforms import FakeClock
from tests.support.tenants import Tenancy, active_agent

TTL = 5.0


class CountingStore:
    """The real store, with every call counted (not a mock: each call goes through)."""

    def __init__(self, inner: RecordStore) -> None:
        self._inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value):
            return value

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return value(*args, **kwargs)

        return counted


class Seconds:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def agent(platform: Platform, acme: Tenancy) -> Agent:
    return active_agent(platform, acme)


def service(platform: Platform, store: object, seconds: Seconds, ttl: float = TTL) -> KeyService:
    b = platform.backends
    backends = Backends(store=cast(RecordStore, store), events=b.events, blobs=b.blobs, clock=b.clock)
    return KeyService(backends, TokenBucketLimiter(10**6, 10**6), cache_seconds=ttl, cache_clock=seconds)


def usage(platform: Platform, acme: Tenancy, key_id: str) -> int:
    stored = platform.backends.store.get(API_KEYS, acme.tenant_id, key_id)
    assert stored is not None
    return stored.key.usage_count


def test_a_key_verified_moments_ago_costs_no_store_operation(platform: Platform, acme: Tenancy, agent: Agent) -> None:
    minted = platform.keys.mint(acme.principal, MintKeyRequest(agent_id=agent.id, name="prod"))
    store, seconds = CountingStore(platform.backends.store), Seconds()
    keys = service(platform, store, seconds)
    keys.authenticate_for_agent(minted.reveal(), agent.id)
    first = sum(store.calls.values())
    assert first == 3  # the hash index, the base record (revocation), the use
    for _ in range(5):
        assert keys.authenticate_for_agent(minted.reveal(), agent.id).key_id == minted.key.id
        assert keys.authenticate_cached(minted.reveal(), agent.id) is not None
    assert sum(store.calls.values()) == first
    seconds.now += TTL  # expired: read again, and the uses counted meanwhile are written with it
    keys.authenticate(minted.reveal(), agent.id)
    assert sum(store.calls.values()) == 2 * first
    assert usage(platform, acme, minted.key.id) == 12


def test_a_key_revoked_in_this_process_is_refused_at_once(platform: Platform, acme: Tenancy, agent: Agent) -> None:
    minted = platform.keys.mint(acme.principal, MintKeyRequest(agent_id=agent.id, name="prod"))
    keys = service(platform, platform.backends.store, Seconds())
    keys.authenticate_for_agent(minted.reveal(), agent.id)
    keys.authenticate_for_agent(minted.reveal(), agent.id)
    keys.revoke(acme.principal, minted.key.id)
    with pytest.raises(Unauthenticated):
        keys.authenticate_cached(minted.reveal(), agent.id) or keys.authenticate_for_agent(minted.reveal(), agent.id)
    assert usage(platform, acme, minted.key.id) == 2  # the use counted in memory was written, not lost


def test_a_key_revoked_by_another_process_is_refused_once_the_entry_expires(
    platform: Platform, acme: Tenancy, agent: Agent
) -> None:
    minted = platform.keys.mint(acme.principal, MintKeyRequest(agent_id=agent.id, name="prod"))
    seconds = Seconds()
    runtime = service(platform, platform.backends.store, seconds)
    runtime.authenticate_for_agent(minted.reveal(), agent.id)
    platform.keys.revoke(acme.principal, minted.key.id)  # the MCP server's process
    seconds.now += TTL - 0.5
    assert runtime.authenticate_for_agent(minted.reveal(), agent.id).key_id == minted.key.id  # the bounded window
    seconds.now += 0.5
    assert runtime.authenticate_cached(minted.reveal(), agent.id) is None
    with pytest.raises(Unauthenticated, match="API key is not valid"):
        runtime.authenticate_for_agent(minted.reveal(), agent.id)


def test_a_cached_key_that_expires_is_refused_on_its_next_use(
    platform: Platform, acme: Tenancy, agent: Agent, clock: FakeClock
) -> None:
    minted = platform.keys.mint(acme.principal, MintKeyRequest(agent_id=agent.id, name="temp", ttl_days=1))
    keys = service(platform, platform.backends.store, Seconds())
    keys.authenticate(minted.reveal(), agent.id)
    clock.advance(timedelta(days=2))
    with pytest.raises(Unauthenticated, match="API key is not valid"):
        keys.authenticate(minted.reveal(), agent.id)


def test_uses_counted_in_memory_are_written_when_keys_are_listed(
    platform: Platform, acme: Tenancy, agent: Agent
) -> None:
    minted = platform.keys.mint(acme.principal, MintKeyRequest(agent_id=agent.id, name="prod"))
    keys = service(platform, platform.backends.store, Seconds())
    for _ in range(4):
        keys.authenticate(minted.reveal(), agent.id)
    assert usage(platform, acme, minted.key.id) == 1
    (listed,) = keys.list(acme.principal).items
    assert listed.usage_count == 4 and usage(platform, acme, minted.key.id) == 4
    keys.authenticate(minted.reveal(), agent.id)
    keys.flush_usage()  # what closing the platform does
    assert usage(platform, acme, minted.key.id) == 5


def test_another_agents_key_is_never_answered_from_the_cache(platform: Platform, acme: Tenancy, agent: Agent) -> None:
    other = active_agent(platform, acme, "Sales")
    minted = platform.keys.mint(acme.principal, MintKeyRequest(agent_id=agent.id, name="prod"))
    keys = service(platform, platform.backends.store, Seconds())
    keys.authenticate(minted.reveal(), agent.id)
    assert keys.authenticate_cached(minted.reveal(), other.id) is None  # the store decides 403 vs 404


def test_a_zero_cache_time_reads_the_store_every_time(platform: Platform, acme: Tenancy, agent: Agent) -> None:
    minted = platform.keys.mint(acme.principal, MintKeyRequest(agent_id=agent.id, name="prod"))
    store = CountingStore(platform.backends.store)
    keys = service(platform, store, Seconds(), ttl=0)
    keys.authenticate(minted.reveal(), agent.id)
    keys.authenticate(minted.reveal(), agent.id)
    assert sum(store.calls.values()) == 6 and usage(platform, acme, minted.key.id) == 2


def test_the_cache_time_is_a_setting() -> None:
    assert load_settings({}).key_cache_seconds == 5.0
    assert load_settings({"ORATIO_KEY_CACHE_SECONDS": "0"}).key_cache_seconds == 0
