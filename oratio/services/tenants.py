"""Tenants and admins. Creating a tenant is an operator action (CLI); admins manage their own tenant."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from oratio.errors import InvalidState
from oratio.ids import new_id
from oratio.services._common import Backends, all_items, authorize, require, update_with_retry
from oratio.store.tables import ADMINS, TENANTS
from schemas import Admin, EventType, Principal, Scope, Tenant

logger = logging.getLogger("oratio.services.tenants")


class TenantService:
    def __init__(self, backends: Backends) -> None:
        self._b = backends

    def create_tenant(self, name: str) -> Tenant:
        """Operator only: there is no tenant-scoped principal yet to authorize it."""
        tenant = Tenant(tenant_id=new_id("tenant"), name=name, created_at=self._b.clock())
        return self._b.store.insert(TENANTS, tenant)

    def get_tenant(self, principal: Principal) -> Tenant:
        tenant_id = principal.tenant_id
        return require(self._b.store.get(TENANTS, tenant_id, "tenant"), "tenant", tenant_id)

    def tenant_name(self, tenant_id: str) -> str:
        """Operator only (the CLI): a tenant's name by id."""
        return require(self._b.store.get(TENANTS, tenant_id, "tenant"), "tenant", tenant_id).name

    def list_all(self) -> list[Tenant]:
        """Operator only (`oratio tenants`): every tenant, oldest first. The one cross-tenant listing."""
        return all_items(self._b.store, TENANTS, "tenants", index="all")

    def admins_of(self, tenant_id: str) -> list[Admin]:
        """Operator only (`oratio admins`): a tenant's admins; NotFound for an unknown tenant."""
        require(self._b.store.get(TENANTS, tenant_id, "tenant"), "tenant", tenant_id)
        return all_items(self._b.store, ADMINS, tenant_id)

    def tenant_exists(self, tenant_id: str) -> bool:
        return self._b.store.get(TENANTS, tenant_id, "tenant") is not None

    def create_admin(self, tenant_id: str, email: str, name: str, scopes: tuple[Scope, ...] = (Scope.ADMIN,)) -> Admin:
        """Operator path (`oratio init`): add an admin to a tenant that must exist."""
        require(self._b.store.get(TENANTS, tenant_id, "tenant"), "tenant", tenant_id)
        admin = Admin(
            tenant_id=tenant_id,
            id=new_id("admin"),
            email=email,
            name=name,
            scopes=scopes,
            created_at=self._b.clock(),
        )
        return self._b.store.insert(ADMINS, admin)

    def add_admin(self, principal: Principal, email: str, name: str) -> Admin:
        """An admin invites another admin to the same tenant."""
        tenant_id = authorize(principal, Scope.ADMIN)
        return self.create_admin(tenant_id, email, name)

    def get_admin(self, tenant_id: str, admin_id: str) -> Admin:
        return require(self.find_admin(tenant_id, admin_id), "admin", admin_id)

    def find_admin(self, tenant_id: str, admin_id: str) -> Admin | None:
        return self._b.store.get(ADMINS, tenant_id, admin_id)

    def find_admin_by_email(self, tenant_id: str, email: str) -> Admin | None:
        return self._b.store.get_unique(ADMINS, tenant_id, email.strip().casefold())

    def list_admins(self, principal: Principal) -> list[Admin]:
        tenant_id = authorize(principal, Scope.ADMIN)
        return all_items(self._b.store, ADMINS, tenant_id)

    # -- an admin's access: disable, enable, revoke its tokens (MCP tools and `oratio admin ...`) -------

    def set_admin_disabled(self, principal: Principal, admin_id: str, disabled: bool) -> Admin:
        """Disable (every token refused at every door) or enable an admin of the principal's tenant.

        The last enabled admin holding the `admin` scope cannot be disabled, so a tenant is never
        locked out of managing itself (its tokens can still be revoked). Two admins disabling each
        other at the same instant could both pass this check; the operator's `oratio admin enable`
        undoes that.
        Another tenant's admin id reads as unknown.
        """
        tenant_id = authorize(principal, Scope.ADMIN)

        def apply(admin: Admin) -> Admin:
            if disabled and not admin.disabled:
                admins = all_items(self._b.store, ADMINS, tenant_id)
                if not any(a.id != admin_id and not a.disabled and Scope.ADMIN in a.scopes for a in admins):
                    raise InvalidState(
                        f"admin {admin_id} is the tenant's last enabled admin (with the admin scope); "
                        "enable or add another admin first"
                    )
            return admin.model_copy(update={"disabled": disabled})

        updated = update_with_retry(self._b.store, ADMINS, tenant_id, admin_id, "admin", apply)
        event = EventType.ADMIN_DISABLED if disabled else EventType.ADMIN_ENABLED
        self._b.emit(tenant_id, event, admin_id, by=principal.subject)
        logger.info(
            "tenant=%s admin=%s by=%s disabled=%s | admin access changed",
            tenant_id,
            admin_id,
            principal.subject,
            disabled,
        )
        return updated

    def revoke_admin_tokens(self, principal: Principal, admin_id: str) -> Admin:
        """Refuse every token issued to the admin until now; tokens minted from now on work.

        `tokens_valid_after` is the next whole second, because `iat` is whole seconds: a token issued
        earlier in this second is refused too (new ones are issued at that second, see AccessService).
        It is read from the wall clock, not the services' clock, because that is the clock `iat` is
        written with; a test clock set elsewhere would revoke nothing or everything.
        """
        tenant_id = authorize(principal, Scope.ADMIN)
        return self._revoke_tokens(tenant_id, admin_id, principal.subject)

    def revoke_own_tokens(self, principal: Principal) -> Admin:
        """`revoke_admin_tokens` for the principal's own admin, whatever its scopes: what a person signing out
        everywhere asks for (a token minted from a stolen browser session must not outlive it)."""
        return self._revoke_tokens(principal.tenant_id, principal.subject, principal.subject)

    def _revoke_tokens(self, tenant_id: str, admin_id: str, by: str) -> Admin:
        now = datetime.now(UTC)
        cutoff = now.replace(microsecond=0) + timedelta(seconds=1 if now.microsecond else 0)

        def apply(admin: Admin) -> Admin:
            previous = admin.tokens_valid_after
            return admin.model_copy(update={"tokens_valid_after": max(cutoff, previous) if previous else cutoff})

        updated = update_with_retry(self._b.store, ADMINS, tenant_id, admin_id, "admin", apply)
        self._b.emit(tenant_id, EventType.ADMIN_TOKENS_REVOKED, admin_id, by=by)
        logger.info("tenant=%s admin=%s by=%s | admin tokens revoked", tenant_id, admin_id, by)
        return updated
