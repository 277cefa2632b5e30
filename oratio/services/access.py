"""Turning credentials presented at a door into a Principal: admin JWTs, with a per-admin limit."""

from __future__ import annotations

from oratio.auth.rate_limit import RateLimiter
from oratio.auth.tokens import JwtSettings, issue_token, verify_token
from oratio.errors import Unauthenticated
from oratio.services.tenants import TenantService
from schemas import Admin, Principal


class AccessService:
    def __init__(self, jwt: JwtSettings, tenants: TenantService, limiter: RateLimiter) -> None:
        self._jwt = jwt
        self._tenants = tenants
        self._limiter = limiter

    def token_for(self, admin: Admin, *, ttl_seconds: int | None = None) -> str:
        principal = Principal(tenant_id=admin.tenant_id, subject=admin.id, scopes=frozenset(admin.scopes))
        return issue_token(self._jwt, principal, ttl_seconds=ttl_seconds)

    def admin_principal(self, token: str) -> Principal:
        """Verify the token, then confirm its admin still exists and is enabled, then rate-limit.

        The store check means disabling or removing an admin takes effect at once, not at expiry.
        """
        principal = verify_token(self._jwt, token)
        if principal.subject.startswith("adm_"):
            admin = self._tenants.find_admin(principal.tenant_id, principal.subject)
            if admin is None or admin.disabled:
                raise Unauthenticated("token's admin no longer has access")
        elif not self._tenants.tenant_exists(principal.tenant_id):
            raise Unauthenticated("token's tenant does not exist")
        self._limiter.check(f"{principal.tenant_id}:{principal.subject}")
        return principal
