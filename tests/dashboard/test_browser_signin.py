"""Headless Chromium: an invited person opens the emailed link, chooses a password and lands on the live
dashboard; signs out; signs in with the form; mints a token for an MCP client (shown once); a wrong
password is refused in the page. Email goes through the outbox to aiosmtpd. Screenshots go to
test-artifacts/dashboard/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.dashboard.dash import Dash
from tests.dashboard.test_browser import browser, page, shot
from tests.notify.servers import SmtpSink, smtp_server
from tests.support.serving import Served
from tests.support.signin import PASSWORD, email_settings, link_sent_to

__all__ = ["browser", "page"]

PERSON = "robin@acme.example"


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with smtp_server() as sink:
        yield sink


@pytest.fixture
def platform_settings(smtp: SmtpSink) -> dict[str, Any]:
    return email_settings(smtp)


def test_an_invited_person_signs_in_in_the_browser(
    page: Page, served: Served, http: httpx.Client, dash: Dash, smtp: SmtpSink
) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.text} {m.location['url']}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    invited = http.post("/api/v1/auth/invite", json={"email": PERSON, "name": "Robin"}, headers=dash.bearer())
    assert invited.status_code == 201, invited.text
    token = link_sent_to(smtp, PERSON, "invite")

    page.goto(served.url(f"/dashboard#invite={token}"))
    expect(page.locator("#link-page")).to_be_visible()
    assert "#" not in page.url  # the token left the address bar
    page.fill("#link-password", PASSWORD)
    page.fill("#link-repeat", PASSWORD)
    shot(page, "signin-1-choose-password")
    page.click("#link-form button[type=submit]")
    expect(page.locator("#conn")).to_have_text("live")
    expect(page.locator("#tenant-name")).to_have_text("Acme")
    expect(page.locator("#who-email")).to_have_text(PERSON)
    cookies = page.context.cookies()
    assert [c["httpOnly"] for c in cookies if c["name"] == "oratio_session"] == [True]
    assert page.evaluate("document.cookie") == ""  # the script cannot read the session

    page.click("#tab-account")
    page.click("#token-form button[type=submit]")
    expect(page.locator("#token-box")).to_be_visible()
    minted = page.locator("#token-value").text_content() or ""
    shot(page, "signin-2-mcp-token")
    me = http.get("/api/v1/me", headers={"Authorization": f"Bearer {minted}"})
    assert me.status_code == 200
    page.click("#token-dismiss")
    expect(page.locator("#token-value")).to_have_text("")

    page.click("#logout")
    expect(page.locator("#signin-form")).to_be_visible()
    page.reload()  # the cookie is gone on the server too: the page asks to sign in again
    expect(page.locator("#signin-form")).to_be_visible()

    page.fill("#signin-email", PERSON)
    page.fill("#signin-password", "not the password")
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#signin-error")).to_have_text("email or password is not right")
    page.fill("#signin-password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#conn")).to_have_text("live")
    shot(page, "signin-3-signed-in")
    page.reload()  # the session survives a reload (the cookie), and the live feed reconnects with it
    expect(page.locator("#conn")).to_have_text("live")
    # The one refused request is the wrong password's; opening the page signed out is no error.
    assert [p for p in problems if not p.endswith("/api/v1/auth/sign-in")] == []
    assert len(problems) == 1 and "401" in problems[0]
