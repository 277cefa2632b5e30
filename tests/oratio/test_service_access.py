"""AccessService: admin tokens resolve to principals only while their admin still has access."""

from __future__ import annotations

import base64
import json

import pytest

from oratio.auth.tokens import JwtSettings, issue_token
from oratio.errors import Forbidden, InvalidInput, InvalidState, NotFound, Unauthenticated
from oratio.platform import Platform
from oratio.store.tables import ADMINS
from schemas import EventType, Principal, Scope
from tests.support.platforms import JWT_SECRET
from tests.support.tenants import Tenancy, narrow


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


# -- disable, enable, revoke (issue 15, item 14); the doors are tested in tests/reliability -----------


def test_disable_and_enable_an_admin(platform: Platform, acme: Tenancy) -> None:
    bob = platform.tenants.create_admin(acme.tenant_id, "bob@example.com", "Bob")
    token = platform.access.token_for(bob)
    disabled = platform.tenants.set_admin_disabled(acme.principal, bob.id, True)
    assert disabled.disabled and platform.tenants.get_admin(acme.tenant_id, bob.id).disabled
    with pytest.raises(Unauthenticated, match="no longer has access"):
        platform.access.admin_principal(token)
    with pytest.raises(InvalidState, match="disabled"):
        platform.access.issue_admin_token(acme.tenant_id, bob.id)
    platform.tenants.set_admin_disabled(acme.principal, bob.id, False)
    assert platform.access.admin_principal(token).subject == bob.id
    kinds = [e.type for e in platform.backends.events.read(acme.tenant_id, 0, 100)]
    assert kinds[-2:] == [EventType.ADMIN_DISABLED, EventType.ADMIN_ENABLED]


def test_revoked_tokens_stay_refused_and_new_ones_work(platform: Platform, acme: Tenancy) -> None:
    old = platform.access.token_for(acme.admin)
    revoked = platform.tenants.revoke_admin_tokens(acme.principal, acme.admin.id)
    assert revoked.tokens_valid_after is not None and revoked.tokens_valid_after.microsecond == 0
    with pytest.raises(Unauthenticated, match="revoked"):
        platform.access.admin_principal(old)
    fresh = platform.access.issue_admin_token(acme.tenant_id, acme.admin.id)
    assert platform.access.admin_principal(fresh).subject == acme.admin.id
    with pytest.raises(Unauthenticated, match="revoked"):
        platform.access.admin_principal(old)


def test_the_last_enabled_admin_cannot_be_disabled(platform: Platform, acme: Tenancy) -> None:
    with pytest.raises(InvalidState, match="last enabled admin"):
        platform.tenants.set_admin_disabled(acme.principal, acme.admin.id, True)
    bob = platform.tenants.create_admin(acme.tenant_id, "bob@example.com", "Bob")
    platform.tenants.set_admin_disabled(acme.principal, acme.admin.id, True)  # Bob is left
    with pytest.raises(InvalidState, match="last enabled admin"):
        platform.tenants.set_admin_disabled(acme.principal, bob.id, True)


def test_admins_of_another_tenant_are_out_of_reach(platform: Platform, acme: Tenancy, globex: Tenancy) -> None:
    with pytest.raises(NotFound):
        platform.tenants.set_admin_disabled(globex.principal, acme.admin.id, True)
    with pytest.raises(NotFound):
        platform.tenants.revoke_admin_tokens(globex.principal, acme.admin.id)
    with pytest.raises(Forbidden):
        platform.tenants.revoke_admin_tokens(narrow(acme, Scope.AGENTS_WRITE), acme.admin.id)
    assert platform.access.admin_principal(platform.access.token_for(acme.admin)).subject == acme.admin.id


def test_token_lifetime_is_capped(platform: Platform, acme: Tenancy) -> None:
    cap = platform.settings.jwt_max_ttl_seconds
    assert platform.access.token_for(acme.admin, ttl_seconds=cap)
    for ttl in (0, -1, cap + 1):
        with pytest.raises(InvalidInput, match="ORATIO_JWT_MAX_TTL_SECONDS"):
            platform.access.token_for(acme.admin, ttl_seconds=ttl)


def test_a_read_only_admin_does_not_count_as_the_one_left(platform: Platform, acme: Tenancy) -> None:
    platform.tenants.create_admin(acme.tenant_id, "viewer@example.com", "Viewer", (Scope.AGENTS_READ,))
    with pytest.raises(InvalidState, match="last enabled admin"):
        platform.tenants.set_admin_disabled(acme.principal, acme.admin.id, True)
