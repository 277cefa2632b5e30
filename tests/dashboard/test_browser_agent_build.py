"""In headless Chromium: building an agent's abilities from the page. The New agent form declares an HTTP tool
(a refused one shows the server's reason and stores nothing), the agent page uploads a document the test chat
then answers from, adds a scenario and runs the simulations again, and adds a tool (a rebuild); the agent page
and the build's progress view have addresses that survive a reload, and Back and Forward move between them.

The server is `oratio serve`'s app under a real uvicorn with the offline AgentCreator attached; the page signs
in with an admin token. Waits are on what the page shows, bounded (60 s and more for builds). Screenshots go
to test-artifacts/dashboard/.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import FilePayload, Page, Response, expect

from schemas import EventType
from tests.dashboard.built_agents import SETTINGS, SOP, Built, built, platform, platform_models
from tests.dashboard.test_browser import browser, log_in, page, shot
from tests.support.actions import LOOPBACK_TOOLS
from tests.support.serving import Served

__all__ = ["browser", "built", "page", "platform", "platform_models"]  # the fixtures

BUILD_MS = 120_000
SERVER_MS = 60_000
TOOL_URL = "http://127.0.0.1:9/orders/{order_id}"
HOURS = b"# Opening hours\n\nThe Desk is open from 7 in the morning to 11 at night, Tuesday to Sunday.\n"


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {**SETTINGS, **LOOPBACK_TOOLS}


def watch(page: Page, allowed: str | None = None, reason: str = "") -> list[str]:
    """Console errors, page errors and failed requests, except the expected 422 of the URL path `allowed` (and
    the page's report of it, which says `reason`)."""
    problems: list[str] = []

    def console(message: Any) -> None:
        expected = allowed and ("status of 422" in message.text or (reason and reason in message.text))
        if message.type == "error" and not expected:
            problems.append(f"{message.text} {message.location}")

    def response(answer: Response) -> None:
        if answer.status >= 400 and not (allowed and answer.url.endswith(allowed) and answer.status == 422):
            problems.append(f"{answer.status} {answer.url}")

    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", response)
    return problems


def fill_tool(page: Page, prefix: str, url: str) -> None:
    page.fill(f"#{prefix}-name", "get_order")
    page.fill(f"#{prefix}-description", "Look up an order by its id: its status and delivery date.")
    page.fill(f"#{prefix}-url", url)


def test_the_new_agent_form_declares_a_tool_the_built_agent_has(page: Page, served: Served, built: Built) -> None:
    problems = watch(page, allowed="/api/v1/agents", reason="address policy")
    log_in(page, served, built.token)
    page.click("button[data-tab=agents]")
    page.click("#new-agent")
    page.fill("#c-name", "Orders desk")
    page.fill("#c-sop", SOP)
    page.click("#c-add-tool")
    fill_tool(page, "c-tool-1", "http://10.0.0.5/orders/{order_id}")
    page.click("#c-submit")
    # The server's reason, beside the field it names (`tool 'get_order'.url`), with the focus there.
    expect(page.locator("#c-tool-1-url-error")).to_contain_text("address policy", timeout=SERVER_MS)
    expect(page.locator("#c-tool-1-url")).to_be_focused()
    assert [a.name for a in built.platform.agents.list(built.acme.principal).items] == ["Desk"]

    page.fill("#c-tool-1-url", TOOL_URL)
    shot(page, "build-1-form-tool")
    page.click("#c-submit")
    expect(page.locator("#panel-creation")).to_be_visible(timeout=SERVER_MS)
    expect(page.locator("#creation-state .pill")).to_have_text("live", timeout=BUILD_MS)
    page.click("#creation-open")  # from the build to the agent page
    expect(page.locator("#agent-name")).to_have_text("Orders desk", timeout=SERVER_MS)
    expect(page.locator('#agent-tools li[data-tool="get_order"]')).to_contain_text(TOOL_URL)
    agent = next(a for a in built.platform.agents.list(built.acme.principal).items if a.name == "Orders desk")
    assert [t.name for t in built.platform.agent_tools.list_tools(built.acme.principal, agent.id)] == ["get_order"]
    assert problems == []


def test_the_agent_page_answers_from_a_new_document_holds_a_new_scenario_and_adds_a_tool(
    page: Page, served: Served, built: Built
) -> None:
    problems = watch(page)
    log_in(page, served, built.token)
    page.click("button[data-tab=agents]")
    page.locator(f'#agent-rows button[data-open-agent="{built.agent.id}"]').click()
    expect(page.locator("#agent-name")).to_have_text("Desk")

    hours: FilePayload = {"name": "hours.md", "mimeType": "text/markdown", "buffer": HOURS}
    page.set_input_files("#doc-file", files=[hours])
    expect(page.locator("#agent-docs li").filter(has_text="hours.md").locator(".pill")).to_have_text(
        "ready", timeout=SERVER_MS
    )
    page.fill("#chat-input", "When is the Desk open?")
    page.click("#chat-form button[type=submit]")
    reply = page.locator("#chat-log .turn-agent p").first
    expect(reply).to_contain_text("11 at night", timeout=SERVER_MS)  # the live agent reads the new document
    expect(reply).to_contain_text("hours.md")

    page.click("#agent-sims details.scenarios summary")
    page.fill("#scenario-name", "A customer asks for a manager")
    page.fill("#scenario-messages", "I want to speak to a manager")
    page.select_option("#scenario-check", "handed_off")
    page.click("#scenario-form button[type=submit]")
    expect(page.locator("#scenario-note")).to_contain_text("Added", timeout=SERVER_MS)
    expect(page.locator('#scenario-list li[data-scenario="a_customer_asks_for_a_manager"]')).to_contain_text("yours")
    page.click("#sims-run")
    result = page.locator('#agent-sims li[data-result="a_customer_asks_for_a_manager"] .pill')
    expect(result).to_have_text("passed", timeout=SERVER_MS)
    shot(page, "build-2-scenario")

    expect(page.locator("#agent-tools")).to_contain_text("the agent searches its knowledge and hands off")
    page.click("#agent-tools details.tool-add-box summary")
    fill_tool(page, "tool-new", TOOL_URL)
    page.click("#tool-add button[type=submit]")
    expect(page.locator("#agent-serving")).to_have_text("version 2 serving", timeout=BUILD_MS)
    expect(page.locator('#agent-tools li[data-tool="get_order"]')).to_contain_text(TOOL_URL)
    shot(page, "build-3-tool")
    assert [t.name for t in built.platform.agent_tools.list_tools(built.acme.principal, built.agent.id)] == [
        "get_order"
    ]
    assert problems == []


def test_agent_and_build_addresses_survive_a_reload_and_back_and_forward_move_between_views(
    page: Page, served: Served, built: Built
) -> None:
    problems = watch(page)
    agent_link = re.compile(rf"#agent/{built.agent.id}$")
    log_in(page, served, built.token)
    page.click("button[data-tab=agents]")
    page.locator(f'#agent-rows button[data-open-agent="{built.agent.id}"]').click()
    expect(page).to_have_url(agent_link)
    expect(page.locator("#agent-name")).to_have_text("Desk")

    page.reload()  # the address reopens the agent page once signed in again
    expect(page.locator("#agent-name")).to_have_text("Desk", timeout=SERVER_MS)
    expect(page.locator("#panel-agent")).to_be_visible()

    page.click("#agent-back")
    expect(page.locator("#panel-agents")).to_be_visible()
    assert "#agent/" not in page.url
    page.go_back()
    expect(page.locator("#panel-agent")).to_be_visible()
    expect(page.locator("#agent-name")).to_have_text("Desk")
    page.go_forward()
    expect(page.locator("#panel-agents")).to_be_visible()
    page.go_back()
    expect(page.locator("#agent-name")).to_have_text("Desk")

    page.click("text=Charts for this agent")
    expect(page.locator("#panel-charts")).to_be_visible()
    page.go_back()
    expect(page.locator("#panel-agent")).to_be_visible()
    expect(page).to_have_url(agent_link)

    page.click("button[data-tab=live]")  # a tab leaves the view: a reload shows the tab, Back the view
    expect(page.locator("#panel-live")).to_be_visible()
    page.go_back()
    expect(page.locator("#agent-name")).to_have_text("Desk")

    for form in ("=", "/"):  # the progress view's address, in its first form and the agent page's
        page.goto(served.url(f"/dashboard#creation{form}{built.agent.id}"))
        expect(page.locator("#panel-creation")).to_be_visible(timeout=SERVER_MS)
        expect(page.locator("#creation-state .pill")).to_have_text("live")
    page.click("#creation-open")
    expect(page).to_have_url(agent_link)
    expect(page.locator("#agent-name")).to_have_text("Desk")
    page.go_back()
    expect(page.locator("#panel-creation")).to_be_visible()
    expect(page.locator("#creation-title")).to_contain_text("Desk")

    page.goto(served.url(f"/dashboard#agent/{built.globex_agent.id}"))  # another tenant's agent: not found
    expect(page.locator("#agent-error")).to_contain_text("not found", timeout=SERVER_MS)
    problems[:] = [p for p in problems if built.globex_agent.id not in p and "status of 404" not in p]
    assert problems == []


def test_leaving_the_agent_page_before_an_events_read_asks_for_nothing(
    page: Page, served: Served, built: Built
) -> None:
    """An event about the open agent is read EVENT_READ_MS later; an admin who pressed Back meanwhile left the
    page's agent id null, and the read asked for /api/v1/agents/null (a 422, seen under load in a stress run).
    The page's clock is held, so the read fires exactly when the test says."""
    problems = watch(page)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.clock.install()
    log_in(page, served, built.token)
    page.goto(served.url(f"/dashboard#agent/{built.agent.id}"))
    expect(page.locator("#agent-name")).to_have_text("Desk", timeout=SERVER_MS)

    built.platform.backends.emit(
        built.acme.tenant_id, EventType.AGENT_PROGRESS, built.agent.id, stage="review_plan", status="running", detail=""
    )
    row = page.locator(f'#agent-rows tr[data-agent="{built.agent.id}"] .progress-cell')
    expect(row).to_contain_text("review plan: running", timeout=SERVER_MS)  # the event is in: its read waits
    page.click("#agent-back")
    expect(page.locator("#panel-agents")).to_be_visible()
    page.clock.run_for(5_000)  # the read's timer fires on the Agents tab

    page.locator(f'#agent-rows button[data-open-agent="{built.agent.id}"]').click()  # a read after it, in order
    expect(page.locator("#agent-name")).to_have_text("Desk", timeout=SERVER_MS)
    assert not [url for url in asked if "/api/v1/agents/null" in url]
    assert problems == []
