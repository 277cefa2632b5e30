"""The sign-in building blocks on their own: the failure lockout (a hand-moved clock), the password policy
and hashes, a link used by two requests at once, and an email shared across organisations."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from oratio.auth.lockout import FailureLockout
from oratio.auth.passwords import Passwords
from oratio.auth.principals import local_operator
from oratio.errors import Conflict, InvalidInput, RateLimited, Unauthenticated
from oratio.platform import Platform
from oratio.store.tables import BROWSER_SESSIONS, SIGNIN_LINKS
from schemas.signin import LinkPurpose
from tests.support.platforms import FakeClock
from tests.support.tenants import Tenancy

PASSWORD = "correct horse battery staple"


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"password_memory_kib": 8 * 1024}


def test_a_key_is_locked_after_its_failures_until_the_lockout_ends() -> None:
    ticks = Ticks()
    lockout = FailureLockout(3, window_s=60, lockout_s=300, clock=ticks)
    for _ in range(2):
        lockout.failed("a")
        lockout.check("a")
    lockout.failed("a")
    with pytest.raises(RateLimited) as locked:
        lockout.check("a")
    assert locked.value.retry_after == 300
    lockout.check("b")  # other keys are not affected
    ticks.now = 301
    lockout.check("a")


def test_failures_outside_the_window_and_a_success_start_the_count_again() -> None:
    ticks = Ticks()
    lockout = FailureLockout(2, window_s=60, lockout_s=300, clock=ticks)
    lockout.failed("a")
    ticks.now = 61
    lockout.failed("a")
    lockout.check("a")  # the first failure fell out of the window
    lockout.succeeded("a")
    lockout.failed("a")
    lockout.check("a")


def test_the_lockout_holds_a_bounded_number_of_keys() -> None:
    lockout = FailureLockout(2, window_s=60, lockout_s=300, clock=Ticks(), max_keys=10)
    for n in range(1000):
        lockout.failed(f"k{n}")
    assert len(lockout._counts) == 10


def test_passwords_are_argon2id_and_the_policy_is_length() -> None:
    passwords = Passwords(memory_kib=8 * 1024)
    stored = passwords.hash(PASSWORD)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert passwords.verify(stored, PASSWORD)
    assert not passwords.verify(stored, PASSWORD + "!")
    assert not passwords.verify("", PASSWORD)  # no password set yet
    assert not passwords.verify("not a hash", PASSWORD)
    for bad in ("short", "x" * 257):
        with pytest.raises(InvalidInput):
            passwords.hash(bad)
    assert Passwords(memory_kib=16 * 1024).needs_rehash(stored)  # a raised cost re-hashes at the next sign-in


def test_a_link_used_by_two_requests_at_once_signs_in_only_one(platform: Platform, acme: Tenancy) -> None:
    made = platform.signin.invite(local_operator(acme.tenant_id), "pat@acme.example", "Pat", "http://x")
    token = made.link.rsplit("=", 1)[1]
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def use() -> None:
        start.wait(10)
        try:
            platform.signin.accept(token, PASSWORD, LinkPurpose.INVITE)
            outcomes.append("signed in")
        except Unauthenticated:
            outcomes.append("refused")

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["refused", "refused", "refused", "signed in"]


def test_an_email_signs_in_to_one_organisation(platform: Platform, acme: Tenancy, globex: Tenancy) -> None:
    platform.signin.invite(local_operator(acme.tenant_id), "pat@acme.example", "Pat", "http://x")
    with pytest.raises(Conflict):
        platform.signin.invite(local_operator(globex.tenant_id), "Pat@Acme.example", "Pat", "http://x")


def test_the_sweep_deletes_sessions_and_links_past_their_end(
    platform: Platform, acme: Tenancy, clock: FakeClock
) -> None:
    made = platform.signin.invite(local_operator(acme.tenant_id), "pat@acme.example", "Pat", "http://x")
    signed = platform.signin.accept(made.link.rsplit("=", 1)[1], PASSWORD, LinkPurpose.INVITE)
    platform.signin.invite(local_operator(acme.tenant_id), "sam@acme.example", "Sam", "http://x")
    assert platform.signin.sweep() == 0  # nothing has ended yet
    clock.advance(timedelta(seconds=platform.settings.signin_session_max_seconds + 1))
    assert platform.signin.sweep() == 1  # the session (the unused link lasts longer)
    with pytest.raises(Unauthenticated):
        platform.signin.principal(signed.secret)
    clock.advance(timedelta(seconds=platform.settings.signin_invite_ttl_seconds))
    platform.sweep_sessions()  # the sweeper's round includes it
    assert platform.signin.sweep() == 0
    assert platform.backends.store.query(SIGNIN_LINKS, "signin_links").items == []
    assert platform.backends.store.query(BROWSER_SESSIONS, "browser_sessions").items == []
