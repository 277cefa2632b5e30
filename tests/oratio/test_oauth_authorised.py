"""A person's authorised MCP clients: listed (live consents only) and revoked by their own person only.

On SQLite and on DynamoDB (tests/oratio runs both): the sparse `by_admin` index of the tokens table lists them."""

from __future__ import annotations

import pytest

from oratio.errors import NotFound, Unauthenticated
from oratio.platform import Platform
from schemas import Principal, Scope
from tests.support.oauth import RESOURCE, consent
from tests.support.tenants import Tenancy


def test_a_person_lists_the_clients_they_signed_in_and_revokes_one(
    platform: Platform, acme: Tenancy, globex: Tenancy
) -> None:
    first = consent(platform, acme.principal, "cid-1")
    second = consent(platform, acme.principal, "cid-2")
    refresh = platform.oauth.refresh_token("cid-2", second.refresh_token)
    assert refresh is not None
    platform.oauth.rotate(refresh, [])
    theirs = consent(platform, globex.principal, "cid-1")

    listed = platform.oauth.authorised(acme.principal)

    assert sorted(c.client_id for c in listed) == ["cid-1", "cid-2"]  # the rotated consent once, by its new token
    assert {c.client_name for c in listed} == {"Tool"} and all(c.resource == RESOURCE for c in listed)
    assert [c.client_id for c in platform.oauth.authorised(globex.principal)] == ["cid-1"]
    mine = next(c for c in listed if c.client_id == "cid-1")
    with pytest.raises(NotFound):
        platform.oauth.revoke_authorised(globex.principal, mine.consent)  # another tenant's person: unknown
    other = platform.tenants.create_admin(acme.tenant_id, "other@acme.example", "Other")
    colleague = Principal(tenant_id=acme.tenant_id, subject=other.id, scopes=frozenset({Scope.ADMIN}))
    with pytest.raises(NotFound):
        platform.oauth.revoke_authorised(colleague, mine.consent)  # a colleague's: unknown too
    with pytest.raises(NotFound):
        platform.oauth.revoke_authorised(acme.principal, "not-a-consent")

    assert platform.oauth.revoke_authorised(acme.principal, mine.consent) == 2

    with pytest.raises(Unauthenticated):
        platform.oauth.access(first.access_token, RESOURCE)
    assert [c.client_id for c in platform.oauth.authorised(acme.principal)] == ["cid-2"]
    assert platform.oauth.access(theirs.access_token, RESOURCE) == globex.principal
