"""The dashboard's agent-building views, in headless Chromium at 1280 and 375 px: the New agent form, the creation
progress view (building, then live) and the agent page (its plan, a section being edited, versions with a diff, the
test chat, keys, tests) and the agent's Charts meet the same bar as every other view (test_accessibility): no
axe-core violation of any impact, no sideways scrolling, every control reachable with the Tab key. And an admin's
normal use of them (create an agent and watch it build, edit, diff, test-chat, follow the Charts link, restore,
pause) makes no request that fails.

They live apart from test_accessibility because they need another platform: the offline AgentCreator on the
`scripted` model (its test conversations must pass before a version deploys), not the handoff agent. Screenshots go
to test-artifacts/dashboard/a11y-<view>-<width>.png.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Dialog, Page, Request, Response, expect

from tests.dashboard.built_agents import Built, built, platform, platform_models, platform_settings, with_password
from tests.dashboard.test_accessibility import PERSON, WIDTHS, checked, sign_in, tab
from tests.dashboard.test_browser import WAIT_MS, browser, shot
from tests.support.serving import Served

__all__ = ["browser", "built", "platform", "platform_models", "platform_settings"]  # the fixtures

BUILD_MS = 120_000
NEW_CLOSING = "Thanks for visiting the Desk, see you soon!"
NEW_SOP = "# Desk SOP\n## Steps\n1. Greet the customer.\n## Rules\n- Always be polite.\n"


def views(built: Built) -> list[tuple[str, Callable[[Page], None]]]:
    """The agent-building views in the order an admin meets them, each brought on screen by clicks."""

    def create_form(page: Page) -> None:
        tab("agents")(page)
        page.click("#new-agent")
        expect(page.locator("#c-model option")).to_have_count(2)  # the form's options have loaded
        page.fill("#c-name", "Reception")
        page.fill("#c-sop", NEW_SOP)
        expect(page.locator("#c-preview h1")).to_have_text("Desk SOP")

    def create_form_tool(page: Page) -> None:
        page.click("#c-add-tool")
        expect(page.locator("#c-tool-1-url")).to_be_visible()

    def creating(page: Page) -> None:
        page.locator("#c-tool-list button", has_text="Remove this tool").click()  # the agent is built without it
        page.click("#c-submit")
        expect(page.locator("#panel-creation")).to_be_visible()
        expect(page.locator("#creation-stages li").first).to_be_visible()
        # Past the first answer, which may come before the build thread owns the build ("waiting", with Start
        # the build shown): the view checked is the one that stays.
        expect(page.locator("#creation-state .pill")).to_have_text(re.compile("^(building|live)$"), timeout=BUILD_MS)

    def created(page: Page) -> None:
        expect(page.locator("#creation-state .pill")).to_have_text("live", timeout=BUILD_MS)

    def agent_page(page: Page) -> None:
        tab("agents")(page)
        page.locator(f'#agent-rows button[data-open-agent="{built.agent.id}"]').click()
        expect(page.locator("#agent-serving")).to_have_text("version 1 serving")
        expect(page.locator("#agent-sims")).to_contain_text("scenarios passed")
        expect(page.locator("#agent-keys tbody tr")).to_have_count(1)

    def agent_forms(page: Page) -> None:
        page.click("#agent-tools details.tool-add-box summary")
        page.click("#agent-sims details.scenarios summary")
        expect(page.locator("#tool-new-url")).to_be_visible()
        expect(page.locator("#scenario-name")).to_be_visible()

    def plan_edit(page: Page) -> None:
        page.locator('#agent-plan .plan-section[data-section="closing"] button').click()
        expect(page.locator("#edit-closing_message")).to_be_visible()
        page.fill("#edit-closing_message", NEW_CLOSING)

    def versions_diff(page: Page) -> None:
        page.locator('#agent-plan .plan-section[data-section="closing"] button[type=submit]').click()
        expect(page.locator("#agent-serving")).to_have_text("version 2 serving", timeout=BUILD_MS)
        page.locator('#agent-versions button[data-diff="1"]').click()
        expect(page.locator('#plan-diff .diff-field[data-field="closing_message"] .diff-add')).to_be_visible()

    def chat(page: Page) -> None:
        page.fill("#chat-input", "Hello there")
        page.click("#chat-form button[type=submit]")
        expect(page.locator("#chat-log .turn-agent p")).not_to_be_empty()

    def agent_charts(page: Page) -> None:
        page.get_by_role("link", name="Charts for this agent").click()
        expect(page.locator("#panel-charts")).to_be_visible()
        expect(page.locator("#charts-agent")).to_have_value(built.agent.id)
        expect(page.locator("#figures > *").first).to_be_visible()

    return [
        ("new-agent", create_form),
        ("new-agent-tool", create_form_tool),
        ("creation-building", creating),
        ("creation-live", created),
        ("agent-page", agent_page),
        ("agent-forms", agent_forms),
        ("agent-plan-edit", plan_edit),
        ("agent-diff", versions_diff),
        ("agent-chat", chat),
        ("agent-charts", agent_charts),
    ]


def new_page(browser: Browser, built: Built, width: int) -> Page:
    """A page `width` px wide, for an admin of Acme with a password (so they sign in as a person does)."""
    with_password(built.platform, built.acme, PERSON)
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    return page


@pytest.mark.parametrize("width", WIDTHS)
def test_the_agent_building_views_are_accessible_and_fit(
    browser: Browser, served: Served, built: Built, width: int
) -> None:
    page = new_page(browser, built, width)
    try:
        sign_in(page, served, PERSON)
        failures: list[str] = []
        for name, show in views(built):
            show(page)
            failures += checked(page, f"{name} {width}")
        assert not failures, "\n\n".join(failures)
    finally:
        page.context.close()


def test_normal_use_of_the_agent_building_views_makes_no_failing_request(
    browser: Browser, served: Served, built: Built
) -> None:
    page = new_page(browser, built, 1280)
    failed: list[str] = []

    def answered(response: Response) -> None:
        if response.status >= 400:
            failed.append(f"{response.status} {response.request.method} {response.url}")

    def gave_up(request: Request) -> None:
        failed.append(f"failed {request.method} {request.url}: {request.failure}")

    def accept(dialog: Dialog) -> None:
        dialog.accept()

    page.on("response", answered)
    page.on("requestfailed", gave_up)
    page.on("pageerror", lambda error: failed.append(f"page error: {error}"))
    page.on("console", lambda m: failed.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("dialog", accept)
    try:
        sign_in(page, served, PERSON)
        for _, show in views(built):
            show(page)
        page.click('#tabs button[data-tab="agents"]')
        page.locator(f'#agent-rows button[data-open-agent="{built.agent.id}"]').click()
        page.locator('#agent-versions button[data-restore="1"]').click()
        expect(page.locator("#agent-serving")).to_have_text("version 3 serving", timeout=BUILD_MS)
        page.click("#agent-toggle")  # Pause, then Resume
        expect(page.locator(".agent-head .pill")).to_have_text("paused")
        page.click("#agent-toggle")
        expect(page.locator(".agent-head .pill")).to_have_text("active")
        page.click('#tabs button[data-tab="agents"]')
        expect(page.locator("#agent-rows tr")).to_have_count(2)
        shot(page, "no-failed-requests-agents")
        assert failed == []
    finally:
        page.context.close()
