"""Service accounts: machine clients (other agents) that get client-credentials tokens for /mcp.

Why it is shaped this way (docs/mcp-oauth.md, "Machine clients"):

* An account belongs to one tenant and carries fixed scopes, no wider than its creator's at creation,
  so an admin cannot mint a credential that does more than they may.
* Its client secret is a random 256-bit value stored as its SHA-256 (high entropy, so a fast hash is
  enough); it is shown once. The `client_id` is `<tenant_id>.<account id>`: the token endpoint reads the
  account with one keyed read inside that tenant, and every other read names the caller's tenant, so
  another tenant's account id reads as unknown.
* Access tokens (`osa_...`) live in the OAuth token table (the sweep deletes them past expiry), are
  bound to one resource (RFC 8707), carry no refresh token (RFC 6749 §4.4.3), and are refused as soon
  as the account is revoked: every use reads the account.
"""

from __future__ import annotations

import builtins
import hmac
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from oratio.auth.api_keys import hash_secret
from oratio.auth.principals import token_principal
from oratio.auth.tokens import require_scope
from oratio.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from oratio.ids import new_id
from oratio.services._common import Backends
from oratio.services.oauth import SECRET_MAX, TOKEN_REFUSED
from oratio.store.tables import OAUTH_TOKENS, SERVICE_ACCOUNTS
from schemas import Principal, Scope
from schemas.oauth import OAuthToken, ServiceAccount

logger = logging.getLogger("oratio.services.service_accounts")

ACCESS_PREFIX = "osa_"
"""Service-account access tokens start with this (admin OAuth tokens with `oat_`, JWTs with neither)."""
SECRET_PREFIX = "oss_"
MAX_ACCOUNTS = 100
"""Service accounts one tenant may hold (revoked ones included: revoking keeps the record for audit)."""
CLIENT_REFUSED = "client authentication failed"


@dataclass(frozen=True)
class CreatedAccount:
    """A new account and its secret: the only time the secret exists outside the client."""

    account: ServiceAccount
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class IssuedAccess:
    access_token: str
    expires_in: int
    scopes: list[str]


class ServiceAccountService:
    def __init__(self, backends: Backends, access_ttl: timedelta) -> None:
        self._b = backends
        self._ttl = access_ttl

    # -- admins ---------------------------------------------------------------------------------

    def create(self, principal: Principal, name: str, scopes: Sequence[str]) -> CreatedAccount:
        """A new account in the caller's tenant with `scopes`, each one the caller holds (Forbidden if not)."""
        require_scope(principal, Scope.KEYS_WRITE)
        wanted = _scopes(scopes)
        wider = sorted(s.value for s in wanted if not principal.allows(s))
        if wider:
            raise Forbidden(f"a service account may not have scopes you do not hold: {', '.join(wider)}")
        name = name.strip()
        if not 1 <= len(name) <= 100:
            raise InvalidInput("name must be 1 to 100 characters")
        if len(self._page(principal.tenant_id, MAX_ACCOUNTS + 1)) >= MAX_ACCOUNTS:
            raise InvalidInput(f"a tenant may have at most {MAX_ACCOUNTS} service accounts")
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        account = ServiceAccount(
            tenant_id=principal.tenant_id,
            id=new_id("service_account"),
            name=name,
            scopes=sorted(s.value for s in wanted),
            secret_hash=hash_secret(secret),
            created_by=principal.subject,
            created_at=self._b.clock(),
        )
        stored = self._b.store.insert(SERVICE_ACCOUNTS, account)
        logger.info(
            "tenant=%s account=%s by=%s | service account created", stored.tenant_id, stored.id, principal.subject
        )
        return CreatedAccount(stored, stored.client_id, secret)

    def list(self, principal: Principal) -> list[ServiceAccount]:
        require_scope(principal, Scope.KEYS_WRITE)
        return self._page(principal.tenant_id, MAX_ACCOUNTS)

    def revoke(self, principal: Principal, account_id: str) -> ServiceAccount:
        """Revoke an account of the caller's tenant: its secret and every token it holds stop working at once."""
        require_scope(principal, Scope.KEYS_WRITE)
        found = self._b.store.get(SERVICE_ACCOUNTS, principal.tenant_id, account_id)
        if found is None:
            raise NotFound(f"service account {account_id[:64]} not found")
        if found.revoked:
            return found
        revoked = self._b.store.replace(SERVICE_ACCOUNTS, found.model_copy(update={"revoked": True}))
        logger.info(
            "tenant=%s account=%s by=%s | service account revoked", found.tenant_id, found.id, principal.subject
        )
        return revoked

    # -- the token endpoint and /mcp ------------------------------------------------------------

    def authenticate(self, client_id: str, client_secret: str) -> ServiceAccount:
        """The account a client_id/secret pair names, or Unauthenticated (same answer for every failure)."""
        account = self.find(client_id)
        if (
            account is None
            or account.revoked
            or not 1 <= len(client_secret) <= SECRET_MAX
            or not hmac.compare_digest(account.secret_hash, hash_secret(client_secret))
        ):
            raise Unauthenticated(CLIENT_REFUSED)
        return account

    def find(self, client_id: str) -> ServiceAccount | None:
        tenant_id, dot, account_id = client_id.partition(".")
        if not dot or len(client_id) > 140:
            return None
        try:
            return self._b.store.get(SERVICE_ACCOUNTS, tenant_id, account_id)
        except ValueError:
            return None  # not an id shape the store takes: unknown

    def issue(self, account: ServiceAccount, scope: str | None, resource: str) -> IssuedAccess:
        """An access token for `resource` with the account's scopes, or those of them `scope` asks for."""
        granted = list(account.scopes)
        if scope:
            asked = scope.split()
            unknown = [s for s in asked if s not in account.scopes]
            if unknown or len(asked) > 16:
                raise Forbidden(f"scope not granted to this client: {' '.join(unknown)[:80]}")
            granted = sorted(set(asked))
        token = ACCESS_PREFIX + secrets.token_urlsafe(32)
        self._b.store.insert(
            OAUTH_TOKENS,
            OAuthToken(
                tenant_id=account.tenant_id,
                token_hash=hash_secret(token),
                kind="access",
                client_id=account.client_id[:64],
                admin_id=account.id,
                scopes=granted,
                resource=resource,
                family=hash_secret(account.client_id),
                expires_at=self._b.clock() + self._ttl,
            ),
        )
        logger.info("tenant=%s account=%s | client credentials token issued", account.tenant_id, account.id)
        return IssuedAccess(token, int(self._ttl.total_seconds()), granted)

    def access(self, token: str, resource: str) -> Principal:
        """The account an `osa_` token acts as at `resource` (its scopes, as granted), or Unauthenticated."""
        found = (
            None
            if not 1 <= len(token) <= SECRET_MAX
            else self._b.store.get(OAUTH_TOKENS, "oauth_tokens", hash_secret(token))
        )
        if (
            found is None
            or found.kind != "access"
            or found.revoked
            or found.expires_at <= self._b.clock()
            or found.resource != resource
        ):
            raise Unauthenticated(TOKEN_REFUSED)
        account = self._b.store.get(SERVICE_ACCOUNTS, found.tenant_id, found.admin_id)
        if account is None or account.revoked:
            raise Unauthenticated("token's service account was revoked")
        return token_principal(account.tenant_id, account.id, [s for s in found.scopes if s in account.scopes])

    def _page(self, tenant_id: str, limit: int) -> builtins.list[ServiceAccount]:
        return list(self._b.store.query(SERVICE_ACCOUNTS, tenant_id, limit=limit).items)


def _scopes(names: Sequence[str]) -> set[Scope]:
    if not 1 <= len(names) <= 16:
        raise InvalidInput("a service account needs 1 to 16 scopes")
    try:
        return {Scope(n) for n in names}
    except ValueError:
        raise InvalidInput(f"scopes must be among: {', '.join(s.value for s in Scope)}") from None
