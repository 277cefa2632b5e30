"""Every view of the dashboard, in headless Chromium at a laptop (1280 px) and a phone (375 px) width: no axe-core
violation of any impact (issue 22 asks for none serious or critical; the views meet the stricter bar), no sideways
scrolling, and every control reachable with the Tab key.

The views are the ones the page has: signed out, the sign-in form and the set-password page of an emailed link;
signed in with a password (so the Account tab shows), the Live, History, Agents, Notifications, API keys, Charts and
Account tabs and a session's page. The Charts tab is checked with its figures (a chart's table open) and in its
empty state (a range with no conversations). The agent-building views (New agent, creation, the agent page) are in
test_accessibility_agents, on a platform with the AgentCreator. The data makes each view non-empty: a live session
in handoff (its buttons and brief), an ended one with its analysis, a notification, a key, a draft agent, tool
calls. Screenshots go to test-artifacts/dashboard/a11y-<view>-<width>.png.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.dashboard.dash import Dash, say
from tests.dashboard.test_browser import WAIT_MS, browser, shot
from tests.dashboard.test_browser_sessions import wav
from tests.support.axe import EVERY_IMPACT, check_keyboard, check_no_overflow, check_page
from tests.support.oauth import person
from tests.support.serving import Served
from tests.support.signin import PASSWORD
from tests.support.tenants import new_agent
from tests.support.tool_calls import call, store_agent_turn

__all__ = ["browser"]

PERSON = "ada@acme.example"
WIDTHS = (1280, 375)


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"password_memory_kib": 8 * 1024}  # a cheap argon2 cost: the same algorithm


def seeded(http: httpx.Client, dash: Dash) -> tuple[str, str]:
    """A session ended and analysed, with tool calls and a recording (History, its page, Charts), one live in
    handoff (Live, Notifications) and a draft agent (Agents). Returns (the ended session, the live one)."""
    tenant = dash.acme.tenant_id
    ended = str(say(http, dash, "Where is my order?")["session_id"])
    store_agent_turn(dash.platform, tenant, ended, [call("call_1", "lookup_order", summary="shipped")], "Shipped.")
    say(http, dash, "goodbye", ended)
    dash.platform.analyses.run_pending()
    recording = "call-20260101T000000000000Z-" + "a" * 60
    dash.platform.sessions.save_recording(tenant, dash.agent.id, ended, recording, io.BytesIO(wav()), seconds=0.5)
    live = str(say(http, dash, "My parcel is late")["session_id"])
    say(http, dash, "I need a human, please", live)
    new_agent(dash.platform, dash.acme, "Onboarding", deploy=False)
    return ended, live


def sign_in(page: Page, served: Served, email: str) -> None:
    page.goto(served.url("/dashboard"))
    page.fill("#signin-email", email)
    page.fill("#signin-password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#conn")).to_have_text("live")


def tab(name: str) -> Callable[[Page], None]:
    def show(page: Page) -> None:
        page.click(f'#tabs button[data-tab="{name}"]')
        expect(page.locator(f"#panel-{name}")).to_be_visible()

    return show


def views(ended: str, live: str) -> list[tuple[str, Callable[[Page], None]]]:
    """What a signed-in admin sees, each brought on screen as they would (clicks), ready to check."""

    def live_tab(page: Page) -> None:
        tab("live")(page)
        expect(page.locator(f'.session-card[data-session="{live}"] .handoff-bar button').first).to_be_visible()

    def history(page: Page) -> None:
        tab("history")(page)
        expect(page.locator(f'#history-rows tr[data-session="{ended}"]')).to_be_visible()

    def session(page: Page) -> None:
        history(page)
        page.locator(f'#history-rows tr[data-session="{ended}"] [data-open]').first.click()
        expect(page.locator("#history-analysis")).to_be_visible()

    def notifications(page: Page) -> None:
        tab("notifications")(page)
        expect(page.locator(".note-handoff")).to_have_count(1)

    def charts(page: Page) -> None:
        tab("charts")(page)
        expect(page.locator("#chart-conversations svg")).to_be_attached()
        page.locator("#chart-conversations summary").click()  # a chart's table, opened

    def charts_empty(page: Page) -> None:
        page.select_option("#charts-range", "custom")
        page.fill("#charts-since", "2020-01-01")
        page.fill("#charts-until", "2020-01-03")
        page.click("#charts-custom button[type=submit]")
        expect(page.locator("#figures .empty-state")).to_contain_text("No finished conversations in this range")

    return [
        ("live", live_tab),
        ("history", history),
        ("session", session),
        ("agents", tab("agents")),
        ("notifications", notifications),
        ("keys", tab("keys")),
        ("charts", charts),
        ("charts-empty", charts_empty),
        ("account", tab("account")),
    ]


def checked(page: Page, what: str) -> list[str]:
    """Every check on the view shown; what failed, as text (so one run lists every view's problems)."""
    shot(page, f"a11y-{what.replace(' ', '-')}")
    failures = []
    checks: list[Callable[[], None]] = [
        lambda: check_page(page, what, impacts=EVERY_IMPACT),  # stricter than issue 22's serious/critical
        lambda: check_no_overflow(page, what),
        lambda: check_keyboard(page, what),
    ]
    for check in checks:
        try:
            check()
        except AssertionError as failed:
            failures.append(str(failed))
    return failures


@pytest.mark.parametrize("width", WIDTHS)
def test_every_signed_in_view_is_accessible_and_fits(
    browser: Browser, served: Served, http: httpx.Client, dash: Dash, width: int
) -> None:
    ended, live = seeded(http, dash)
    email = person(dash.platform, dash.acme, PERSON)
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    try:
        sign_in(page, served, email)
        failures: list[str] = []
        for name, show in views(ended, live):
            show(page)
            failures += checked(page, f"{name} {width}")
        assert not failures, "\n\n".join(failures)
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_signed_out_pages_are_accessible_and_fit(browser: Browser, served: Served, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        page.goto(served.url("/dashboard"))
        expect(page.locator("#signin-form")).to_be_visible()
        failures = checked(page, f"sign-in {width}")
        page.goto("about:blank")  # a new load: the page reads the link's fragment when it starts
        page.goto(served.url("/dashboard#invite=" + "x" * 32))  # the form only: the token is read on submit
        expect(page.locator("#link-form")).to_be_visible()
        failures += checked(page, f"set-password {width}")
        assert not failures, "\n\n".join(failures)
    finally:
        context.close()
