"""Agent API keys: what is stored (never the secret) and what is shown once."""

from __future__ import annotations

from pydantic import Field, SecretStr

from schemas._base import Identifier, Model, Name, Record, UtcDatetime, utcnow


class ApiKey(Record):
    """Public view of a key; safe to list and return. The secret's hash is stored apart from it."""

    id: Identifier
    agent_id: Identifier
    name: Name
    prefix: str = Field(
        pattern=r"^ora_sk_[A-Za-z0-9_-]{1,8}$",
        description="First characters of the secret, to recognise it in a list",
    )
    created_at: UtcDatetime = Field(default_factory=utcnow)
    expires_at: UtcDatetime | None = None
    revoked_at: UtcDatetime | None = None
    last_used_at: UtcDatetime | None = None
    usage_count: int = Field(default=0, ge=0)

    def is_usable(self, now: UtcDatetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class StoredApiKey(Record):
    """The stored form: the public view plus the SHA-256 of the secret, looked up by hash."""

    key: ApiKey
    secret_hash: str = Field(pattern=r"^[0-9a-f]{64}$")


class MintedKey(Model):
    """Returned exactly once, when the key is minted. The secret is never retrievable again."""

    key: ApiKey
    secret: SecretStr

    def reveal(self) -> str:
        return self.secret.get_secret_value()


class MintKeyRequest(Model):
    agent_id: Identifier
    name: Name
    ttl_days: int | None = Field(default=None, ge=1, le=3650)
