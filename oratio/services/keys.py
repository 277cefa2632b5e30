"""Agent API keys: minted once, stored as a hash, checked in constant time, rate-limited per key.

A verified key is remembered for `cache_seconds` (`oratio.services.key_cache` says what that keeps
and how revocation is still honoured), so a conversation's turns cost no key reads at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import SecretStr

from oratio.auth.api_keys import (
    display_prefix,
    generate_secret,
    hash_secret,
    looks_like_api_key,
    secret_matches,
)
from oratio.auth.rate_limit import RateLimiter
from oratio.errors import Conflict, Forbidden, InvalidState, NotFound, Unauthenticated
from oratio.ids import new_id
from oratio.services._common import Backends, all_items, authorize, check_limit, require, update_with_retry
from oratio.services.key_cache import KeyCache, Pending
from oratio.store.ports import Page, calls_are_brief
from oratio.store.tables import AGENTS, API_KEYS
from schemas import ApiKey, EventType, MintedKey, MintKeyRequest, Principal, Scope, StoredApiKey

_BAD_KEY = "API key is not valid"


@dataclass(frozen=True)
class KeyGrant:
    """What a valid key allows: one agent of one tenant."""

    tenant_id: str
    agent_id: str
    key_id: str


class KeyService:
    def __init__(
        self,
        backends: Backends,
        limiter: RateLimiter,
        *,
        cache_seconds: float = 0.0,
        cache_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._b = backends
        self._limiter = limiter
        self._cache = KeyCache(cache_seconds, monotonic=cache_clock)

    def mint(self, principal: Principal, request: MintKeyRequest) -> MintedKey:
        """Create a key for one agent. The secret is in the result and nowhere else, ever."""
        tenant_id = authorize(principal, Scope.KEYS_WRITE)
        require(self._b.store.get(AGENTS, tenant_id, request.agent_id), "agent", request.agent_id)
        secret = generate_secret()
        now = self._b.clock()
        expires = now + timedelta(days=request.ttl_days) if request.ttl_days is not None else None
        key = ApiKey(
            tenant_id=tenant_id,
            id=new_id("key"),
            agent_id=request.agent_id,
            name=request.name,
            prefix=display_prefix(secret),
            created_at=now,
            expires_at=expires,
        )
        stored = self._b.store.insert(
            API_KEYS, StoredApiKey(tenant_id=tenant_id, key=key, secret_hash=hash_secret(secret))
        )
        self._b.emit(tenant_id, EventType.KEY_MINTED, key.id, agent_id=key.agent_id, name=key.name)
        return MintedKey(key=_public(stored), secret=SecretStr(secret))

    def list(
        self, principal: Principal, *, agent_id: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> Page[ApiKey]:
        tenant_id = authorize(principal, Scope.AGENTS_READ)
        check_limit(limit)
        self.flush_usage()  # counts held by this process's cache are shown up to date
        if agent_id is None:
            page = self._b.store.query(API_KEYS, tenant_id, limit=limit, cursor=cursor)
        else:
            partition = f"{tenant_id}#{agent_id}"
            page = self._b.store.query(API_KEYS, partition, index="by_agent", limit=limit, cursor=cursor)
        return Page(items=[_public(k) for k in page.items], next_cursor=page.next_cursor)

    def revoke(self, principal: Principal, key_id: str) -> ApiKey:
        tenant_id = authorize(principal, Scope.KEYS_WRITE)

        def apply(stored: StoredApiKey) -> StoredApiKey:
            if stored.key.revoked_at is not None:
                raise InvalidState(f"key '{key_id}' is already revoked")
            revoked = stored.key.model_copy(update={"revoked_at": self._b.clock()})
            return stored.model_copy(update={"key": revoked})

        stored = update_with_retry(self._b.store, API_KEYS, tenant_id, key_id, "key", apply)
        # Refused from the next request in this process; other processes refuse it once their cache
        # entry expires (at most ORATIO_KEY_CACHE_SECONDS).
        self._write_uses(self._cache.forget_key(key_id))
        self._b.emit(tenant_id, EventType.KEY_REVOKED, key_id, agent_id=stored.key.agent_id)
        return _public(stored)

    def delete_for_agent(self, tenant_id: str, agent_id: str) -> None:
        """Delete every key of an agent (the agent is being deleted), and forget them here at once: a cached
        key of a deleted agent must not authenticate in this process (others: within the cache's ttl)."""
        for stored in all_items(self._b.store, API_KEYS, f"{tenant_id}#{agent_id}", index="by_agent"):
            self._b.store.delete(API_KEYS, tenant_id, stored.key.id)
            self._cache.forget_key(stored.key.id)  # its pending uses go with the deleted record

    def authenticate_cached(self, secret: str, agent_id: str) -> KeyGrant | None:
        """The grant of a key verified less than `cache_seconds` ago, without touching the store, or None
        when the store must be asked (`authenticate_for_agent`). Never blocks: a door calls it on its
        event loop and goes to a worker thread only on None. Expired keys and another agent's keys are
        refused as by `authenticate_for_agent` (which decides 403 against 404, so those return None).
        With a rate limiter that blocks (shared in a network store), None: the door's worker thread checks it."""
        return self._cached(secret, agent_id, may_block=False)

    def _cached(self, secret: str, agent_id: str, *, may_block: bool) -> KeyGrant | None:
        if not looks_like_api_key(secret):
            raise Unauthenticated(_BAD_KEY)
        digest = hash_secret(secret)
        current = self._cache.fresh(digest)
        if current is None or current.key.agent_id != agent_id:
            return None
        if not current.key.is_usable(self._b.clock()):
            self._cache.take(digest)  # its pending uses stay uncounted only if expiry raced them
            raise Unauthenticated(_BAD_KEY)
        if not (may_block or calls_are_brief(self._limiter)):
            return None
        self._limiter.check(current.key.id)
        if not self._cache.count_use(digest, self._b.clock()):
            return None  # dropped meanwhile (revoked, evicted): ask the store
        return KeyGrant(tenant_id=current.tenant_id, agent_id=current.key.agent_id, key_id=current.key.id)

    def flush_usage(self) -> None:
        """Write the uses counted in memory to the keys' records (a no-op when the cache is off)."""
        self._write_uses(self._cache.drain())

    def authenticate(self, secret: str, agent_id: str) -> KeyGrant:
        """Resolve a presented secret to its grant, or refuse with one message for every bad key.

        Unknown, malformed, revoked and expired keys all read the same to the caller, so the
        answer tells an attacker nothing about which keys exist.
        """
        if (cached := self._cached(secret, agent_id, may_block=True)) is not None:
            return cached
        current = self._resolve(secret)
        if current.key.agent_id != agent_id:
            raise Forbidden("this API key belongs to another agent")
        return self._grant(current)

    def authenticate_for_agent(self, secret: str, agent_id: str) -> KeyGrant:
        """`authenticate` for a door that names the agent in its path: decides 403 against 404.

        A valid key of another agent gets `NotFound` when the key's own tenant has no agent
        `agent_id` (another tenant's agent reads the same, so ids never leak across tenants) and
        `Forbidden` when the agent exists and the key is simply another agent's. Every door answers
        alike because the decision is made here, once.
        """
        if (cached := self._cached(secret, agent_id, may_block=True)) is not None:
            return cached
        current = self._resolve(secret)
        if current.key.agent_id != agent_id:
            if self._b.store.get(AGENTS, current.tenant_id, agent_id) is None:
                raise NotFound.of("agent", agent_id)
            raise Forbidden("this API key belongs to another agent")
        return self._grant(current)

    def _resolve(self, secret: str) -> StoredApiKey:
        """The usable key a secret names, or one `Unauthenticated` for every bad key."""
        if not looks_like_api_key(secret):
            raise Unauthenticated(_BAD_KEY)
        digest = hash_secret(secret)
        found = self._b.store.query(API_KEYS, digest, index="by_hash", limit=1).items
        if not found or not secret_matches(secret, found[0].secret_hash):
            raise Unauthenticated(_BAD_KEY)
        # The index is eventually consistent on DynamoDB: confirm revocation on the base record.
        current = self._b.store.get(API_KEYS, found[0].tenant_id, found[0].key.id)
        if current is None or not current.key.is_usable(self._b.clock()):
            raise Unauthenticated(_BAD_KEY)
        return current

    def _grant(self, current: StoredApiKey) -> KeyGrant:
        self._limiter.check(current.key.id)
        digest = current.secret_hash
        earlier = self._cache.take(digest)  # uses counted since the last read are written with this one
        stored = self._record_use(current, 1 + (earlier.uses if earlier else 0))
        self._write_uses(self._cache.remember(digest, stored))
        return KeyGrant(tenant_id=current.tenant_id, agent_id=current.key.agent_id, key_id=current.key.id)

    def _record_use(self, stored: StoredApiKey, uses: int, at: datetime | None = None) -> StoredApiKey:
        """Count `uses` uses. `stored` was just read, so the common case is one conditional write, no read;
        a concurrent use of the same key (a version conflict) falls back to read-modify-write."""
        used_at = at or self._b.clock()

        def apply(latest: StoredApiKey) -> StoredApiKey:
            used = latest.key.model_copy(update={"last_used_at": used_at, "usage_count": latest.key.usage_count + uses})
            return latest.model_copy(update={"key": used})

        try:
            return self._b.store.replace(API_KEYS, apply(stored))
        except Conflict:
            return update_with_retry(self._b.store, API_KEYS, stored.tenant_id, stored.key.id, "key", apply)

    def _write_uses(self, pending: Sequence[Pending]) -> None:
        for p in pending:
            try:
                self._record_use(p.stored, p.uses, p.last_used_at)
            except NotFound:
                continue  # the key was deleted meanwhile: nothing left to count on


def _public(stored: StoredApiKey) -> ApiKey:
    return stored.key.model_copy(update={"version": stored.version})
