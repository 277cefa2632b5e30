"""Once a link has set a person's password, every other invitation or reset link sent before it is spent; signing
out everywhere spends them too, and ends the tokens the person's sessions minted.

Each link was single use, but links were independent: invited twice (or a reset asked for twice), the person
used one and the other still set the password for the rest of its lifetime (7 days for an invitation), so
whoever found the other email (a forwarded copy, a shared mailbox) could take the account over."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from oratio.errors import Unauthenticated
from oratio.platform import Platform
from oratio.services.signin import LINK_REFUSED
from schemas.signin import LinkPurpose
from tests.support.oauth import RESOURCE, consent
from tests.support.platforms import FakeClock
from tests.support.signin import PASSWORD
from tests.support.tenants import Tenancy

PERSON = "pat@acme.example"
BASE = "http://127.0.0.1"


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"password_memory_kib": 8 * 1024}


@pytest.fixture
def platform_clock(clock: FakeClock) -> FakeClock:
    return clock


def token(platform: Platform, acme: Tenancy) -> str:
    """A new link for the person (an invitation, or a reset once they have a password), its token."""
    return platform.signin.invite(acme.principal, PERSON, "Pat", BASE).link.split("=", 1)[1]


def test_a_second_invitation_is_spent_once_the_first_set_the_password(
    platform: Platform, acme: Tenancy, clock: FakeClock
) -> None:
    first, second = token(platform, acme), token(platform, acme)
    clock.advance(timedelta(seconds=1))
    platform.signin.accept(first, PASSWORD, LinkPurpose.INVITE)

    with pytest.raises(Unauthenticated, match=LINK_REFUSED):
        platform.signin.accept(second, "the finder's own password", LinkPurpose.INVITE)
    platform.signin.sign_in(PERSON, PASSWORD, "client")  # the person's password stands


def test_an_older_reset_link_is_spent_by_a_newer_one_and_by_signing_out_everywhere(
    platform: Platform, acme: Tenancy, clock: FakeClock
) -> None:
    platform.signin.accept(token(platform, acme), PASSWORD, LinkPurpose.INVITE)
    clock.advance(timedelta(seconds=1))
    older, newer = token(platform, acme), token(platform, acme)  # the person already has a password: resets
    clock.advance(timedelta(seconds=1))
    platform.signin.accept(newer, "a new long password", LinkPurpose.RESET)
    with pytest.raises(Unauthenticated, match=LINK_REFUSED):
        platform.signin.accept(older, "the finder's own password", LinkPurpose.RESET)

    clock.advance(timedelta(seconds=1))
    unused = token(platform, acme)
    clock.advance(timedelta(seconds=1))
    signed = platform.signin.sign_in(PERSON, "a new long password", "client")
    platform.signin.sign_out_everywhere(signed.secret)  # what a person does who fears for the account
    with pytest.raises(Unauthenticated, match=LINK_REFUSED):
        platform.signin.accept(unused, "the finder's own password", LinkPurpose.RESET)

    clock.advance(timedelta(seconds=1))
    platform.signin.accept(token(platform, acme), "another long password", LinkPurpose.RESET)  # a new link works


def test_signing_out_everywhere_also_ends_the_tokens_a_session_minted(
    platform: Platform, acme: Tenancy, clock: FakeClock
) -> None:
    """A stolen session could mint a 30-day admin JWT (`POST /api/v1/auth/token`) or consent to an MCP client;
    the person's remedy, signing out everywhere, used to end the browser sessions only."""
    platform.signin.accept(token(platform, acme), PASSWORD, LinkPurpose.INVITE)
    signed = platform.signin.sign_in(PERSON, PASSWORD, "client")
    minted = platform.access.issue_admin_token(signed.principal.tenant_id, signed.principal.subject)
    oauth = consent(platform, signed.principal)
    assert platform.access.admin_principal(minted) == signed.principal

    platform.signin.sign_out_everywhere(signed.secret)
    with pytest.raises(Unauthenticated):
        platform.access.admin_principal(minted)
    with pytest.raises(Unauthenticated):
        platform.oauth.access(oauth.access_token, RESOURCE)

    again = platform.signin.sign_in(PERSON, PASSWORD, "client")  # the person signs in again and mints anew
    fresh = platform.access.issue_admin_token(again.principal.tenant_id, again.principal.subject)
    assert platform.access.admin_principal(fresh) == again.principal


def test_a_password_reset_ends_the_tokens_minted_before_it(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    """A reset is how a person takes an account back: what a session in someone else's hands minted (a JWT for an
    MCP client, an OAuth consent) ends with the old password. Accepting an invitation ends nothing."""
    platform.signin.accept(token(platform, acme), PASSWORD, LinkPurpose.INVITE)
    signed = platform.signin.sign_in(PERSON, PASSWORD, "client")
    minted = platform.access.issue_admin_token(signed.principal.tenant_id, signed.principal.subject)
    oauth = consent(platform, signed.principal)
    clock.advance(timedelta(seconds=1))
    platform.signin.accept(token(platform, acme), "a new long password", LinkPurpose.RESET)
    with pytest.raises(Unauthenticated):
        platform.access.admin_principal(minted)
    with pytest.raises(Unauthenticated):
        platform.oauth.access(oauth.access_token, RESOURCE)
    again = platform.signin.sign_in(PERSON, "a new long password", "client")
    fresh = platform.access.issue_admin_token(again.principal.tenant_id, again.principal.subject)
    assert platform.access.admin_principal(fresh) == again.principal


def test_accepting_an_invitation_leaves_the_persons_tokens_alone(
    platform: Platform, acme: Tenancy, clock: FakeClock
) -> None:
    invited = token(platform, acme)
    [admin] = [a for a in platform.tenants.list_admins(acme.principal) if a.email == PERSON]
    minted = platform.access.issue_admin_token(acme.tenant_id, admin.id)  # e.g. `oratio admin token` before
    platform.signin.accept(invited, PASSWORD, LinkPurpose.INVITE)
    assert platform.access.admin_principal(minted).subject == admin.id
