"""AccessService: admin tokens resolve to principals only while their admin still has access."""

from __future__ import annotations

import base64
import json

import pytest

from oratio.auth.tokens import JwtSettings, issue_token
from oratio.errors import Unauthenticated
from oratio.platform import Platform
from oratio.store.tables import ADMINS
from schemas import Principal, Scope
from tests.oratio.conftest import JWT_SECRET, Tenancy


def _jwt(
    platform: Platform, *, issuer: str | None = None, audience: str | None = None, secret: str = JWT_SECRET
) -> JwtSettings:
    """Token settings equal to the platform's, except for what the test changes."""
    return JwtSettings(
        secret=secret,
        issuer=issuer or platform.settings.jwt_issuer,
        audience=audience or platform.settings.jwt_audience,
    )


def test_token_roundtrips_to_the_admins_principal(platform: Platform, acme: Tenancy) -> None:
    token = platform.access.token_for(acme.admin)
    assert platform.access.admin_principal(token) == Principal(
        tenant_id=acme.tenant_id, subject=acme.admin.id, scopes=frozenset({Scope.ADMIN})
    )


def test_token_carries_the_admins_narrower_scopes(platform: Platform, acme: Tenancy) -> None:
    viewer = platform.tenants.create_admin(acme.tenant_id, "viewer@example.com", "Viewer", (Scope.AGENTS_READ,))
    principal = platform.access.admin_principal(platform.access.token_for(viewer))
    assert principal.scopes == frozenset({Scope.AGENTS_READ})
    assert not principal.allows(Scope.AGENTS_WRITE)


def test_a_deleted_admins_token_stops_working_at_once(platform: Platform, acme: Tenancy) -> None:
    token = platform.access.token_for(acme.admin)
    platform.access.admin_principal(token)
    assert platform.backends.store.delete(ADMINS, acme.tenant_id, acme.admin.id)
    with pytest.raises(Unauthenticated, match="no longer has access"):
        platform.access.admin_principal(token)


def test_a_disabled_admins_token_stops_working_at_once(platform: Platform, acme: Tenancy) -> None:
    token = platform.access.token_for(acme.admin)
    stored = platform.tenants.get_admin(acme.tenant_id, acme.admin.id)
    platform.backends.store.replace(ADMINS, stored.model_copy(update={"disabled": True}))
    with pytest.raises(Unauthenticated, match="no longer has access"):
        platform.access.admin_principal(token)


def test_a_tampered_token_is_refused(platform: Platform, acme: Tenancy, globex: Tenancy) -> None:
    header, payload, signature = platform.access.token_for(acme.admin).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["tid"] = globex.tenant_id  # move the token to another tenant without re-signing it
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthenticated, match="signature"):
        platform.access.admin_principal(f"{header}.{forged}.{signature}")
    with pytest.raises(Unauthenticated):
        platform.access.admin_principal(f"{header}.{payload}.")
    with pytest.raises(Unauthenticated):
        platform.access.admin_principal("not a token")


def test_a_token_from_another_issuer_or_key_is_refused(platform: Platform, acme: Tenancy) -> None:
    principal = Principal(tenant_id=acme.tenant_id, subject=acme.admin.id, scopes=frozenset({Scope.ADMIN}))
    with pytest.raises(Unauthenticated, match="issuer"):
        platform.access.admin_principal(issue_token(_jwt(platform, issuer="someone-else"), principal))
    with pytest.raises(Unauthenticated, match="audience"):
        platform.access.admin_principal(issue_token(_jwt(platform, audience="other-app"), principal))
    with pytest.raises(Unauthenticated, match="signature"):
        platform.access.admin_principal(issue_token(_jwt(platform, secret="y" * 40), principal))
    # The same claims signed with the platform's own settings are accepted: only the difference mattered.
    assert platform.access.admin_principal(issue_token(_jwt(platform), principal)) == principal


def test_a_service_token_needs_an_existing_tenant(platform: Platform, acme: Tenancy) -> None:
    service = Principal(tenant_id=acme.tenant_id, subject="svc-ingest", scopes=frozenset({Scope.AGENTS_READ}))
    assert platform.access.admin_principal(issue_token(_jwt(platform), service)) == service
    ghost = service.model_copy(update={"tenant_id": "ten_0000000000ghost"})
    with pytest.raises(Unauthenticated, match="tenant does not exist"):
        platform.access.admin_principal(issue_token(_jwt(platform), ghost))
