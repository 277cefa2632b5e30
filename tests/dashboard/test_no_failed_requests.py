"""In headless Chromium, an admin's normal use of every view makes no request that fails: no answer >= 400 and no
request the browser gave up on, from the first load signed out to signing out.

The walk: open the page signed out, sign in with a password, watch a conversation arrive live and take it over,
search History and open a session, come back, look at Agents, acknowledge a notification, mint and revoke a key,
read the Charts (another range, one agent, an empty range), mint an MCP token on Account, sign out. Every response
the page receives (documents, modules, API calls, the recording) is recorded by a listener on the page. The
agent-building views (New agent, creation, the agent page) have their walk in test_accessibility_agents.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Dialog, Page, Request, Response, expect

from tests.dashboard.dash import Dash, say
from tests.dashboard.test_accessibility import PERSON, seeded, sign_in
from tests.dashboard.test_browser import browser, page, shot
from tests.support.oauth import person
from tests.support.serving import Served

__all__ = ["browser", "page"]


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"password_memory_kib": 8 * 1024}


def test_normal_use_of_every_view_makes_no_failing_request(
    page: Page, served: Served, http: httpx.Client, dash: Dash
) -> None:
    ended, live = seeded(http, dash)
    email = person(dash.platform, dash.acme, PERSON)
    seen: list[str] = []
    failed: list[str] = []

    def answered(response: Response) -> None:
        seen.append(response.url)
        if response.status >= 400:
            failed.append(f"{response.status} {response.request.method} {response.url}")

    def gave_up(request: Request) -> None:
        failed.append(f"failed {request.method} {request.url}: {request.failure}")

    page.on("response", answered)
    page.on("requestfailed", gave_up)
    page.on("pageerror", lambda error: failed.append(f"page error: {error}"))
    page.on("console", lambda m: failed.append(f"console: {m.text}") if m.type == "error" else None)

    sign_in(page, served, email)
    card = page.locator(f'.session-card[data-session="{live}"]')
    expect(card.locator(".turn")).to_have_count(4)
    fresh = str(say(http, dash, "A new question")["session_id"])  # arrives live
    expect(page.locator(f'.session-card[data-session="{fresh}"] .turn-agent')).to_have_count(1)
    card.locator('.handoff-bar button[data-move="take-over"]').click()
    expect(card.locator(".handoff-bar .pill")).to_have_text("handoff taken over")
    card.locator(".compose textarea").fill("Hello, this is Ada from the team.")
    card.locator(".compose button[type=submit]").click()
    expect(card.locator(".turn-human")).to_have_count(1)
    card.locator("button[data-open]").click()
    expect(page.locator("#panel-session")).to_be_visible()
    page.click("#session-back")

    page.click('#tabs button[data-tab="history"]')
    page.fill("#h-q", "order")
    page.click("#history-form button[type=submit]")
    page.locator(f'#history-rows tr[data-session="{ended}"] button[data-open]').click()
    expect(page.locator("#history-analysis")).to_be_visible()
    page.wait_for_function("() => document.querySelector('#session-recordings audio').duration > 0.4")  # streamed
    page.click("#session-back")
    page.fill("#h-q", "")  # an export filters on fields, not transcript text
    page.select_option("#h-outcome", "resolved")
    with page.expect_download():
        page.click("#history-export-csv")

    page.click('#tabs button[data-tab="agents"]')
    expect(page.locator("#agent-rows tr")).to_have_count(2)

    page.click('#tabs button[data-tab="notifications"]')
    page.locator(".note-handoff button", has_text="Mark read").click()
    page.locator(".note-handoff button.ack").click()
    expect(page.locator('.note-handoff[data-status="acknowledged"]')).to_have_count(1)

    page.click('#tabs button[data-tab="keys"]')
    page.select_option("#k-agent", dash.agent.id)
    page.fill("#k-name", "kiosk")
    page.click("#mint-form button[type=submit]")
    expect(page.locator("#secret-box")).to_be_visible()
    page.click("#secret-dismiss")

    def accept(dialog: Dialog) -> None:
        dialog.accept()

    page.once("dialog", accept)
    page.locator("#key-rows tr", has_text="kiosk").locator("button.danger").click()
    expect(page.locator("#key-rows tr", has_text="kiosk").locator(".pill")).to_have_text("revoked")

    page.click('#tabs button[data-tab="charts"]')
    expect(page.locator("#chart-conversations svg")).to_be_attached()
    page.select_option("#charts-range", "30d")
    expect(page.locator("#chart-conversations table tbody tr")).to_have_count(30)
    page.select_option("#charts-agent", dash.agent.id)
    expect(page.locator("#figure-conversations strong")).to_have_text("1")
    page.select_option("#charts-range", "custom")
    page.fill("#charts-since", "2020-01-01")
    page.fill("#charts-until", "2020-01-03")
    page.click("#charts-custom button[type=submit]")
    expect(page.locator("#figures .empty-state")).to_contain_text("No finished conversations in this range")

    page.click('#tabs button[data-tab="account"]')
    page.click("#token-form button[type=submit]")
    expect(page.locator("#token-box")).to_be_visible()
    page.click("#token-dismiss")
    shot(page, "no-failed-requests")

    page.click("#logout")
    expect(page.locator("#signin-form[data-methods]")).to_be_visible()  # the sign-in methods are in, not cut off
    page.reload()  # signed out, the page looks for a session and finds none: not an error either
    expect(page.locator("#signin-form[data-methods]")).to_be_visible()

    assert any("/api/v1/stats" in url for url in seen) and any("/api/v1/keys" in url for url in seen)
    assert failed == []
