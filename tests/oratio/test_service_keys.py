"""KeyService: minting shows the secret once, authentication checks every way a key can be bad."""

from __future__ import annotations

from datetime import timedelta

import pytest

from oratio.auth.api_keys import hash_secret, looks_like_api_key
from oratio.auth.rate_limit import TokenBucketLimiter
from oratio.errors import Forbidden, InvalidState, NotFound, RateLimited, Unauthenticated
from oratio.ids import new_id
from oratio.platform import Platform
from oratio.services import KeyService
from schemas import Agent, ApiKey, MintKeyRequest
from tests.support.platforms import FakeClock
from tests.support.tenants import Tenancy, active_agent, events


@pytest.fixture
def agent(platform: Platform, acme: Tenancy) -> Agent:
    return active_agent(platform, acme)


def _key(platform: Platform, tenancy: Tenancy, key_id: str) -> ApiKey:
    (found,) = [k for k in platform.keys.list(tenancy.principal).items if k.id == key_id]
    return found


def test_mint_returns_the_secret_once_and_lists_never_show_it(
    platform: Platform, acme: Tenancy, agent: Agent, clock: FakeClock
) -> None:
    minted = platform.keys.mint(acme.principal, MintKeyRequest(agent_id=agent.id, name="prod"))
    secret = minted.reveal()

    assert looks_like_api_key(secret)
    assert minted.key.prefix == secret[:12]
    assert (minted.key.agent_id, minted.key.name, minted.key.created_at) == (agent.id, "prod", clock())
    assert (minted.key.expires_at, minted.key.revoked_at, minted.key.usage_count) == (None, None, 0)
    assert secret not in repr(minted) and secret not in minted.model_dump_json()
    listed = platform.keys.list(acme.principal).items
    assert listed == [minted.key]
    by_agent = platform.keys.list(acme.principal, agent_id=agent.id).items
    assert by_agent == [minted.key]
    for shown in (*listed, *by_agent, minted.key):
        dumped = shown.model_dump_json()
        assert secret not in dumped
        assert secret[12:] not in dumped
        assert hash_secret(secret) not in dumped
    last = events(platform, acme.tenant_id)[-1]
    assert (last.type.value, last.subject, last.data) == (
        "key.minted",
        minted.key.id,
        {"agent_id": agent.id, "name": "prod"},
    )
    assert secret not in str([e.model_dump_json() for e in events(platform, acme.tenant_id)])


def test_mint_for_an_unknown_agent_is_not_found(platform: Platform, acme: Tenancy) -> None:
    with pytest.raises(NotFound):
        platform.keys.mint(acme.principal, MintKeyRequest(agent_id=new_id("agent"), name="prod"))
    assert platform.keys.list(acme.principal).items == []


def test_authenticate_grants_the_agent_and_records_use(
    platform: Platform, acme: Tenancy, agent: Agent, clock: FakeClock
) -> None:
    minted = platform.keys.mint(acme.principal, MintKeyRequest(agent_id=agent.id, name="prod"))
    used_at = clock.advance(timedelta(minutes=3))

    grant = platform.keys.authenticate(minted.reveal(), agent.id)

    assert (grant.tenant_id, grant.agent_id, grant.key_id) == (acme.tenant_id, agent.id, minted.key.id)
    key = _key(platform, acme, minted.key.id)
    assert (key.usage_count, key.last_used_at) == (1, used_at)
    platform.keys.authenticate(minted.reveal(), agent.id)
    assert _key(platform, acme, minted.key.id).usage_count == 2


def test_a_key_of_another_agent_is_forbidden(platform: Platform, acme: Tenancy, agent: Agent) -> None:
    other = active_agent(platform, acme, "Sales")
    minted = platform.keys.mint(acme.principal, MintKeyRequest(agent_id=agent.id, name="prod"))
    with pytest.raises(Forbidden):
        platform.keys.authenticate(minted.reveal(), other.id)
    assert _key(platform, acme, minted.key.id).usage_count == 0


def test_authenticate_for_agent_says_403_for_an_existing_agent_of_the_tenant(
    platform: Platform, acme: Tenancy, agent: Agent
) -> None:
    other = active_agent(platform, acme, "Sales")
    minted = platform.keys.mint(acme.principal, MintKeyRequest(agent_id=agent.id, name="prod"))
    with pytest.raises(Forbidden):
        platform.keys.authenticate_for_agent(minted.reveal(), other.id)
    assert _key(platform, acme, minted.key.id).usage_count == 0


def test_authenticate_for_agent_says_404_for_an_agent_the_tenant_lacks(
    platform: Platform, acme: Tenancy, globex: Tenancy, agent: Agent
) -> None:
    """Another tenant's agent reads like no agent at all: a key never learns which ids exist elsewhere."""
    theirs = active_agent(platform, globex, "Theirs")
    minted = platform.keys.mint(acme.principal, MintKeyRequest(agent_id=agent.id, name="prod"))
    for missing in (theirs.id, new_id("agent")):
        with pytest.raises(NotFound) as caught:
            platform.keys.authenticate_for_agent(minted.reveal(), missing)
        assert caught.value.http_status == 404
    assert _key(platform, acme, minted.key.id).usage_count == 0


def test_authenticate_for_agent_grants_its_own_agent_and_refuses_bad_keys_alike(
    platform: Platform, acme: Tenancy, agent: Agent
) -> None:
    minted = platform.keys.mint(acme.principal, MintKeyRequest(agent_id=agent.id, name="prod"))
    grant = platform.keys.authenticate_for_agent(minted.reveal(), agent.id)
    assert (grant.tenant_id, grant.agent_id, grant.key_id) == (acme.tenant_id, agent.id, minted.key.id)
    assert _key(platform, acme, minted.key.id).usage_count == 1
    with pytest.raises(Unauthenticated, match="API key is not valid"):
        platform.keys.authenticate_for_agent("ora_" + "x" * 40, new_id("agent"))


def test_a_revoked_key_is_refused(platform: Platform, acme: Tenancy, agent: Agent, clock: FakeClock) -> None:
    minted = platform.keys.mint(acme.principal, MintKeyRequest(agent_id=agent.id, name="prod"))
    revoked_at = clock.advance(timedelta(hours=1))

    revoked = platform.keys.revoke(acme.principal, minted.key.id)

    assert revoked.revoked_at == revoked_at
    assert _key(platform, acme, minted.key.id).revoked_at == revoked_at
    with pytest.raises(Unauthenticated, match="API key is not valid"):
        platform.keys.authenticate(minted.reveal(), agent.id)
    with pytest.raises(InvalidState, match="already revoked"):
        platform.keys.revoke(acme.principal, minted.key.id)
    assert [e.type.value for e in events(platform, acme.tenant_id)][-1:] == ["key.revoked"]
    with pytest.raises(NotFound):
        platform.keys.revoke(acme.principal, new_id("key"))


def test_an_expired_key_is_refused(platform: Platform, acme: Tenancy, agent: Agent, clock: FakeClock) -> None:
    minted = platform.keys.mint(acme.principal, MintKeyRequest(agent_id=agent.id, name="temp", ttl_days=1))
    assert minted.key.expires_at == clock() + timedelta(days=1)

    clock.advance(timedelta(hours=23))
    assert platform.keys.authenticate(minted.reveal(), agent.id).key_id == minted.key.id
    clock.advance(timedelta(days=2))
    with pytest.raises(Unauthenticated, match="API key is not valid"):
        platform.keys.authenticate(minted.reveal(), agent.id)
    assert _key(platform, acme, minted.key.id).usage_count == 1


@pytest.mark.parametrize(
    "secret",
    ["", "garbage", "Bearer ora_sk_x", "ora_sk_" + "A" * 43, "ora_sk_" + "A" * 44],
    ids=["empty", "garbage", "bearer", "well-formed-unknown", "too-long"],
)
def test_a_bad_secret_is_refused_with_the_same_message(
    platform: Platform, acme: Tenancy, agent: Agent, secret: str
) -> None:
    platform.keys.mint(acme.principal, MintKeyRequest(agent_id=agent.id, name="prod"))
    with pytest.raises(Unauthenticated) as refused:
        platform.keys.authenticate(secret, agent.id)
    assert refused.value.message == "API key is not valid"


def test_rate_limit_refuses_with_a_retry_after(platform: Platform, acme: Tenancy, agent: Agent) -> None:
    seconds = [1000.0]
    keys = KeyService(platform.backends, TokenBucketLimiter(rate_per_minute=60, burst=2, clock=lambda: seconds[0]))
    minted = keys.mint(acme.principal, MintKeyRequest(agent_id=agent.id, name="prod"))
    other = keys.mint(acme.principal, MintKeyRequest(agent_id=agent.id, name="other"))

    keys.authenticate(minted.reveal(), agent.id)
    keys.authenticate(minted.reveal(), agent.id)
    with pytest.raises(RateLimited) as limited:
        keys.authenticate(minted.reveal(), agent.id)

    assert limited.value.retry_after == pytest.approx(1.0)
    assert _key(platform, acme, minted.key.id).usage_count == 2  # the refused call was not counted
    keys.authenticate(other.reveal(), agent.id)  # the budget is per key
    seconds[0] += limited.value.retry_after
    keys.authenticate(minted.reveal(), agent.id)
    assert _key(platform, acme, minted.key.id).usage_count == 3
