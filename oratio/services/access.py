"""Turning credentials presented at a door into a Principal: admin JWTs, with a per-admin limit.

Every door that takes an admin token (MCP over HTTP, the dashboard API, `/ws/dashboard` at open and
on every recheck, the creator app) goes through `admin_principal`, so disabling an admin or revoking
its tokens is decided here once and takes effect at all of them on the next request.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from oratio.auth.principals import admin_as_principal
from oratio.auth.rate_limit import RateLimiter
from oratio.auth.tokens import JwtSettings, check_ttl, issue_token, verify_token_claims
from oratio.errors import InvalidState, Unauthenticated
from oratio.services.tenants import TenantService
from schemas import Admin, Principal


class AccessService:
    def __init__(self, jwt: JwtSettings, tenants: TenantService, limiter: RateLimiter) -> None:
        self._jwt = jwt
        self._tenants = tenants
        self._limiter = limiter

    def token_for(self, admin: Admin, *, ttl_seconds: int | None = None) -> str:
        """A token for `admin`; a lifetime outside 1 s .. ORATIO_JWT_MAX_TTL_SECONDS is InvalidInput.

        Issued no earlier than the admin's `tokens_valid_after`, so a token minted right after a
        revocation (within the same second) is not itself revoked.
        """
        if ttl_seconds is not None:
            check_ttl(self._jwt, ttl_seconds)
        principal = admin_as_principal(admin)
        now = datetime.now(UTC)
        if admin.tokens_valid_after is not None and admin.tokens_valid_after > now:
            now = admin.tokens_valid_after
        return issue_token(self._jwt, principal, ttl_seconds=ttl_seconds, now=now)

    def issue_admin_token(self, tenant_id: str, admin_id: str, *, ttl_seconds: int | None = None) -> str:
        """Operator path (`oratio admin token`): a token for an admin that exists and is enabled."""
        admin = self._tenants.get_admin(tenant_id, admin_id)
        if admin.disabled:
            raise InvalidState(f"admin {admin_id} is disabled; enable it first (oratio admin enable)")
        return self.token_for(admin, ttl_seconds=ttl_seconds)

    def admin_principal(self, token: str) -> Principal:
        """Verify the token, then confirm its admin still exists, is enabled and has not had its
        tokens revoked since this one was issued, then rate-limit.

        The store check means disabling, revoking or removing an admin takes effect at once, not at expiry.
        """
        verified = verify_token_claims(self._jwt, token)
        principal = verified.principal
        if principal.subject.startswith("adm_"):
            admin = self._tenants.find_admin(principal.tenant_id, principal.subject)
            if admin is None or admin.disabled:
                raise Unauthenticated("token's admin no longer has access")
            if admin.tokens_valid_after is not None and verified.issued_at < _seconds(admin.tokens_valid_after):
                raise Unauthenticated("token was revoked; ask for a new one")
        elif not self._tenants.tenant_exists(principal.tenant_id):
            raise Unauthenticated("token's tenant does not exist")
        self.check_rate(principal)
        return principal

    def check_rate(self, principal: Principal) -> None:
        """The per-admin rate limit every credential of that admin shares (JWT or OAuth token); RateLimited past it."""
        self._limiter.check(f"{principal.tenant_id}:{principal.subject}")


def _seconds(moment: datetime) -> int:
    # `iat` is whole seconds; `tokens_valid_after` is stored on a whole second (see TenantService).
    return math.ceil(moment.timestamp())
