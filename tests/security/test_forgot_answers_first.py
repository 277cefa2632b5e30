"""`POST /api/v1/auth/forgot` answers before any work on the email, so its timing says nothing about it.

For an email that signs in, the reset link and its email are written in a store transaction that an unknown
email never costs; the answer used to wait for it, so a stranger timing many tries could tell the two apart
(the body and status were already the same). Here the reset work of a known email is held back until the
answer has arrived: the answer must not wait for it, and the link must still be emailed afterwards."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from oratio.platform import Platform
from oratio_app.web import create_app
from tests.notify.servers import SmtpSink, smtp_server
from tests.support.serving import Served, serving_built
from tests.support.signin import email_settings, json_post, link_sent_to
from tests.support.tenants import Tenancy

PERSON = "pat@acme.example"
BOUND_S = 60.0


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with smtp_server() as sink:
        yield sink


@pytest.fixture
def platform_settings(smtp: SmtpSink) -> dict[str, Any]:
    return email_settings(smtp)


@pytest.fixture
def served(platform: Platform) -> Iterator[Served]:
    with serving_built(lambda port: create_app(platform, host="127.0.0.1", port=port)) as running:
        yield running


def test_the_answer_to_forgot_does_not_wait_for_the_reset_work(
    served: Served, platform: Platform, acme: Tenancy, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform.signin.invite(acme.principal, PERSON, "Pat", served.base_url)
    link_sent_to(smtp, PERSON, "invite")
    answered = threading.Event()
    started = threading.Event()
    original = platform.signin.request_reset

    def held(email: str, base_url: str) -> None:
        started.set()
        answered.wait(BOUND_S)  # the work may begin only once the stranger holds the answer
        original(email, base_url)

    monkeypatch.setattr(platform.signin, "request_reset", held)
    with httpx.Client(base_url=served.base_url, timeout=BOUND_S / 2) as stranger:
        for email in (PERSON, "nobody@acme.example"):
            answer = json_post(stranger, "/api/v1/auth/forgot", {"email": email})
            assert answer.status_code == 202
            assert answer.json() == {"message": "if this email signs in here, a reset link is on its way"}
    answered.set()

    assert started.wait(BOUND_S)
    link_sent_to(smtp, PERSON, "reset")  # the known email still gets its link, after the answer
