"""Tenants and admins. Creating a tenant is an operator action (CLI); admins manage their own tenant."""

from __future__ import annotations

from oratio.ids import new_id
from oratio.services._common import Backends, all_items, authorize, require
from oratio.store.tables import ADMINS, TENANTS
from schemas import Admin, Principal, Scope, Tenant


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
