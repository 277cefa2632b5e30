"""The OAuth authorization server's state and decisions, for MCP clients that sign in like people.

Why it is shaped this way (docs/mcp-oauth.md):

* The MCP door adapts this service to the MCP SDK's `OAuthAuthorizationServerProvider`; the dashboard
  door shows the consent page. Neither stores anything itself, so the rules live here once, and the
  state is in the `RecordStore` (SQLite now, DynamoDB through the same Protocol).
* Every secret (a consent request's id, a code, an access or refresh token) is a random 256-bit value
  stored as its SHA-256, so a copy of the store lets nobody use one.
* Single use is an optimistic write: a code or a refresh token is marked `used` by a versioned replace,
  so two exchanges at once cannot both succeed. A second use of a refresh token (a stolen copy being
  replayed) revokes its whole family.
* An access token is bound to one resource (RFC 8707): it is accepted only where it was issued for.
* A token acts as the person who consented, with that person's scopes, and stops working when the
  person is disabled, exactly like their own admin JWT would.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from typing import TypeVar
from urllib.parse import urlsplit

from oratio.auth.api_keys import hash_secret
from oratio.auth.principals import token_principal
from oratio.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from oratio.services._common import Backends
from oratio.services.tenants import TenantService
from oratio.store.ports import Insert, Replace, Table
from oratio.store.tables import OAUTH_CLIENTS, OAUTH_CODES, OAUTH_REQUESTS, OAUTH_TOKENS
from schemas import Admin, Principal
from schemas.oauth import HASH, OAUTH_TENANT, AuthorisedClient, OAuthClient, OAuthCode, OAuthRequest, OAuthToken
from schemas.outbox import sortable

logger = logging.getLogger("oratio.services.oauth")
R = TypeVar("R", OAuthRequest, OAuthCode, OAuthToken)

CONSENT_PATH = "/oauth/consent"
"""Where the authorization endpoint sends a person (the dashboard serves it; the MCP door links to it)."""
SECRET_MAX = 128
"""A presented code or token longer than this is refused before it is hashed."""
ACCESS_PREFIX = "oat_"
"""Access tokens start with this, so /mcp tells them from admin JWTs without trying both."""
REFRESH_PREFIX = "ort_"
MAX_REDIRECT_URIS = 5
URI_MAX = 2048
STATE_MAX = 1024
SCOPES_MAX = 32
METADATA_MAX = 16 * 1024
"""A registered client's metadata (the SDK's JSON of it) at most, as `OAuthClient.metadata` stores it."""
AUTHORISED_MAX = 100
"""Consents one person's list shows at most (each is one client signed in once)."""
TOKEN_REFUSED = "the token is not valid: it has expired, was revoked, or is for another resource"


@dataclass(frozen=True)
class OAuthSettings:
    access_ttl: timedelta = timedelta(minutes=15)
    refresh_ttl: timedelta = timedelta(days=30)
    code_ttl: timedelta = timedelta(minutes=2)
    max_clients: int = 1000


@dataclass(frozen=True)
class Issued:
    """Tokens handed to a client once (never stored in the clear)."""

    access_token: str
    refresh_token: str
    expires_in: int
    scopes: list[str]


def check_redirect_uri(uri: str) -> None:
    """https anywhere, or http to a loopback address only (RFC 8252 §7.3); no fragment (RFC 6749 §3.1.2)."""
    if len(uri) > URI_MAX:  # what a consent request and a code store (a longer one failed only at /authorize)
        raise InvalidInput(f"a redirect URI is at most {URI_MAX} characters")
    parts = urlsplit(uri)
    if parts.fragment or not parts.hostname:
        raise InvalidInput(f"redirect URI {uri[:100]!r} must be absolute and have no fragment")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return
    raise InvalidInput(f"redirect URI {uri[:100]!r} must be https, or http to 127.0.0.1/[::1]/localhost")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class OAuthService:
    def __init__(self, backends: Backends, tenants: TenantService, settings: OAuthSettings) -> None:
        self._b = backends
        self._tenants = tenants
        self._s = settings

    def now(self) -> datetime:
        return self._b.clock()

    # -- clients --------------------------------------------------------------------------------

    def register(self, client_id: str, name: str, redirect_uris: Sequence[str], metadata: str) -> OAuthClient:
        """Store a dynamically registered client: redirect URIs checked, the number of clients capped.

        Registration is open to anyone (RFC 7591, as MCP clients expect), so a stranger can register clients
        that nobody ever consents to. Had they counted like the others, one address at the per-address rate
        would fill the cap within hours and close registration to every real client for good. At the cap the
        oldest client nobody has consented to is deleted to make room; only clients people consented to
        (`authorised_at`) hold their place, and when they alone fill the cap registration is refused."""
        if not 1 <= len(redirect_uris) <= MAX_REDIRECT_URIS:
            raise InvalidInput(f"a client has 1 to {MAX_REDIRECT_URIS} redirect URIs")
        for uri in redirect_uris:
            check_redirect_uri(uri)
        if len(metadata) > METADATA_MAX:  # else the record refuses it: a ValidationError, a 500 for a stranger
            raise InvalidInput(f"client metadata is at most {METADATA_MAX // 1024} KiB of JSON")
        count, idle = self._clients(self._s.max_clients + 1)
        if count >= self._s.max_clients:
            if idle is None:
                raise InvalidInput(f"this server takes no more clients (at most {self._s.max_clients})")
            self._b.store.delete(OAUTH_CLIENTS, "oauth_clients", idle.client_id)
            logger.info("client=%s | oauth client nobody consented to removed to make room", idle.client_id)
        client = OAuthClient(
            tenant_id=OAUTH_TENANT, client_id=client_id, name=name[:200], metadata=metadata, created_at=self._b.clock()
        )
        stored = self._b.store.insert(OAUTH_CLIENTS, client)
        logger.info("client=%s | oauth client registered", client_id)
        return stored

    def client(self, client_id: str) -> OAuthClient | None:
        if not 1 <= len(client_id) <= 64:
            return None
        return self._b.store.get(OAUTH_CLIENTS, "oauth_clients", client_id)

    def _clients(self, up_to: int) -> tuple[int, OAuthClient | None]:
        """How many clients are registered (counted up to `up_to`), and the oldest nobody has consented to."""
        count, idle, cursor = 0, None, None
        while count < up_to:
            page = self._b.store.query(OAUTH_CLIENTS, "oauth_clients", limit=100, cursor=cursor)
            count += len(page.items)
            for client in page.items:
                if client.authorised_at is None and (idle is None or client.created_at < idle.created_at):
                    idle = client
            cursor = page.next_cursor
            if cursor is None:
                break
        return count, idle

    def _mark_authorised(self, client_id: str) -> None:
        """The client has a person's consent: from now on it keeps its place at the cap."""
        client = self.client(client_id)
        if client is None or client.authorised_at is not None:
            return
        try:
            self._b.store.replace(OAUTH_CLIENTS, client.model_copy(update={"authorised_at": self._b.clock()}))
        except Conflict:
            pass  # marked by a consent given at the same moment

    # -- consent --------------------------------------------------------------------------------

    def start(
        self,
        client_id: str,
        *,
        scopes: Sequence[str],
        code_challenge: str,
        redirect_uri: str,
        redirect_uri_explicit: bool,
        state: str | None,
        resource: str,
    ) -> str:
        """Hold an authorization request until the person consents; returns the request's id (for the page URL).

        InvalidInput for a request past what is stored (the client's own `state`, the scopes it asks for),
        said to the client rather than failing the stored record."""
        if state is not None and len(state) > STATE_MAX:
            raise InvalidInput(f"state is at most {STATE_MAX} characters")
        if len(scopes) > SCOPES_MAX:
            raise InvalidInput(f"at most {SCOPES_MAX} scopes may be asked for")
        check_redirect_uri(redirect_uri)
        secret = secrets.token_urlsafe(32)
        request = OAuthRequest(
            tenant_id=OAUTH_TENANT,
            id_hash=hash_secret(secret),
            client_id=client_id,
            scopes=list(scopes),
            code_challenge=code_challenge,
            redirect_uri=redirect_uri,
            redirect_uri_explicit=redirect_uri_explicit,
            state=state,
            resource=resource,
            expires_at=self._b.clock() + self._s.code_ttl * 5,
        )
        self._b.store.insert(OAUTH_REQUESTS, request)
        return secret

    def pending(self, request_id: str) -> tuple[OAuthRequest, OAuthClient]:
        """The request a consent page shows, and its client; Unauthenticated once it has expired or been answered."""
        request = self._get(OAUTH_REQUESTS, "oauth_requests", request_id)
        client = None if request is None else self.client(request.client_id)
        if request is None or client is None or request.expires_at <= self._b.clock():
            raise Unauthenticated("this sign-in request has expired or was answered; start again from the client")
        return request, client

    def answer(self, request_id: str, principal: Principal, *, approve: bool) -> tuple[OAuthRequest, str | None]:
        """The person's answer: the request is used up either way; approving issues a code (returned once)."""
        request, _ = self.pending(request_id)
        if not self._b.store.delete(OAUTH_REQUESTS, "oauth_requests", request.id_hash):
            raise Unauthenticated("this sign-in request was already answered")
        if not approve:
            return request, None
        self._mark_authorised(request.client_id)
        code = secrets.token_urlsafe(32)
        granted = sorted({s.value for s in principal.scopes})
        self._b.store.insert(
            OAUTH_CODES,
            OAuthCode(
                tenant_id=principal.tenant_id,
                code_hash=hash_secret(code),
                client_id=request.client_id,
                admin_id=principal.subject,
                scopes=granted,
                resource=request.resource,
                expires_at=self._b.clock() + self._s.code_ttl,
                code_challenge=request.code_challenge,
                redirect_uri=request.redirect_uri,
                redirect_uri_explicit=request.redirect_uri_explicit,
            ),
        )
        logger.info(
            "tenant=%s admin=%s client=%s | oauth consent given",
            principal.tenant_id,
            principal.subject,
            request.client_id,
        )
        return request, code

    # -- codes and tokens -----------------------------------------------------------------------

    def code(self, client_id: str, code: str) -> OAuthCode | None:
        """An unused code issued to this client (expiry is the caller's check, so it can say so).

        A code presented again after its exchange means someone else holds a copy (it leaked from a log, a
        Referer, a proxy): the tokens its exchange issued are revoked, as for a replayed refresh token
        (RFC 9700 §4.5, OAuth 2.1 §4.1.3), whoever the second holder is."""
        found = self._get(OAUTH_CODES, "oauth_codes", code)
        if found is not None and found.used and found.family is not None:
            revoked = self.revoke_family(found.family)
            logger.warning("client=%s | oauth code used again: its tokens revoked (%d)", found.client_id, revoked)
            return None
        if found is None or found.used or found.client_id != client_id:
            return None
        return found

    def exchange_code(self, code: OAuthCode) -> Issued:
        """Use the code up (once, whoever races) and issue the first access and refresh tokens."""
        if code.expires_at <= self._b.clock():
            raise Unauthenticated("authorization code has expired")
        family = hash_secret(secrets.token_urlsafe(32))
        issued, writes = self._tokens(code, family, self._consent_time(code.tenant_id, code.admin_id))
        try:
            used = code.model_copy(update={"used": True, "family": family})
            self._b.store.transact([Replace(OAUTH_CODES, used), *writes])
        except Conflict:
            raise Unauthenticated("authorization code was already used") from None
        return issued

    def refresh_token(self, client_id: str, token: str) -> OAuthToken | None:
        found = self._get(OAUTH_TOKENS, "oauth_tokens", token)
        if found is None or found.kind != "refresh" or found.client_id != client_id or found.revoked:
            return None
        if found.used:
            self.revoke_family(found.family)  # a replayed refresh token: someone holds a copy
            return None
        if found.expires_at <= self._b.clock():
            return None
        admin = self._tenants.find_admin(found.tenant_id, found.admin_id)
        if admin is None or _revoked_by(admin, found):
            return None
        return found

    def rotate(self, refresh: OAuthToken, scopes: Sequence[str]) -> Issued:
        """Use the refresh token up and issue a new pair (scopes may only narrow)."""
        narrowed = [s for s in refresh.scopes if not scopes or s in scopes]
        grant = refresh.model_copy(update={"scopes": narrowed})
        issued, writes = self._tokens(grant, refresh.family, refresh.consented_at)  # a rotation is no new consent
        try:
            self._b.store.transact([Replace(OAUTH_TOKENS, refresh.model_copy(update={"used": True})), *writes])
        except Conflict:
            raise Unauthenticated("refresh token was already used") from None
        return issued

    def access(self, token: str, resource: str) -> Principal:
        """The person an access token acts for at `resource`, or Unauthenticated."""
        found = self._get(OAUTH_TOKENS, "oauth_tokens", token)
        if (
            found is None
            or found.kind != "access"
            or found.revoked
            or found.expires_at <= self._b.clock()
            or found.resource != resource
        ):
            raise Unauthenticated(TOKEN_REFUSED)
        admin = self._tenants.find_admin(found.tenant_id, found.admin_id)
        if admin is None or admin.disabled:
            raise Unauthenticated("token's admin no longer has access")
        if _revoked_by(admin, found):
            raise Unauthenticated("token was revoked; sign the client in again")
        # The person's scopes today, narrowed to those consented to: a demoted admin's token shrinks with them.
        return token_principal(admin.tenant_id, admin.id, [s.value for s in admin.scopes if s.value in found.scopes])

    def token(self, token: str) -> OAuthToken | None:
        return self._get(OAUTH_TOKENS, "oauth_tokens", token)

    def revoke_family(self, family: str) -> int:
        """Revoke every token of one consent; returns how many were revoked."""
        revoked, cursor = 0, None
        while True:
            page = self._b.store.query(OAUTH_TOKENS, family, index="by_family", limit=100, cursor=cursor)
            for found in page.items:
                if not found.revoked:
                    try:
                        self._b.store.replace(OAUTH_TOKENS, found.model_copy(update={"revoked": True}))
                        revoked += 1
                    except Conflict:
                        pass  # moved meanwhile (used or revoked): revoked by whoever moved it, or next sweep
            cursor = page.next_cursor
            if cursor is None:
                return revoked

    # -- a person's authorised clients -------------------------------------------------------------

    def authorised(self, principal: Principal) -> list[AuthorisedClient]:
        """The clients the principal's person has consented to and not revoked (live refresh tokens), newest
        consent first, at most AUTHORISED_MAX."""
        page = self._b.store.query(
            OAUTH_TOKENS, f"{principal.tenant_id}#{principal.subject}", index="by_admin", limit=AUTHORISED_MAX
        )
        now = self._b.clock()
        found = [t for t in page.items if t.expires_at > now]
        names = {t.client_id: self.client(t.client_id) for t in found}
        return [
            AuthorisedClient(
                consent=t.family,
                client_id=t.client_id,
                client_name=(client.name if (client := names[t.client_id]) is not None else t.client_id),
                scopes=t.scopes,
                resource=t.resource,
                expires_at=t.expires_at,
            )
            for t in sorted(found, key=lambda t: t.expires_at, reverse=True)
        ]

    def revoke_authorised(self, principal: Principal, consent: str) -> int:
        """Revoke one of the principal's own consents (every token of it); NotFound for any other id, another
        person's or another tenant's included, so an id reveals nothing."""
        mine = (
            self._b.store.query(OAUTH_TOKENS, consent, index="by_family", limit=1).items
            if re.fullmatch(HASH, consent)
            else []
        )
        if not mine or (mine[0].tenant_id, mine[0].admin_id) != (principal.tenant_id, principal.subject):
            raise NotFound(f"authorised client '{consent[:80]}' not found")
        revoked = self.revoke_family(consent)
        logger.info(
            "tenant=%s admin=%s | oauth consent revoked (%d tokens)", principal.tenant_id, principal.subject, revoked
        )
        return revoked

    def sweep(self, limit: int = 200) -> int:
        """Delete up to `limit` consent requests, codes and tokens past their expiry (the session sweeper calls
        this each round), so none of the tables grows with sign-ins over time. Returns how many went."""
        until = f"{sortable(self._b.clock())}#~"
        store = self._b.store
        requests = store.query(OAUTH_REQUESTS, "oauth_requests", index="by_expiry", sort_to=until, limit=limit)
        codes = store.query(OAUTH_CODES, "oauth_codes", index="by_expiry", sort_to=until, limit=limit)
        tokens = store.query(OAUTH_TOKENS, "oauth_tokens", index="by_expiry", sort_to=until, limit=limit)
        gone = sum(store.delete(OAUTH_REQUESTS, "oauth_requests", r.id_hash) for r in requests.items)
        gone += sum(store.delete(OAUTH_CODES, "oauth_codes", c.code_hash) for c in codes.items)
        gone += sum(store.delete(OAUTH_TOKENS, "oauth_tokens", t.token_hash) for t in tokens.items)
        return gone

    def _consent_time(self, tenant_id: str, admin_id: str) -> datetime:
        """Now on the wall clock (`revoke_admin_tokens` writes its cutoff with it), or the admin's cutoff if that
        is later: the cutoff is the next whole second, and a consent given within it comes after the revocation
        (as `AccessService` issues a JWT at the cutoff)."""
        now = datetime.now(UTC)
        admin = self._tenants.find_admin(tenant_id, admin_id)
        if admin is not None and admin.tokens_valid_after is not None and admin.tokens_valid_after > now:
            return admin.tokens_valid_after
        return now

    def _tokens(
        self, grant: OAuthCode | OAuthToken, family: str, consented_at: datetime | None
    ) -> tuple[Issued, list[Insert[OAuthToken]]]:
        now = self._b.clock()
        access = ACCESS_PREFIX + secrets.token_urlsafe(32)
        refresh = REFRESH_PREFIX + secrets.token_urlsafe(32)
        common = {
            "tenant_id": grant.tenant_id,
            "client_id": grant.client_id,
            "admin_id": grant.admin_id,
            "scopes": list(grant.scopes),
            "resource": grant.resource,
            "family": family,
            "consented_at": consented_at,
        }
        writes = [
            Insert(
                OAUTH_TOKENS,
                OAuthToken(
                    token_hash=hash_secret(access), kind="access", expires_at=now + self._s.access_ttl, **common
                ),
            ),
            Insert(
                OAUTH_TOKENS,
                OAuthToken(
                    token_hash=hash_secret(refresh), kind="refresh", expires_at=now + self._s.refresh_ttl, **common
                ),
            ),
        ]
        issued = Issued(access, refresh, int(self._s.access_ttl.total_seconds()), list(grant.scopes))
        return issued, writes

    def _get(self, table: Table[R], partition: str, secret: str) -> R | None:
        if not 1 <= len(secret) <= SECRET_MAX:
            return None
        return self._b.store.get(table, partition, hash_secret(secret))


def _revoked_by(admin: Admin, token: OAuthToken) -> bool:
    """Whether `revoke_admin_tokens` (the admin's `tokens_valid_after`) covers the token's family: consented
    before the cutoff, or issued before consents were dated (fail closed once the admin has a cutoff)."""
    cutoff = admin.tokens_valid_after
    return cutoff is not None and (token.consented_at is None or token.consented_at < cutoff)
