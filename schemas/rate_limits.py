"""A rate-limit bucket stored for every process to share (oratio.services.rate_limits)."""

from __future__ import annotations

from pydantic import Field

from schemas._base import Identifier, Record, UtcDatetime
from schemas.leases import PLATFORM_TENANT


class RateBucket(Record):
    """One key's token bucket within one limiter (`scope`): what is left at `at`, refilled since then.

    `key_hash` is a hash of the limited key (an API key id, an admin, a client address), so the
    store holds no addresses. `expires_at` is when the bucket is full again: from then on the row
    says nothing a missing row does not, so DynamoDB's TTL (or the SQLite sweep) may delete it.
    """

    tenant_id: Identifier = PLATFORM_TENANT
    scope: str = Field(min_length=1, max_length=64)
    shard: int = Field(ge=0)
    key_hash: str = Field(min_length=1, max_length=64)
    tokens: float = Field(ge=0)
    at: float = Field(description="Epoch seconds of the last take")
    expires_at: UtcDatetime


class FailureCount(Record):
    """Failed sign-ins of one key (an email, a client address) in one lockout (`scope`), shared by replicas.

    `failures` counted since `first_at` (epoch seconds); `locked_until` while locked out. `expires_at` is
    when the row stops mattering (window passed, lock over): DynamoDB's TTL and the sweep delete it then.
    """

    tenant_id: Identifier = PLATFORM_TENANT
    scope: str = Field(min_length=1, max_length=64)
    shard: int = Field(ge=0)
    key_hash: str = Field(min_length=1, max_length=64)
    failures: int = Field(ge=0)
    first_at: float
    locked_until: float = 0.0
    expires_at: UtcDatetime
