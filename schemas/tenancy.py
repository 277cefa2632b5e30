"""Tenants and their admins."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from schemas._base import Email, Identifier, Model, Name, Record, UtcDatetime, utcnow


class Tenant(Record):
    """An organisation. Every other record belongs to exactly one tenant."""

    name: Name
    created_at: UtcDatetime = Field(default_factory=utcnow)


class Scope(StrEnum):
    """What a token may do. Admin tokens carry `admin`; service tokens may carry a narrower set."""

    ADMIN = "admin"
    AGENTS_READ = "agents:read"
    AGENTS_WRITE = "agents:write"
    SESSIONS_READ = "sessions:read"
    SESSIONS_WRITE = "sessions:write"
    """Take over, return or close a customer's conversation."""
    KEYS_WRITE = "keys:write"


class Admin(Record):
    """A person (or service) who administers a tenant."""

    id: Identifier
    email: Email
    name: Name
    scopes: tuple[Scope, ...] = (Scope.ADMIN,)
    disabled: bool = False
    """A disabled admin's tokens are refused at every door until an admin enables it again."""
    tokens_valid_after: UtcDatetime | None = None
    """Tokens issued (`iat`) before this moment are refused: set by `revoke_admin_tokens`."""
    created_at: UtcDatetime = Field(default_factory=utcnow)


class Principal(Model):
    """Who is calling a service: resolved at the door from a JWT, an API key or the local operator."""

    tenant_id: Identifier
    subject: str = Field(min_length=1, max_length=128)
    scopes: frozenset[Scope] = Field(description="Required: a principal never gets rights by default")

    def allows(self, scope: Scope) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes
