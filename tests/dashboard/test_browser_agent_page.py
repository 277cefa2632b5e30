"""In headless Chromium: the agent page. Open it from the Agents tab, edit the plan (a new version after the
AgentCreator's review and tests), see the diff, restore the old version, and test-chat the agent.

The server is `oratio serve`'s app under a real uvicorn with the offline AgentCreator attached; the page
signs in with an admin token, so every write it makes is the page's own request. Screenshots go to
test-artifacts/dashboard/.
"""

from __future__ import annotations

from playwright.sync_api import Dialog, Page, expect

from oratio.platform import Platform
from schemas import AgentSpec, AgentType, AgentUpdate, CreateAgent, DocumentContent, DocumentFormat
from tests.dashboard.built_agents import Built, built, platform, platform_models, platform_settings
from tests.dashboard.test_browser import browser, log_in, page, shot
from tests.support.engine import PLAN
from tests.support.serving import Served
from tests.support.tenants import new_tenancy, token_for

__all__ = ["browser", "built", "page", "platform", "platform_models", "platform_settings"]  # the fixtures

NEW_CLOSING = "Thanks for visiting the Desk, see you soon!"
FITS = """() => Array.from(document.querySelectorAll('#panel-agent *'))
  .every((node) => node.getBoundingClientRect().right <= window.innerWidth + 1)"""
"""The agent page's own elements end within the viewport (the tab bar above it is not the page's)."""


def test_open_edit_diff_restore_and_test_chat_an_agent(page: Page, served: Served, built: Built) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.text} {m.location}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    def accept(dialog: Dialog) -> None:
        dialog.accept()

    page.on("dialog", accept)
    both = AgentUpdate(agent_type=AgentType.BOTH)  # a voice agent too, so the page offers a test call
    built.platform.agents.update(built.acme.principal, built.agent.id, both)
    log_in(page, served, built.token)
    page.click('#tabs button[data-tab="agents"]')
    page.locator(f'#agent-rows button[data-open-agent="{built.agent.id}"]').click()
    expect(page.locator("#agent-name")).to_have_text("Desk")
    expect(page.locator("#agent-serving")).to_have_text("version 1 serving")
    closing = page.locator('#agent-plan dd[data-field="closing_message"]')
    original = closing.inner_text()
    expect(page.locator('#agent-plan dd[data-field="system_prompt"]')).to_contain_text("Always be polite.")
    expect(page.locator("#agent-sims")).to_contain_text("scenarios passed")
    expect(page.locator("#agent-keys tbody tr")).to_have_count(1)
    shot(page, "agent-page")

    page.locator('#agent-plan .plan-section[data-section="closing"] button').click()
    page.fill("#edit-closing_message", NEW_CLOSING)
    page.locator('#agent-plan .plan-section[data-section="closing"] button[type=submit]').click()
    expect(page.locator("#agent-serving")).to_have_text("version 2 serving", timeout=60_000)
    expect(closing).to_have_text(NEW_CLOSING)

    page.locator('#agent-versions button[data-diff="1"]').click()
    change = page.locator('#plan-diff .diff-field[data-field="closing_message"]')
    expect(change.locator(".diff-del")).to_contain_text(original)
    expect(change.locator(".diff-add")).to_contain_text(NEW_CLOSING)
    shot(page, "agent-page-diff")

    page.locator('#agent-versions button[data-restore="1"]').click()
    expect(page.locator("#agent-serving")).to_have_text("version 3 serving", timeout=60_000)
    expect(closing).to_have_text(original)
    expect(page.locator("#agent-versions tbody tr")).to_have_count(3)

    page.fill("#chat-input", "Hello there")
    page.click("#chat-form button[type=submit]")
    expect(page.locator("#chat-log .turn-agent")).to_have_count(1)
    expect(page.locator("#chat-log .turn-agent p")).not_to_be_empty()
    shot(page, "agent-page-chat")

    with page.expect_popup() as opened:  # the voice bridge's client page, its key in the URL fragment
        page.click("#test-call")
    call = opened.value
    call.wait_for_load_state()
    assert call.url.startswith(served.url("/voice/client#"))
    expect(call.locator("#agent")).to_have_value(built.agent.id)
    expect(call.locator("#key")).not_to_have_value("")
    shot(call, "agent-page-test-call")
    call.close()

    built.platform.agents.pause(built.acme.principal, built.agent.id)  # elsewhere (MCP, say): the page follows live
    expect(page.locator(".agent-head .pill")).to_have_text("paused")
    page.click("#agent-toggle")  # Resume, from the page
    expect(page.locator(".agent-head .pill")).to_have_text("active")
    expect(page.locator("#agent-toggle")).to_have_text("Pause")
    sessions = built.platform.sessions.list_live(built.acme.principal, limit=10).items
    assert [s.agent_id for s in sessions if s.tester] == [built.agent.id]

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing of the page wider than the screen
    expect(page.locator("#agent-name")).to_be_visible()
    assert page.evaluate(FITS), "an element of the agent page is wider than a phone's screen"
    shot(page, "agent-page-phone")
    assert problems == [] and failed == []


PLANS = b"""# Plans

## Basic
The Basic plan costs $30 per month.

## Fast
The Fast plan costs $55 per month.

## Giga
The Giga plan costs $75 per month.
"""


def test_the_test_chat_names_each_source_document_once(page: Page, served: Served, platform: Platform) -> None:
    """An answer drawn from three passages of plans.md said "Sources: plans.md, plans.md, plans.md" to a new
    user trying the agent; the page names each document once (and a one-chunk document is "1 chunk")."""
    acme = new_tenancy(platform, "Acme")
    plans = DocumentContent(name="plans.md", format=DocumentFormat.MARKDOWN, content=PLANS)
    hours = DocumentContent(name="hours.md", format=DocumentFormat.MARKDOWN, content=b"# Hours\n\nOpen 9 to 5.")
    spec = AgentSpec(name="Plans", sop="# Steps\n1. Answer from the knowledge base.")
    agent = platform.agents.create(acme.principal, CreateAgent(spec=spec, documents=[plans, hours]))
    platform.agents.deploy(acme.tenant_id, agent.id, PLAN)
    log_in(page, served, token_for(platform, acme.principal))

    page.goto(served.url(f"/dashboard#agent/{agent.id}"))
    page.fill("#chat-input", "What does each plan cost per month?")
    page.click("#chat-form button[type=submit]")
    expect(page.locator("#chat-log .turn-agent .sources")).to_have_text("Sources: plans.md")
    expect(page.locator("#agent-docs li", has_text="hours.md")).to_contain_text(" · 1 chunk · ")
    # This agent's spec leaves handoff off: the tools section does not promise a handoff it cannot make.
    expect(page.locator("#agent-tools")).to_contain_text("handoff is off for this agent")
