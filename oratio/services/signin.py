"""People signing in to the dashboard with an email and a password (the embedded default).

Why it is shaped this way:

* One service decides everything about a person's access (invite, accept, reset, sign in, the session a
  cookie names, sign out), so the dashboard door and `oratio admin invite` only carry bytes; the MCP
  authorization server (issue 22 item 6) can ask `principal()` for the signed-in person at its consent page.
* Nothing secret is stored: the cookie's id and a link's token are random 256-bit values stored as their
  SHA-256 (the record's key), passwords as argon2id (`oratio.auth.passwords`).
* No user enumeration: `sign_in` answers the same `Unauthenticated` and does one argon2 verification
  whether the email exists or not, and `request_reset` answers nothing either way; lockouts count any
  email alike (`oratio.auth.lockout`).
* A link is single-use by an optimistic write: its record and the login it changes are replaced in one
  transaction conditional on both versions, so two uses at once cannot both succeed. Setting the password
  also spends every other link sent before it (invited twice, reset asked for twice).
* "Sign out everywhere" and a password change set `Login.sessions_valid_after`: every older session of the
  person is refused at its next request, whatever process serves it. Signing out everywhere and a password
  reset also revoke the person's tokens (`TenantService.revoke_own_tokens`: minted JWTs and OAuth consents).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import TypeAdapter, ValidationError

from oratio.auth.api_keys import hash_secret
from oratio.auth.lockout import Lockout
from oratio.auth.passwords import Passwords, check_password
from oratio.auth.principals import admin_as_principal
from oratio.auth.rate_limit import RateLimiter, TokenBucketLimiter
from oratio.errors import Conflict, Forbidden, InvalidInput, InvalidState, RateLimited, Unauthenticated
from oratio.services._common import Backends, authorize, update_with_retry
from oratio.services.outbox import email_delivery
from oratio.services.tenants import TenantService
from oratio.store.ports import Insert, Replace, Write
from oratio.store.tables import BROWSER_SESSIONS, LOGINS, OUTBOX, SIGNIN_LINKS
from schemas import Admin, EmailContent, Principal, Scope
from schemas._base import Email
from schemas.outbox import sortable
from schemas.signin import BrowserSession, LinkPurpose, Login, SignInLink

logger = logging.getLogger("oratio.services.signin")

SECRET_BYTES = 32
SECRET_MAX = 128
"""A presented cookie or link token longer than this is refused before it is hashed."""
TOUCH_EVERY = timedelta(minutes=1)
"""A session's `last_seen_at` is written at most this often (one store write per minute per browser)."""
RESETS_PER_HOUR = 3
"""Reset emails one address receives at most per hour, however often a stranger asks."""
REFUSED = "email or password is not right"
_EMAIL: TypeAdapter[str] = TypeAdapter(Email)
NOT_AN_ADMIN = (
    "you signed in with your organisation's account, but this email is not an admin of any organisation here; "
    "ask an admin to invite you (oratio admin invite)"
)
ANOTHER_ACCOUNT = (
    "this email signs in here with another account of your organisation's sign-in; ask an admin "
    "(the login must be removed and invited again to move it to a new account)"
)
LINK_REFUSED = "this link is not valid: it has expired or was already used; ask for a new one"


@dataclass(frozen=True)
class SignInSettings:
    idle: timedelta = timedelta(hours=2)
    absolute: timedelta = timedelta(hours=24)
    invite_ttl: timedelta = timedelta(days=7)
    reset_ttl: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class SignedIn:
    """A new browser session: `secret` goes into the cookie once and is never stored."""

    secret: str
    session: BrowserSession
    principal: Principal


@dataclass(frozen=True)
class Invitation:
    admin: Admin
    link: str
    """The link itself, for the operator's CLI when no email is configured; never shown in the dashboard."""
    emailed: bool


def csrf_token(secret: str) -> str:
    """The session's CSRF token: derived from the cookie's secret (which a page on another site cannot read),
    and not reversible to it, so the page may hold it in script."""
    return hashlib.sha256(b"oratio-csrf\0" + secret.encode("utf-8")).hexdigest()


def csrf_matches(secret: str, presented: str) -> bool:
    return hmac.compare_digest(csrf_token(secret).encode(), presented.encode("utf-8", "replace"))


class SignInService:
    def __init__(
        self,
        backends: Backends,
        tenants: TenantService,
        passwords: Passwords,
        settings: SignInSettings,
        *,
        accounts: Lockout,
        clients: Lockout,
        limiter: RateLimiter,
        resets: RateLimiter | None = None,
        email_on: bool,
        max_attempts: int,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self._b = backends
        self._tenants = tenants
        self._passwords = passwords
        self._s = settings
        self._accounts = accounts
        self._clients = clients
        self._limiter = limiter
        self._resets = resets or TokenBucketLimiter(rate_per_minute=RESETS_PER_HOUR / 60, burst=RESETS_PER_HOUR)
        self.email_on = email_on
        self._max_attempts = max_attempts
        self._wake = wake

    # -- invitations and resets ------------------------------------------------------------------

    def invite(self, principal: Principal, email: str, name: str, base_url: str) -> Invitation:
        """Add (or find) an admin of the principal's tenant with `email` and send a single-use link.

        A person who already has a password gets a reset link instead (the same email can be resent).
        An email that signs in to another tenant is refused: the sign-in form asks for no tenant.
        """
        tenant_id = authorize(principal, Scope.ADMIN)
        address = _email(email)
        login = self._b.store.get(LOGINS, "logins", address)
        if login is not None and login.tenant_id != tenant_id:
            raise Conflict("this email already signs in to another organisation; use another address")
        admin = self._tenants.find_admin_by_email(tenant_id, address)
        if admin is None:
            admin = self._tenants.create_admin(tenant_id, address, name)
        if admin.disabled:
            raise InvalidState(f"admin {admin.id} is disabled; enable it first (oratio admin enable)")
        writes: list[Write] = []
        if login is None:
            writes.append(Insert(LOGINS, Login(tenant_id=tenant_id, email=address, admin_id=admin.id)))
        purpose = LinkPurpose.RESET if login is not None and login.password_hash else LinkPurpose.INVITE
        link = self._link(writes, tenant_id, address, admin.id, purpose, base_url)
        self._b.store.transact(writes)
        self._after_email()
        logger.info(
            "tenant=%s admin=%s by=%s purpose=%s | sign-in link sent",
            tenant_id,
            admin.id,
            principal.subject,
            purpose.value,
        )
        return Invitation(admin=admin, link=link, emailed=self.email_on)

    def request_reset(self, email: str, base_url: str) -> None:
        """Email a reset link if `email` signs in; answers nothing either way (no enumeration)."""
        try:
            address = _email(email)
        except InvalidInput:
            return
        login = self._b.store.get(LOGINS, "logins", address)
        if login is None or not self.email_on:
            return
        admin = self._tenants.find_admin(login.tenant_id, login.admin_id)
        if admin is None or admin.disabled:
            return
        try:
            self._resets.check(address)  # a stranger cannot fill a person's inbox (or the store) with links
        except RateLimited:
            logger.info("tenant=%s admin=%s | reset link not sent: too many asked", login.tenant_id, login.admin_id)
            return
        writes: list[Write] = []
        self._link(writes, login.tenant_id, address, login.admin_id, LinkPurpose.RESET, base_url)
        self._b.store.transact(writes)
        self._after_email()

    def accept(self, token: str, password: str, purpose: LinkPurpose) -> SignedIn:
        """Follow an invitation or reset link: set the password (ending every other session), sign in."""
        check_password(password)
        link = self._find_link(token)
        now = self._b.clock()
        if link is None or link.purpose is not purpose or link.used_at is not None or link.expires_at <= now:
            raise Unauthenticated(LINK_REFUSED)
        login = self._b.store.get(LOGINS, "logins", link.email)
        if login is None or login.admin_id != link.admin_id or _older_than_the_password(link, login):
            raise Unauthenticated(LINK_REFUSED)
        hashed = self._passwords.hash(password)
        used = link.model_copy(update={"used_at": now})
        changed = login.model_copy(update={"password_hash": hashed, "sessions_valid_after": now})
        try:
            self._b.store.transact([Replace(SIGNIN_LINKS, used), Replace(LOGINS, changed)])
        except Conflict:
            raise Unauthenticated(LINK_REFUSED) from None
        self._accounts.succeeded(link.email)
        logger.info("tenant=%s admin=%s purpose=%s | password set", link.tenant_id, link.admin_id, purpose.value)
        signed_in = self._open(changed)
        if purpose is LinkPurpose.RESET:
            # A reset is how a person takes an account back: a token minted from a session someone else held
            # (an MCP client's 30-day JWT, an OAuth consent) ends with the old password, as on sign out everywhere.
            self._tenants.revoke_own_tokens(signed_in.principal)
        return signed_in

    # -- signing in and out ----------------------------------------------------------------------

    def sign_in(self, email: str, password: str, client: str) -> SignedIn:
        """A new session for the right email and password; `Unauthenticated(REFUSED)` for anything else,
        `RateLimited` (Retry-After) while the email or the client address is locked out."""
        address = email.strip().casefold()[:254]
        self._clients.check(f"ip:{client}")
        self._accounts.check(address)
        login = self._b.store.get(LOGINS, "logins", address) if address else None
        if login is None:
            self._passwords.verify_absent(password)
            ok = False
        else:
            ok = self._passwords.verify(login.password_hash, password)
        admin = self._tenants.find_admin(login.tenant_id, login.admin_id) if ok and login is not None else None
        if login is None or admin is None or admin.disabled:
            self._accounts.failed(address)
            self._clients.failed(f"ip:{client}")
            raise Unauthenticated(REFUSED)
        self._accounts.succeeded(address)
        if self._passwords.needs_rehash(login.password_hash):
            self._rehash(login, password)
        logger.info("tenant=%s admin=%s | signed in", login.tenant_id, login.admin_id)
        return self._open(login)

    def sign_in_verified(self, email: str, issuer: str, subject: str) -> SignedIn:
        """A new session for a person whose email an OIDC issuer has just vouched for
        (`oratio.services.oidc_signin`): the same login, admin and session as the password path, so
        everything after (CSRF, expiry, sign out everywhere) is the same. `subject` is the issuer's
        `iss` and `sub`: the first sign-in binds the login to it, later ones must match. Forbidden with a
        clear reason when the email is no admin here, the admin is disabled or another account claims it."""
        address = email.strip().casefold()[:254]
        login = self._b.store.get(LOGINS, "logins", address) if address else None
        admin = self._tenants.find_admin(login.tenant_id, login.admin_id) if login is not None else None
        if login is None or admin is None:
            logger.info("issuer=%s | issuer sign-in refused: no admin has this email", issuer)
            raise Forbidden(NOT_AN_ADMIN)
        if admin.disabled:
            raise Forbidden("your access was removed; ask an admin")
        bound = hash_secret(subject)
        if not login.issuer_subject:
            try:
                login = self._b.store.replace(LOGINS, login.model_copy(update={"issuer_subject": bound}))
            except Conflict:
                login = self._b.store.get(LOGINS, "logins", address) or login  # bound at the same moment: check it
        if not hmac.compare_digest(login.issuer_subject, bound):
            logger.warning(
                "tenant=%s admin=%s issuer=%s | issuer sign-in refused: another account",
                login.tenant_id,
                admin.id,
                issuer,
            )
            raise Forbidden(ANOTHER_ACCOUNT)
        logger.info("tenant=%s admin=%s issuer=%s | signed in with the issuer", login.tenant_id, admin.id, issuer)
        return self._open(login)

    def principal(self, secret: str) -> tuple[Principal, BrowserSession]:
        """The admin a session cookie names, or Unauthenticated; moves its idle expiry forward."""
        session = self._session(secret)
        now = self._b.clock()
        if session is None or session.expires_at <= now or session.last_seen_at + self._s.idle <= now:
            raise Unauthenticated("your session has ended; sign in again")
        login = self._b.store.get(LOGINS, "logins", session.email)
        if (
            login is None
            or login.admin_id != session.admin_id
            or (login.sessions_valid_after is not None and session.created_at < login.sessions_valid_after)
        ):
            raise Unauthenticated("your session has ended; sign in again")
        admin = self._tenants.find_admin(session.tenant_id, session.admin_id)
        if admin is None or admin.disabled:
            raise Unauthenticated("your access was removed; ask an admin")
        principal = admin_as_principal(admin)
        self._limiter.check(f"{principal.tenant_id}:{principal.subject}")
        if now - session.last_seen_at >= TOUCH_EVERY:
            try:
                session = self._b.store.replace(BROWSER_SESSIONS, session.model_copy(update={"last_seen_at": now}))
            except Conflict:
                pass  # another request touched it at the same moment: either write is as good
        return principal, session

    def sign_out(self, secret: str) -> None:
        """End this browser's session (nothing happens for an unknown one)."""
        if 0 < len(secret) <= SECRET_MAX:
            self._b.store.delete(BROWSER_SESSIONS, "browser_sessions", hash_secret(secret))

    def sign_out_everywhere(self, secret: str) -> None:
        """End every session of the person this cookie belongs to, this one included, and every token they
        hold (admin JWTs minted for MCP clients or scripts, OAuth consents): a session in someone else's
        hands could mint a 30-day token that would otherwise outlive this, the person's one remedy."""
        principal, session = self.principal(secret)
        now = self._b.clock()

        def apply(login: Login) -> Login:
            return login.model_copy(update={"sessions_valid_after": now})

        update_with_retry(self._b.store, LOGINS, "logins", session.email, "login", apply)
        self._tenants.revoke_own_tokens(principal)
        self.sign_out(secret)
        logger.info("tenant=%s admin=%s | signed out everywhere", principal.tenant_id, principal.subject)

    def sweep(self, limit: int = 200) -> int:
        """Delete up to `limit` browser sessions and links past their absolute end (the session sweeper
        calls this each round), so neither table grows with sign-ins over time. Returns how many went."""
        until = f"{sortable(self._b.clock())}#~"
        store = self._b.store
        sessions = store.query(BROWSER_SESSIONS, "browser_sessions", index="by_expiry", sort_to=until, limit=limit)
        links = store.query(SIGNIN_LINKS, "signin_links", index="by_expiry", sort_to=until, limit=limit)
        gone = sum(store.delete(BROWSER_SESSIONS, "browser_sessions", s.id_hash) for s in sessions.items)
        gone += sum(store.delete(SIGNIN_LINKS, "signin_links", link.token_hash) for link in links.items)
        return gone

    # -- internals -------------------------------------------------------------------------------

    def _open(self, login: Login) -> SignedIn:
        now = self._b.clock()
        secret = secrets.token_urlsafe(SECRET_BYTES)
        session = BrowserSession(
            tenant_id=login.tenant_id,
            id_hash=hash_secret(secret),
            admin_id=login.admin_id,
            email=login.email,
            created_at=now,
            last_seen_at=now,
            expires_at=now + self._s.absolute,
        )
        stored = self._b.store.insert(BROWSER_SESSIONS, session)
        admin = self._tenants.get_admin(login.tenant_id, login.admin_id)
        return SignedIn(secret=secret, session=stored, principal=admin_as_principal(admin))

    def _session(self, secret: str) -> BrowserSession | None:
        if not 0 < len(secret) <= SECRET_MAX:
            return None
        return self._b.store.get(BROWSER_SESSIONS, "browser_sessions", hash_secret(secret))

    def _find_link(self, token: str) -> SignInLink | None:
        if not 0 < len(token) <= SECRET_MAX:
            return None
        return self._b.store.get(SIGNIN_LINKS, "signin_links", hash_secret(token))

    def _link(
        self, writes: list[Write], tenant_id: str, email: str, admin_id: str, purpose: LinkPurpose, base_url: str
    ) -> str:
        token = secrets.token_urlsafe(SECRET_BYTES)
        now = self._b.clock()
        ttl = self._s.invite_ttl if purpose is LinkPurpose.INVITE else self._s.reset_ttl
        writes.append(
            Insert(
                SIGNIN_LINKS,
                SignInLink(
                    tenant_id=tenant_id,
                    token_hash=hash_secret(token),
                    purpose=purpose,
                    email=email,
                    admin_id=admin_id,
                    created_at=now,
                    expires_at=now + ttl,
                ),
            )
        )
        # The token rides in the fragment: browsers never send it to a server, a log or a Referer.
        link = f"{base_url.rstrip('/')}/dashboard#{purpose.value}={token}"
        if self.email_on:
            content = EmailContent(
                to=[email], subject=_SUBJECTS[purpose], body=_body(purpose, link, now + ttl), sensitive=True
            )
            writes.append(Insert(OUTBOX, email_delivery(self._b, tenant_id, content, max_attempts=self._max_attempts)))
        return link

    def _after_email(self) -> None:
        if self.email_on and self._wake is not None:
            self._wake()

    def _rehash(self, login: Login, password: str) -> None:
        try:
            self._b.store.replace(LOGINS, login.model_copy(update={"password_hash": self._passwords.hash(password)}))
        except (Conflict, InvalidInput):
            pass  # a concurrent change wins; the old hash still verifies


_SUBJECTS = {
    LinkPurpose.INVITE: "[Oratio] You are invited to the dashboard",
    LinkPurpose.RESET: "[Oratio] Reset your dashboard password",
}


def _body(purpose: LinkPurpose, link: str, expires: datetime) -> str:
    what = "set your password and sign in" if purpose is LinkPurpose.INVITE else "choose a new password"
    return (
        f"Open this link to {what}:\n\n{link}\n\n"
        f"It works once, until {expires:%Y-%m-%d %H:%M} UTC. If you did not expect this email, ignore it.\n"
    )


def _older_than_the_password(link: SignInLink, login: Login) -> bool:
    """A link sent before the password was last set (or the person signed out everywhere) is spent too: a
    second invitation or reset email still in a mailbox must not set the password again once one link has."""
    return login.sessions_valid_after is not None and link.created_at < login.sessions_valid_after


def _email(email: str) -> str:
    try:
        return _EMAIL.validate_python(email).casefold()
    except ValidationError:
        raise InvalidInput("not an email address", field="email") from None


__all__ = ["Invitation", "SignInService", "SignInSettings", "SignedIn", "csrf_matches", "csrf_token"]
