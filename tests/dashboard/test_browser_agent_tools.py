"""In headless Chromium: an agent's tool tried, edited and removed from the agent page; the build's progress
view and the agent page following the live WebSocket's events instead of polling; and a live redraw that
leaves a field the admin is typing in alone.

The server is `oratio serve`'s app under a real uvicorn with the offline AgentCreator attached; the page
signs in with an admin token. A real HTTP service on 127.0.0.1 answers the tool's calls. Waits are on what
the page shows, bounded (builds: 120 s). Polling is caught without waiting for it: the page's timers run
on Playwright's clock, so ten seconds pass at once, and a counter in the page counts the progress reads.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Dialog, Page, expect

from schemas import AgentSpec, CreateAgent, CreationRecord, HttpTool, StageName, StageRecord, StageStatus
from tests.dashboard.built_agents import SETTINGS, SOP, Built, built, platform, platform_models
from tests.dashboard.test_agent_tools_api import lookup
from tests.dashboard.test_browser import browser, log_in, page, shot
from tests.support.actions import LOOPBACK_TOOLS
from tests.support.axe import check_page
from tests.support.serving import Served
from tests.support.tool_server import tool_server

__all__ = ["browser", "built", "page", "platform", "platform_models"]  # the fixtures

BUILD_MS = 120_000
SERVER_MS = 60_000
COUNT_READS = """
window.__reads = { creation: 0, agent: 0 };
const realFetch = window.fetch;
window.fetch = function (input, init) {
  const path = new URL(typeof input === "string" ? input : input.url, location.href).pathname;
  if (/^\\/api\\/v1\\/agents\\/[^/]+\\/creation$/.test(path)) window.__reads.creation += 1;
  if (/^\\/api\\/v1\\/agents\\/[^/]+$/.test(path)) window.__reads.agent += 1;
  return realFetch.apply(this, arguments);
};
"""
"""Runs before the page's own script (through DevTools, so its CSP does not apply): counts the reads, at the
moment each starts, of a build's progress and of an agent."""


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {**SETTINGS, **LOOPBACK_TOOLS}


def watch(page: Page) -> list[str]:
    """Console errors, page errors and failed requests; the test drops the refusals it provoked."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.text} {m.location}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return problems


def open_agent_page(page: Page, served: Served, built: Built) -> None:
    log_in(page, served, built.token)
    page.click("button[data-tab=agents]")
    page.locator(f'#agent-rows button[data-open-agent="{built.agent.id}"]').click()
    expect(page.locator("#agent-name")).to_have_text("Desk")


def reads(page: Page, what: str) -> int:
    count: int = page.evaluate(f"window.__reads.{what}")
    return count


def test_a_tool_is_tried_edited_and_removed_from_the_agent_page(page: Page, served: Served, built: Built) -> None:
    problems = watch(page)

    def accept(dialog: Dialog) -> None:
        dialog.accept()

    page.on("dialog", accept)
    with tool_server() as server:
        built.platform.agent_tools.add_tool(
            built.acme.principal, built.agent.id, lookup(server.url("/orders/{order_id}"))
        )
        open_agent_page(page, served, built)
        item = page.locator('#agent-tools li[data-tool="get_order"]')
        expect(page.locator("#agent-versions")).not_to_contain_text("null")  # one version: no compare box

        item.get_by_role("button", name="Try get_order").click()
        arguments = page.locator("#tool-try-get_order-arguments")
        expect(arguments).to_be_focused()
        assert json.loads(arguments.input_value()) == {"order_id": ""}  # one example value per argument
        result = page.locator("#tool-try-get_order-result")
        arguments.fill('{"order_id": "nope"}')
        item.get_by_role("button", name="Dry run").click()
        expect(result).to_contain_text("Not sent: the arguments do not fit the tool.")
        expect(arguments).to_have_attribute("aria-invalid", "true")
        arguments.fill('{"order_id": "A123"}')
        item.get_by_role("button", name="Dry run").click()
        expect(result).to_contain_text(f"Would send: GET {server.url('/orders/A123')}")
        assert server.requests == []  # a dry run sends nothing
        item.get_by_role("button", name="Send for real").click()
        expect(result).to_contain_text("Answer: ok")
        expect(result).to_contain_text("shipped")
        assert [r.path for r in server.requests] == ["/orders/A123"]
        shot(page, "tools-1-try")

        item.get_by_role("button", name="Edit get_order").click()  # the same form as Add, filled
        edit = "#tool-edit-get_order"
        expect(page.locator(f"{edit}-name")).to_be_focused()
        expect(page.locator(f"{edit}-name")).to_have_value("get_order")
        expect(page.locator(f"{edit}-url")).to_have_value(server.url("/orders/{order_id}"))
        expect(page.locator(f"{edit}-timeout_seconds")).to_have_value("10")
        expect(page.locator(f"{edit}-max_response_bytes")).to_have_value("64000")
        expect(page.locator(f"{edit}-write")).not_to_be_checked()
        check_page(page, "the agent page with a tool's Edit open")

        save = item.get_by_role("button", name="Save and rebuild")
        page.fill(f"{edit}-timeout_seconds", "99")
        save.click()  # the server's reason, beside the field it names
        expect(page.locator(f"{edit}-timeout_seconds-error")).to_contain_text("30")
        expect(page.locator(f"{edit}-timeout_seconds")).to_have_attribute("aria-invalid", "true")
        page.fill(f"{edit}-timeout_seconds", "5")
        page.fill(f"{edit}-url", "http://10.0.0.5/orders/{order_id}")
        save.click()
        expect(page.locator(f"{edit}-url-error")).to_contain_text("address policy")
        expect(page.locator(f"{edit}-timeout_seconds-error")).to_be_empty()
        check_page(page, "the agent page with a refused tool edit")
        shot(page, "tools-2-refused-edit")

        page.fill(f"{edit}-url", server.url("/orders/{order_id}"))
        page.fill(f"{edit}-sensitive_arguments", "order_id")
        page.check(f"{edit}-write")
        save.click()
        expect(page.locator("#agent-serving")).to_have_text("version 2 serving", timeout=BUILD_MS)
        expect(item.locator(".pill-write")).to_have_text("write")
        [stored] = built.platform.agent_tools.list_tools(built.acme.principal, built.agent.id)
        assert isinstance(stored, HttpTool)
        assert (stored.timeout_seconds, stored.write, stored.sensitive_arguments) == (5.0, True, ["order_id"])

        item.get_by_role("button", name="Remove get_order").click()  # after the confirm (accepted)
        expect(page.locator("#agent-serving")).to_have_text("version 3 serving", timeout=BUILD_MS)
        expect(page.locator("#agent-tools")).to_contain_text("No tools of your own")
        assert built.platform.agent_tools.list_tools(built.acme.principal, built.agent.id) == []
    assert [p for p in problems if "422" not in p] == []  # the two refused edits' 422s, nothing else


def test_the_build_view_follows_the_events_and_never_polls(page: Page, served: Served, built: Built) -> None:
    problems = watch(page)
    created = built.platform.agents.create(built.acme.principal, CreateAgent(spec=AgentSpec(name="Orders", sop=SOP)))
    tenant, agent_id = built.acme.tenant_id, created.id  # stored, its build not started: the view waits
    page.add_init_script(COUNT_READS)
    page.clock.install()
    log_in(page, served, built.token)
    page.goto(served.url(f"/dashboard#creation={agent_id}"))
    expect(page.locator("#creation-state .pill")).to_have_text("waiting", timeout=SERVER_MS)
    opened = reads(page, "creation")
    assert opened >= 1
    page.clock.run_for(10_000)  # ten seconds of the page's timers: a poll would have read again
    assert reads(page, "creation") == opened

    stages: list[StageRecord] = []
    for stage in (StageName.PARSE_SOP, StageName.DRAFT_PLAN):  # the AgentCreator's way: the record, then the event
        stages = [
            *(s.model_copy(update={"status": StageStatus.PASSED}) for s in stages),
            StageRecord(stage=stage, status=StageStatus.RUNNING),
        ]
        built.platform.creations.record(CreationRecord(tenant_id=tenant, agent_id=agent_id, version=1, stages=stages))
        built.platform.creations.progress(tenant, agent_id, stage=stage.value, status="running")
        shown = page.locator(f'#creation-stages li[data-stage="{stage.value}"]')
        expect(shown).to_have_attribute("data-status", "running", timeout=SERVER_MS)
    expect(page.locator('#creation-stages li[data-stage="parse_sop"]')).to_have_attribute("data-status", "passed")
    followed = reads(page, "creation") - opened
    assert 2 <= followed <= 4, followed  # one read per event (two if a read was under way), never a timer's
    page.clock.run_for(10_000)
    assert reads(page, "creation") - opened == followed
    shot(page, "build-view-events")
    assert problems == []


def test_a_live_redraw_leaves_the_focus_and_the_words_of_the_admin_where_they_are(
    page: Page, served: Served, built: Built
) -> None:
    problems = watch(page)
    page.add_init_script(COUNT_READS)
    page.clock.install()
    log_in(page, served, built.token)
    page.click("button[data-tab=agents]")
    row = page.locator(f'#agent-rows tr[data-agent="{built.agent.id}"]')
    row.locator("button[data-open-agent]").focus()
    built.platform.agents.pause(built.acme.principal, built.agent.id)  # elsewhere (MCP, say): the rows redraw
    expect(row.locator(".pill")).to_have_text("paused", timeout=SERVER_MS)
    expect(row.locator("button[data-open-agent]")).to_be_focused()  # a keyboard user is still on Desk's row
    page.keyboard.press("Enter")
    expect(page.locator("#agent-name")).to_have_text("Desk")

    page.locator("#secret-name").click()
    page.keyboard.type("ORDERS")
    built.platform.agents.resume(built.acme.principal, built.agent.id)  # the agent page redraws
    expect(page.locator(".agent-head .pill")).to_have_text("active", timeout=SERVER_MS)
    expect(page.locator("#agent-toggle")).to_have_text("Pause")
    page.keyboard.type("_TOKEN")
    expect(page.locator("#secret-name")).to_have_value("ORDERS_TOKEN")  # the words typed before and after the redraw
    expect(page.locator("#secret-name")).to_be_focused()
    before = reads(page, "agent")
    page.clock.run_for(10_000)  # and nothing polls the agent meanwhile
    assert reads(page, "agent") == before
    assert problems == []
