"""In headless Chromium: the agent page finishes tools (issue 22). An OpenAPI document pasted or picked in the tools
section lists its operations, the ticked ones are imported as tools (a rebuild); an MCP server tool is checked
(its tools listed by the real server) and edited; the New agent form shows a refused tool's reason beside that
tool's field, with the focus there and every word typed kept.

The server is `oratio serve`'s app under a real uvicorn with the offline AgentCreator attached; the page signs
in with an admin token. Waits are on what the page shows, bounded (builds: 120 s). No serious or critical
axe-core violation on the views changed.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import FilePayload, Page, expect

from oratio.actions.openapi import DOCUMENT_BYTES_MAX
from schemas import McpServerTool
from tests.dashboard.built_agents import SETTINGS, SOP, Built, built, platform, platform_models
from tests.dashboard.test_agent_mcp_tool_api import TOKEN, given_server, mcp_port, orders_server
from tests.dashboard.test_agent_openapi_api import ORDERS_API
from tests.dashboard.test_browser import browser, log_in, page, shot
from tests.dashboard.test_browser_agent_tools import open_agent_page
from tests.support.actions import LOOPBACK_TOOLS
from tests.support.axe import check_page
from tests.support.serving import Served

__all__ = ["browser", "built", "mcp_port", "page", "platform", "platform_models"]  # the fixtures

BUILD_MS = 120_000
SERVER_MS = 60_000


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {**SETTINGS, **LOOPBACK_TOOLS}


def watch(page: Page) -> list[str]:
    """Console errors, page errors and failed responses; a test drops the refusals it provoked (4xx).

    Every wait of these tests is on a server's answer (a listing, a check of an MCP server, a refusal), so
    each is bounded at `SERVER_MS`, not the page fixture's 15 s: a loaded CI machine must not fail them."""
    page.set_default_timeout(SERVER_MS)
    expect.set_options(timeout=SERVER_MS)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror {e}"))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return problems


def unexpected(problems: list[str], *allowed: int) -> list[str]:
    """The problems left once the refusals the test provoked (a status in `allowed`: the response, and the
    browser's console line about it) are dropped; a page error is never allowed."""
    return [p for p in problems if p.startswith("pageerror") or not any(str(code) in p for code in allowed)]


def test_an_openapi_document_is_listed_ticked_and_imported(page: Page, served: Served, built: Built) -> None:
    problems = watch(page)
    open_agent_page(page, served, built)
    page.locator("#openapi-box summary").click()
    spec = page.locator("#openapi-spec")
    spec.fill("openapi: [unclosed")
    page.get_by_role("button", name="List operations").click()
    expect(page.locator("#openapi-spec-error")).not_to_be_empty()  # the server's reason, beside the field
    expect(spec).to_have_attribute("aria-invalid", "true")
    expect(spec).to_be_focused()

    big = b"# " + b"x" * DOCUMENT_BYTES_MAX
    page.set_input_files("#openapi-file", FilePayload(name="huge.yaml", mimeType="application/yaml", buffer=big))
    expect(page.locator("#openapi-spec-error")).to_contain_text(f"at most {DOCUMENT_BYTES_MAX}")  # not even read
    expect(spec).to_have_value("openapi: [unclosed")
    picked = FilePayload(name="orders.yaml", mimeType="application/yaml", buffer=ORDERS_API.encode())
    page.set_input_files("#openapi-file", picked)  # or pasted: the file's text goes into the field
    expect(spec).to_have_value(ORDERS_API)
    page.get_by_role("button", name="List operations").click()
    rows = page.locator("#openapi-operations li")
    expect(rows).to_have_count(2)
    expect(page.locator("#openapi-spec-error")).to_be_empty()
    get = page.locator('#openapi-operations li[data-operation="GET /orders/{order_id}"]')
    cancel = page.locator('#openapi-operations li[data-operation="POST /orders/{order_id}/cancel"]')
    expect(get).to_contain_text("Look up an order")
    expect(get).to_contain_text("tool get_order")
    expect(get.locator(".pill-write")).to_have_count(0)
    expect(cancel.locator(".pill-write")).to_have_text("write")  # the customer confirms it first
    check_page(page, "the agent page with an OpenAPI document's operations listed")
    shot(page, "tool-page-1-openapi-listed")

    page.get_by_role("button", name="Import the ticked operations and rebuild").click()
    expect(page.locator("#openapi-import-error")).to_contain_text("Tick at least one")
    get.get_by_role("checkbox").check()
    cancel.get_by_role("checkbox").check()
    page.get_by_role("button", name="Import the ticked operations and rebuild").click()
    expect(page.locator("#agent-serving")).to_have_text("version 2 serving", timeout=BUILD_MS)
    expect(page.locator('#agent-tools li[data-tool="get_order"]')).to_contain_text("GET http://127.0.0.1:9/orders/")
    expect(page.locator('#agent-tools li[data-tool="cancel_order"] .pill-write')).to_have_text("write")
    stored = built.platform.agent_tools.list_tools(built.acme.principal, built.agent.id)
    assert sorted(t.name for t in stored) == ["cancel_order", "get_order"]
    assert unexpected(problems, 422) == []  # the bad document's 422, nothing else


def test_an_mcp_server_tool_is_checked_and_edited(page: Page, served: Served, built: Built, mcp_port: int) -> None:
    problems = watch(page)
    given_server(built, orders_server(mcp_port))
    open_agent_page(page, served, built)
    item = page.locator('#agent-tools li[data-tool="orders"]')
    item.get_by_role("button", name="Try orders").click()
    result = page.locator("#tool-try-orders-result")
    item.get_by_role("button", name="Dry run").click()
    expect(result).to_contain_text(f"Would ask: MCP tools/list http://127.0.0.1:{mcp_port}/mcp")
    item.get_by_role("button", name="Check the server").click()
    expect(result).to_contain_text("Answer: ok")
    expect(result).to_contain_text("find_order (the agent calls it orders_find_order; read-only)")
    expect(result).to_contain_text("cancel_order (the agent calls it orders_cancel_order; changes something")
    assert TOKEN not in result.inner_text()
    shot(page, "tool-page-2-mcp-checked")

    item.get_by_role("button", name="Edit orders").click()
    edit = "#tool-edit-orders"
    expect(page.locator(f"{edit}-name")).to_be_focused()
    expect(page.locator(f"{edit}-allowed_tools")).to_have_value("find_order, cancel_order")
    check_page(page, "the agent page with an MCP server tool's Edit open")
    save = item.get_by_role("button", name="Save and rebuild")
    page.fill(f"{edit}-timeout_seconds", "99")
    save.click()
    expect(page.locator(f"{edit}-timeout_seconds-error")).to_contain_text("30")
    expect(page.locator(f"{edit}-timeout_seconds")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"{edit}-timeout_seconds")).to_be_focused()
    page.fill(f"{edit}-timeout_seconds", "25")
    page.fill(f"{edit}-url", "http://10.0.0.5/mcp")
    save.click()
    expect(page.locator(f"{edit}-url-error")).to_contain_text("address policy")
    check_page(page, "the agent page with a refused MCP server edit")
    page.fill(f"{edit}-url", f"http://127.0.0.1:{mcp_port}/mcp")
    page.fill(f"{edit}-allowed_tools", "find_order")
    page.fill(f"{edit}-read_only_tools", "find_order")
    save.click()
    expect(page.locator("#agent-serving")).to_have_text("version 2 serving", timeout=BUILD_MS)
    [stored] = built.platform.agent_tools.list_tools(built.acme.principal, built.agent.id)
    assert isinstance(stored, McpServerTool)
    assert (stored.allowed_tools, stored.read_only_tools) == (["find_order"], ["find_order"])
    assert stored.timeout_seconds == 25
    assert unexpected(problems, 422) == []  # the two refused edits' 422s, nothing else


def test_the_new_agent_form_shows_a_tool_error_beside_its_field(page: Page, served: Served, built: Built) -> None:
    problems = watch(page)
    log_in(page, served, built.token)
    page.click("button[data-tab=agents]")
    page.click("#new-agent")
    page.fill("#c-name", "Orders desk")
    page.fill("#c-sop", SOP)
    for n, name in ((1, "get_order"), (2, "cancel_order")):
        page.click("#c-add-tool")
        page.fill(f"#c-tool-{n}-name", name)
        page.fill(f"#c-tool-{n}-description", f"{name}: an order by its id, for the customer.")
        page.fill(f"#c-tool-{n}-url", f"http://127.0.0.1:9/orders/{{order_id}}/{n}")
    page.fill("#c-tool-2-timeout_seconds", "99")
    page.click("#c-submit")  # the second tool's timeout: the server names it `tools.1.timeout_seconds`
    expect(page.locator("#c-tool-2-timeout_seconds-error")).to_contain_text("30", timeout=SERVER_MS)
    expect(page.locator("#c-tool-2-timeout_seconds")).to_be_focused()
    expect(page.locator("#c-tool-2-timeout_seconds")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#c-error")).to_be_empty()
    expect(page.locator("#c-tool-1-timeout_seconds-error")).to_be_empty()
    check_page(page, "the New agent form with a refused tool")
    shot(page, "tool-page-3-create-field-error")

    page.fill("#c-tool-2-timeout_seconds", "5")
    page.fill("#c-tool-2-url", "http://10.0.0.5/orders/{order_id}")
    page.click("#c-submit")  # the address policy names it by its name: `tool 'cancel_order'.url`
    expect(page.locator("#c-tool-2-url-error")).to_contain_text("address policy", timeout=SERVER_MS)
    expect(page.locator("#c-tool-2-url")).to_be_focused()
    expect(page.locator("#c-tool-2-timeout_seconds-error")).to_be_empty()

    page.fill("#c-tool-1-parameters", "{not json")
    page.click("#c-submit")  # found by the page itself, before anything is sent
    expect(page.locator("#c-tool-1-parameters-error")).to_contain_text("not valid JSON")
    expect(page.locator("#c-tool-1-parameters")).to_be_focused()

    # Everything typed is still there, and nothing was stored.
    expect(page.locator("#c-name")).to_have_value("Orders desk")
    expect(page.locator("#c-sop")).to_have_value(SOP)
    expect(page.locator("#c-tool-1-name")).to_have_value("get_order")
    expect(page.locator("#c-tool-2-url")).to_have_value("http://10.0.0.5/orders/{order_id}")
    expect(page.locator("#c-tool-2-timeout_seconds")).to_have_value("5")
    assert [a.name for a in built.platform.agents.list(built.acme.principal).items] == ["Desk"]
    assert unexpected(problems, 422) == []
