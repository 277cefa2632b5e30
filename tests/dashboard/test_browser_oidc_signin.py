"""Headless Chromium signs a person in through the OIDC issuer: the dashboard's **Sign in with <issuer>** button,
the issuer's own page (a real OpenID provider process), back to the live dashboard in the person's tenant; Log
out then offers the issuer's sign-out. The issuer is reached as `localhost` and the dashboard as `127.0.0.1`, so
the way back is a cross-site navigation, as with a real issuer (the flow cookie must be SameSite=Lax for it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from oratio.platform import Platform
from tests.dashboard.dash import Dash
from tests.dashboard.test_browser import browser, page, shot
from tests.support.oidc import ACME_PERSON, issuer_settings, mock_issuer
from tests.support.serving import Served

__all__ = ["browser", "page"]


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with mock_issuer() as base:
        yield base.replace("127.0.0.1", "localhost")  # another site than the dashboard's 127.0.0.1


@pytest.fixture
def platform_settings(issuer: str) -> dict[str, Any]:
    return issuer_settings(issuer)


def test_a_person_signs_in_with_the_issuer_in_the_browser(
    page: Page, served: Served, platform: Platform, dash: Dash
) -> None:
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    platform.signin.invite(dash.acme.principal, ACME_PERSON, "Ops", served.base_url)

    page.goto(served.url("/dashboard"))
    button = page.locator("#signin-oidc")
    expect(button).to_have_text("Sign in with Test IdP")
    expect(page.locator("#signin-form")).to_be_visible()  # passwords stay on by default
    shot(page, "oidc-1-sign-in")
    button.click()
    page.locator(f'button[name="sub"][value="{ACME_PERSON}"]').click()  # signing in at the issuer

    expect(page.locator("#conn")).to_have_text("live")
    expect(page.locator("#tenant-name")).to_have_text("Acme")
    expect(page.locator("#who-email")).to_have_text(ACME_PERSON)
    shot(page, "oidc-2-signed-in")
    session = [c for c in page.context.cookies() if c["name"] == "oratio_session"]
    assert [(c["httpOnly"], c["sameSite"]) for c in session] == [(True, "Strict")]
    assert not [c for c in page.context.cookies() if c["name"] == "oratio_oidc_flow"]  # used up
    page.reload()  # the session survives a reload
    expect(page.locator("#conn")).to_have_text("live")

    page.click("#logout")
    expect(page.locator("#signout-oidc-link")).to_have_text("Also sign out of Test IdP")
    href = page.locator("#signout-oidc-link").get_attribute("href") or ""
    assert href.startswith("http://localhost:") and "/oauth2/end_session?" in href
    shot(page, "oidc-3-signed-out")
    assert problems == []
