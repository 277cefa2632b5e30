"""`OAuthService` on SQLite and on DynamoDB (tests/oratio runs both): the store Protocol carries the
authorization server's state, so the same rules hold on either."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from oratio.errors import InvalidInput, Unauthenticated
from oratio.platform import Platform
from oratio.store.tables import OAUTH_TOKENS
from schemas import Principal, Scope
from tests.support.oauth import RESOURCE, URI, approved_code, consent, consent_request
from tests.support.platforms import MAX_DOCUMENT_BYTES, FakeClock
from tests.support.tenants import Tenancy


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"max_document_bytes": MAX_DOCUMENT_BYTES, "oauth_max_clients": 2}


def test_the_access_token_acts_as_the_person_for_its_resource_only(platform: Platform, acme: Tenancy) -> None:
    issued = consent(platform, acme.principal)

    assert platform.oauth.access(issued.access_token, RESOURCE) == acme.principal
    with pytest.raises(Unauthenticated):
        platform.oauth.access(issued.access_token, "https://other.example/mcp")
    with pytest.raises(Unauthenticated):
        platform.oauth.access(issued.refresh_token, RESOURCE)  # a refresh token is not an access token


def test_tokens_and_codes_are_stored_only_as_hashes(platform: Platform, acme: Tenancy) -> None:
    issued = consent(platform, acme.principal)
    stored = platform.backends.store.query(OAUTH_TOKENS, "oauth_tokens", limit=10).items

    assert len(stored) == 2
    assert all(issued.access_token not in t.model_dump_json() for t in stored)
    assert all(issued.refresh_token not in t.model_dump_json() for t in stored)


def test_an_access_token_expires_and_stops_with_a_disabled_admin(
    platform: Platform, acme: Tenancy, clock: FakeClock
) -> None:
    second = platform.tenants.create_admin(acme.tenant_id, "second@acme.example", "Second")
    person = Principal(tenant_id=second.tenant_id, subject=second.id, scopes=frozenset({Scope.ADMIN}))
    issued = consent(platform, person)
    platform.tenants.set_admin_disabled(acme.principal, second.id, True)
    with pytest.raises(Unauthenticated):
        platform.oauth.access(issued.access_token, RESOURCE)

    fresh = consent(platform, acme.principal)
    clock.advance(timedelta(seconds=901))
    with pytest.raises(Unauthenticated):
        platform.oauth.access(fresh.access_token, RESOURCE)


def test_a_replayed_refresh_token_revokes_its_family(platform: Platform, acme: Tenancy) -> None:
    issued = consent(platform, acme.principal)
    refresh = platform.oauth.refresh_token("cid-1", issued.refresh_token)
    assert refresh is not None
    rotated = platform.oauth.rotate(refresh, [])

    assert platform.oauth.refresh_token("cid-1", issued.refresh_token) is None  # the replay
    assert platform.oauth.refresh_token("cid-1", rotated.refresh_token) is None
    with pytest.raises(Unauthenticated):
        platform.oauth.access(rotated.access_token, RESOURCE)


def test_a_code_is_used_once_even_by_two_holders_of_the_same_read(platform: Platform, acme: Tenancy) -> None:
    code = approved_code(platform, acme.principal)
    first, second = platform.oauth.code("cid-1", code), platform.oauth.code("cid-1", code)
    assert first is not None and second is not None

    platform.oauth.exchange_code(first)
    with pytest.raises(Unauthenticated):
        platform.oauth.exchange_code(second)
    assert platform.oauth.code("cid-1", code) is None
    assert platform.oauth.code("another-client", code) is None


def test_a_consent_request_is_answered_once(platform: Platform, acme: Tenancy) -> None:
    request = consent_request(platform)
    platform.oauth.answer(request, acme.principal, approve=False)

    with pytest.raises(Unauthenticated):
        platform.oauth.answer(request, acme.principal, approve=True)


@pytest.mark.parametrize(
    "uri",
    [
        "http://evil.example/cb",
        "ftp://127.0.0.1/cb",
        "https://ok.example/cb#x",
        "/relative",
        "http://127.0.0.2.evil.example/",
    ],
)
def test_redirect_uris_must_be_https_or_loopback(platform: Platform, uri: str) -> None:
    with pytest.raises(InvalidInput):
        platform.oauth.register("cid-1", "Tool", [uri], "{}")


def test_loopback_and_https_redirect_uris_are_accepted(platform: Platform) -> None:
    client = platform.oauth.register(
        "cid-1", "Tool", ["http://[::1]:5/cb", "http://localhost/cb", "https://a.example/"], "{}"
    )

    assert platform.oauth.client("cid-1") == client


def test_the_number_of_clients_is_capped(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    platform.oauth.register("cid-1", "Tool", [URI], "{}")
    clock.advance(timedelta(seconds=1))
    platform.oauth.register("cid-2", "Tool", [URI], "{}")
    clock.advance(timedelta(seconds=1))
    platform.oauth.register("cid-3", "Tool", [URI], "{}")  # the oldest client nobody consented to makes room
    assert platform.oauth.client("cid-1") is None

    consent(platform, acme.principal, "cid-2")
    consent(platform, acme.principal, "cid-3")
    with pytest.raises(InvalidInput, match="no more clients"):  # consented clients keep their places
        platform.oauth.register("cid-4", "Tool", [URI], "{}")


def test_the_sweep_deletes_what_has_expired_and_keeps_the_rest(
    platform: Platform, acme: Tenancy, clock: FakeClock
) -> None:
    consent(platform, acme.principal)  # an access and a refresh token
    consent_request(platform)  # a request nobody answers
    clock.advance(timedelta(seconds=901))

    assert platform.oauth.sweep() == 3  # the used code, the access token, the unanswered request
    assert len(platform.backends.store.query(OAUTH_TOKENS, "oauth_tokens").items) == 1  # the refresh token lives on
    clock.advance(timedelta(days=31))
    platform.sweep_sessions()
    assert platform.backends.store.query(OAUTH_TOKENS, "oauth_tokens").items == []


def test_a_code_used_again_revokes_the_tokens_its_exchange_issued(platform: Platform, acme: Tenancy) -> None:
    code = approved_code(platform, acme.principal)
    found = platform.oauth.code("cid-1", code)
    assert found is not None
    issued = platform.oauth.exchange_code(found)
    assert platform.oauth.access(issued.access_token, RESOURCE) == acme.principal

    assert platform.oauth.code("cid-1", code) is None  # the copy, presented again
    with pytest.raises(Unauthenticated):
        platform.oauth.access(issued.access_token, RESOURCE)
    assert platform.oauth.refresh_token("cid-1", issued.refresh_token) is None


def test_revoking_an_admin_s_tokens_revokes_their_oauth_consents_too(platform: Platform, acme: Tenancy) -> None:
    issued = consent(platform, acme.principal)
    refresh = platform.oauth.refresh_token("cid-1", issued.refresh_token)
    assert refresh is not None
    rotated = platform.oauth.rotate(refresh, [])

    platform.tenants.revoke_admin_tokens(acme.principal, acme.principal.subject)  # "every token issued so far"
    for access in (issued.access_token, rotated.access_token):
        with pytest.raises(Unauthenticated, match="revoked"):
            platform.oauth.access(access, RESOURCE)
    assert platform.oauth.refresh_token("cid-1", rotated.refresh_token) is None  # no new pair from an old consent

    fresh = consent(platform, acme.principal)  # a consent given afterwards works, and keeps working rotated
    assert platform.oauth.access(fresh.access_token, RESOURCE) == acme.principal
    again = platform.oauth.refresh_token("cid-1", fresh.refresh_token)
    assert again is not None
    assert platform.oauth.access(platform.oauth.rotate(again, []).access_token, RESOURCE) == acme.principal
