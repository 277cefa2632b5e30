"""The operator's own organisation: the tenant and admin `oratio init` or the first `oratio serve` made.

The store has no cross-tenant listing (tenancy is structural), so "has this installation been set
up?" is answered by a small file in the data directory naming the operator's tenant and admin. It
holds ids only: tokens are minted afresh and printed, never stored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from oratio.platform import Platform
from schemas import Admin

OPERATOR_FILE = "operator.json"


@dataclass(frozen=True)
class OperatorAdmin:
    admin: Admin
    created: bool
    """True when this call set the installation up (first start)."""


def operator_file(platform: Platform) -> Path:
    return platform.settings.data_dir / OPERATOR_FILE


def remember_operator(platform: Platform, admin: Admin) -> None:
    """Record the operator's tenant and admin (ids only), atomically."""
    path = operator_file(platform)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"tenant_id": admin.tenant_id, "admin_id": admin.id}))
    os.replace(temporary, path)


def recorded_operator(platform: Platform) -> Admin | None:
    """The operator admin recorded in the data directory, or None when there is none (or it is gone)."""
    path = operator_file(platform)
    if not path.exists():
        return None
    recorded = json.loads(path.read_text())
    return platform.tenants.find_admin(str(recorded["tenant_id"]), str(recorded["admin_id"]))


def ensure_operator_admin(
    platform: Platform, *, tenant_name: str = "My Org", email: str = "admin@example.com"
) -> OperatorAdmin:
    """The recorded operator admin, or a new tenant and admin when the installation has none yet."""
    found = recorded_operator(platform)
    if found is not None:
        return OperatorAdmin(found, created=False)
    tenant = platform.tenants.create_tenant(tenant_name)
    admin = platform.tenants.create_admin(tenant.tenant_id, email, "Admin")
    remember_operator(platform, admin)
    return OperatorAdmin(admin, created=True)
