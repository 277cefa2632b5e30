"""OAuth records for MCP clients that sign in like people (issue 22 item 6, docs/mcp-oauth.md).

Nothing here holds a usable secret: authorization codes, access tokens, refresh tokens and pending
consent requests are stored as their SHA-256 (the record's key), so a copy of the store lets nobody
use them. Records that are not tenant data (a registered client) carry the fixed `OAUTH_TENANT`.
"""

from __future__ import annotations

from pydantic import Field

from schemas._base import Identifier, Model, Record, UtcDatetime

OAUTH_TENANT = "oau_platform"
"""`tenant_id` of records that belong to no tenant yet (a client, a pending consent request)."""
HASH = r"^[0-9a-f]{64}$"


class OAuthClient(Record):
    """A dynamically registered client (RFC 7591). `metadata` is the SDK's client information as JSON."""

    client_id: str = Field(min_length=1, max_length=64)
    name: str = Field(default="", max_length=200)
    metadata: str = Field(max_length=16 * 1024)
    created_at: UtcDatetime
    authorised_at: UtcDatetime | None = None
    """When a person first consented to this client; None while nobody has. Registration is open to anyone, so
    at the cap the oldest client nobody consented to makes room (`OAuthService.register`)."""


class OAuthGrantFields(Record):
    """What a code, an access token and a refresh token all carry: who, for which client and resource."""

    client_id: str = Field(min_length=1, max_length=64)
    admin_id: Identifier
    scopes: list[str] = Field(default_factory=list, max_length=32)
    resource: str = Field(max_length=2048)
    expires_at: UtcDatetime


class OAuthRequest(Record):
    """An authorization request waiting for the person's consent, keyed by its id's SHA-256."""

    id_hash: str = Field(pattern=HASH)
    client_id: str = Field(min_length=1, max_length=64)
    scopes: list[str] = Field(default_factory=list, max_length=32)
    code_challenge: str = Field(min_length=43, max_length=128)
    redirect_uri: str = Field(max_length=2048)
    redirect_uri_explicit: bool
    state: str | None = Field(default=None, max_length=1024)
    resource: str = Field(max_length=2048)
    expires_at: UtcDatetime


class OAuthCode(OAuthGrantFields):
    """An authorization code (single use: `used` is set by a versioned write when it is exchanged)."""

    code_hash: str = Field(pattern=HASH)
    code_challenge: str = Field(min_length=43, max_length=128)
    redirect_uri: str = Field(max_length=2048)
    redirect_uri_explicit: bool
    used: bool = False
    family: str | None = Field(default=None, pattern=HASH)
    """The token family the exchange issued (set with `used`): a second use of the code revokes it."""


class OAuthToken(OAuthGrantFields):
    """An access or refresh token. A refresh token is single use (rotated); `family` ties every token
    descended from one consent together, so revoking one revokes the family."""

    token_hash: str = Field(pattern=HASH)
    kind: str = Field(pattern=r"^(access|refresh)$")
    family: str = Field(pattern=HASH)
    used: bool = False
    revoked: bool = False
    consented_at: UtcDatetime | None = None
    """When the family's consent was exchanged, on the wall clock a JWT's `iat` is written with; every token of
    the family carries it, so an admin's `tokens_valid_after` (revoke_admin_tokens) refuses the whole family."""


class ServiceAccount(Record):
    """A machine client of one tenant (client-credentials grant, RFC 6749 §4.4). Its `client_id` is
    `<tenant_id>.<id>`, so the token endpoint finds it with one keyed read in its tenant; its secret is a
    random 256-bit value stored as its SHA-256 only (shown once, when it is created)."""

    id: Identifier
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, max_length=16)
    secret_hash: str = Field(pattern=HASH)
    created_by: str = Field(min_length=1, max_length=128)
    created_at: UtcDatetime
    revoked: bool = False

    @property
    def client_id(self) -> str:
        return f"{self.tenant_id}.{self.id}"


class ServiceAccountView(Model):
    """An account as admins see it: never its secret (nor the secret's hash)."""

    id: str
    client_id: str
    name: str
    scopes: list[str]
    created_by: str
    revoked: bool

    @classmethod
    def of(cls, account: ServiceAccount) -> ServiceAccountView:
        return cls(
            id=account.id,
            client_id=account.client_id,
            name=account.name,
            scopes=account.scopes,
            created_by=account.created_by,
            revoked=account.revoked,
        )


class AuthorisedClient(Model):
    """An MCP client a person has signed in to Oratio with (one consent), as the Account tab lists it."""

    consent: str = Field(description="The consent's id (its token family): what revoking names")
    client_id: str
    client_name: str
    scopes: list[str]
    resource: str
    expires_at: UtcDatetime = Field(description="When its refresh token expires, unless it is used before")
