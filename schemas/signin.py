"""People signing in to the dashboard on the embedded default: their password login, their browser
sessions, and the single-use links (invitation, password reset) that set a password.

Nothing here holds a secret in the clear: passwords are argon2 hashes, and a browser session's id and
a link's token are stored as their SHA-256 (the key of the record), so a copy of the store lets nobody
sign in or follow a link.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from schemas._base import Email, Identifier, Record, UtcDatetime, utcnow


class Login(Record):
    """An admin's email and password. `tenant_id` is the admin's tenant; the email is unique across
    tenants (the sign-in form asks for no tenant), so one email is one admin."""

    email: Email
    admin_id: Identifier
    password_hash: str = Field(default="", max_length=512)
    """argon2id (PHC string); empty until the invitation is accepted."""
    sessions_valid_after: UtcDatetime | None = None
    """Browser sessions created before this moment are refused: "sign out everywhere" and a password change."""
    created_at: UtcDatetime = Field(default_factory=utcnow)
    issuer_subject: str = Field(default="", pattern=r"^([0-9a-f]{64})?$")
    """SHA-256 of the OIDC issuer and `sub` that first signed in with this email (empty until then); later
    sign-ins through the issuer must be that same account, so an email the issuer hands to someone else later
    does not open this login (`oratio.services.signin.SignInService.sign_in_verified`)."""


class BrowserSession(Record):
    """A signed-in browser. The cookie holds a random id; the record is keyed by its SHA-256."""

    id_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    admin_id: Identifier
    email: Email
    created_at: UtcDatetime
    last_seen_at: UtcDatetime
    """Moved forward (at most once a minute) by requests: the idle expiry counts from here."""
    expires_at: UtcDatetime
    """The absolute end, whatever the activity."""


class LinkPurpose(StrEnum):
    INVITE = "invite"
    RESET = "reset"


class SignInLink(Record):
    """A single-use, expiring link sent by email (an invitation or a password reset), keyed by its token's SHA-256."""

    token_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    purpose: LinkPurpose
    email: Email
    admin_id: Identifier
    created_at: UtcDatetime
    expires_at: UtcDatetime
    used_at: UtcDatetime | None = None


__all__ = ["BrowserSession", "LinkPurpose", "Login", "SignInLink"]
