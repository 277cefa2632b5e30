"""End to end in headless Chromium: log in, watch a conversation and its handoff arrive live, acknowledge it.

The server is `oratio serve`'s app under a real uvicorn; the customer talks through the runtime HTTP
API with an API key, exactly as a customer app would; the page learns of it only through its
WebSocket. Screenshots go to test-artifacts/dashboard/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, expect, sync_playwright
from starlette.applications import Starlette

from oratio.platform import Platform
from oratio.runtime import ModelFactory
from oratio.services.brief_writer import SYSTEM_PROMPT as BRIEF_PROMPT
from oratio.services.outbox import webhook_delivery
from oratio.store.tables import OUTBOX
from oratio_app.web import create_app
from schemas import Channel, DeliveryStatus, EventType, NotificationStatus, NotificationType, Role
from schemas.tools import ToolCallStatus
from tests.dashboard.dash import Dash, say
from tests.net import uvicorn_in_thread
from tests.support.models import HeldAnswer
from tests.support.serving import Served
from tests.support.tenants import new_agent
from tests.support.tool_calls import call, store_agent_turn
from tests.system import HEADLESS_CHROMIUM_ARGS, require_program

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
WAIT_MS = 15_000


@pytest.fixture
def browser() -> Iterator[Browser]:
    chromium = require_program("chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium, args=list(HEADLESS_CHROMIUM_ARGS), headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    yield opened
    context.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: Page, served: Served, token: str) -> None:
    page.goto(served.url("/dashboard"))
    page.fill("#token", token)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#conn")).to_have_text("live")
    expect(page.locator("#tenant-name")).to_have_text("Acme")


def test_a_conversation_and_its_handoff_appear_live_and_are_acknowledged_from_the_page(
    page: Page, served: Served, http: httpx.Client, dash: Dash
) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.text} {m.location}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    log_in(page, served, dash.token)

    first = say(http, dash, "Where is my order?")
    card = page.locator(f'.session-card[data-session="{first["session_id"]}"]')
    expect(card.locator(".turn-customer p")).to_have_text("Where is my order?")
    expect(card.locator(".turn-agent p")).to_have_text("You said: Where is my order?. Anything else?")
    expect(card.locator("header strong")).to_have_text("Support")

    say(http, dash, "I need a human, please", str(first["session_id"]))
    expect(page.locator(".toast")).to_contain_text("Handoff requested")
    expect(card).to_have_class("session-card handoff")
    expect(card.locator("header .pill")).to_have_text("handoff requested")
    expect(card.locator(".handoff-bar .pill")).to_have_text("handoff requested")
    expect(card.locator(".turn")).to_have_count(4)
    expect(page.locator("#unread-count")).to_have_text("1")
    shot(page, "live")

    page.click('#tabs button[data-tab="notifications"]')
    note = page.locator(".note-handoff")
    expect(note).to_have_count(1)
    expect(note).to_contain_text("unread")
    shot(page, "notifications")
    live = dash.platform.notifications.notify(dash.acme.tenant_id, NotificationType.AGENT_READY, "Support is live")
    notice = page.locator(f'.note[data-notification="{live.id}"]')
    expect(notice.get_by_role("button", name="Mark read")).to_be_visible()
    expect(notice.locator("button.ack")).to_have_count(0)  # a notice has nobody to acknowledge; a handoff does
    note.locator("button.ack").click()
    expect(page.locator('.note-handoff[data-status="acknowledged"]')).to_have_count(1)
    notice.get_by_role("button", name="Mark read").click()
    expect(page.locator("#unread-count")).to_be_hidden()
    [stored] = [n for n in dash.platform.notifications.list(dash.acme.principal).items if n.id != live.id]
    assert stored.status is NotificationStatus.ACKNOWLEDGED
    assert stored.acknowledged_by == dash.acme.principal.subject

    page.click('#tabs button[data-tab="live"]')  # Acknowledge changed the live card (by its event)
    expect(card.locator(".handoff-bar .pill")).to_have_text("handoff acknowledged")
    card.locator('.handoff-bar button[data-move="take-over"]').click()
    expect(card.locator(".handoff-bar .pill")).to_have_text("handoff taken over")
    expect(card.locator(".handoff-bar details.brief")).to_contain_text("First request: Where is my order?")
    paused = say(http, dash, "Hello? Is anyone there?", str(first["session_id"]))
    assert paused["paused"] is True
    expect(card.locator(".turn-customer")).to_have_count(3)
    card.locator('.handoff-bar button[data-move="return"]').click()
    expect(card.locator(".handoff-bar .pill")).to_have_text("handoff returned")
    expect(card.locator("header .pill")).to_have_text("active")
    shot(page, "handoff")

    assert problems == []


def test_history_agents_keys_and_charts(page: Page, served: Served, http: httpx.Client, dash: Dash) -> None:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", on_console)
    done = say(http, dash, "My parcel has a green sticker")
    say(http, dash, "goodbye", str(done["session_id"]))
    say(http, dash, "Something else entirely")
    draft = new_agent(dash.platform, dash.acme, "Onboarding", deploy=False)
    log_in(page, served, dash.token)

    page.click('#tabs button[data-tab="agents"]')
    row = page.locator(f'#agent-rows tr[data-agent="{draft.id}"]')
    expect(row.locator(".pill")).to_have_text("creating")
    dash.platform.backends.emit(
        dash.acme.tenant_id, EventType.AGENT_PROGRESS, draft.id, stage="review_plan", status="running", detail=""
    )
    expect(row.locator(".progress-cell")).to_contain_text("review plan: running")
    expect(row.locator("meter")).to_have_attribute("value", "2")
    shot(page, "agents")

    page.click('#tabs button[data-tab="history"]')
    expect(page.locator("#history-rows tr")).to_have_count(2)
    page.fill("#h-q", "green sticker")
    page.click("#history-form button[type=submit]")
    expect(page.locator("#history-rows tr")).to_have_count(1)
    page.locator("#history-rows tr").click()
    expect(page.locator("#history-detail .turn")).to_have_count(4)
    expect(page.locator("#history-detail h2 .pill")).to_have_text("completed")
    shot(page, "history")

    page.click('#tabs button[data-tab="keys"]')
    expect(page.locator("#key-rows tr")).to_have_count(1)
    page.select_option("#k-agent", dash.agent.id)
    page.fill("#k-name", "kiosk")
    page.click("#mint-form button[type=submit]")
    expect(page.locator("#secret-box")).to_be_visible()
    secret = page.locator("#secret-value").inner_text()
    assert secret.startswith("ora_sk_")
    expect(page.locator("#key-rows tr")).to_have_count(2)
    shot(page, "keys")
    page.click("#secret-dismiss")
    expect(page.locator("#secret-box")).to_be_hidden()
    assert secret not in page.content()

    def accept(dialog: Dialog) -> None:
        dialog.accept()

    page.once("dialog", accept)
    page.locator("#key-rows tr", has_text="kiosk").locator("button.danger").click()
    expect(page.locator("#key-rows tr", has_text="kiosk").locator(".pill")).to_have_text("revoked")
    refused = http.post(
        f"/runtime/agents/{dash.agent.id}/invocations", json={"message": "hi"}, headers={"X-Api-Key": secret}
    )
    assert refused.status_code == 401

    page.click('#tabs button[data-tab="charts"]')  # both sessions are still live: nothing has ended yet
    expect(page.locator("#figures .empty-state")).to_contain_text("No finished conversations in this range")
    shot(page, "charts")
    assert problems == []


def test_a_wrong_token_stays_on_the_login_form(page: Page, served: Served) -> None:
    page.goto(served.url("/dashboard"))
    page.fill("#token", "not-a-token")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("refused")
    expect(page.locator("#app")).to_be_hidden()


def test_history_exports_what_its_filters_find_as_a_download(
    page: Page, served: Served, http: httpx.Client, dash: Dash
) -> None:
    resolved = say(http, dash, "hello")
    dash.platform.sessions.end(dash.acme.tenant_id, str(resolved["session_id"]), "ended by the agent")
    handed = say(http, dash, "get me a person")
    dash.platform.sessions.end(dash.acme.tenant_id, str(handed["session_id"]), "closed by a human")
    assert dash.platform.analyses.run_pending() == 2
    log_in(page, served, dash.token)
    page.click('#tabs button[data-tab="history"]')

    page.select_option("#h-outcome", "handed_off")
    with page.expect_download() as csv_download:
        page.click("#history-export-csv")
    saved = csv_download.value
    assert saved.suggested_filename.startswith("oratio-sessions-") and saved.suggested_filename.endswith(".csv")
    text = Path(saved.path()).read_text(encoding="utf-8")
    assert str(handed["session_id"]) in text and str(resolved["session_id"]) not in text
    expect(page.locator("#history-export-note")).to_have_text("Exported 1 session(s).")

    page.select_option("#h-outcome", "")
    with page.expect_download() as json_download:
        page.click("#history-export-json")
    rows = json.loads(Path(json_download.value.path()).read_text(encoding="utf-8"))
    assert {row["session_id"] for row in rows} == {str(resolved["session_id"]), str(handed["session_id"])}

    page.fill("#h-q", "person")
    page.click("#history-export-csv")
    expect(page.locator("#history-error")).to_contain_text("clear the search to export")
    shot(page, "history-export")


def test_the_page_reconnects_after_a_server_restart_and_misses_nothing(
    page: Page, platform: Platform, dash: Dash
) -> None:
    tenant = dash.acme.tenant_id
    session = platform.sessions.start(tenant, dash.agent.id, Channel.TEXT)
    platform.sessions.append_turn(tenant, session.id, Role.CUSTOMER, "before the restart")

    def build(port: int) -> Starlette:
        return create_app(platform, host="127.0.0.1", port=port)

    with uvicorn_in_thread(build) as port:
        served = Served(f"http://127.0.0.1:{port}")
        log_in(page, served, dash.token)
        card = page.locator(f'.session-card[data-session="{session.id}"]')
        expect(card.locator(".turn p")).to_have_text(["before the restart"])
        # Even the first connection follows from a cursor: the one /api/v1/me gave with the lists' read.
        expect(page.locator("#conn")).to_have_attribute("data-resumed", "true")
    expect(page.locator("#conn")).not_to_have_text("live")

    # Written while the page cannot hear anything; it must catch up from its last seq.
    platform.sessions.append_turn(tenant, session.id, Role.AGENT, "reply written while you were away")
    platform.sessions.append_turn(tenant, session.id, Role.CUSTOMER, "and one more")
    with uvicorn_in_thread(build, port=port):
        expect(page.locator("#conn")).to_have_text("live")
        expect(page.locator("#conn")).to_have_attribute("data-resumed", "true")  # replayed from its cursor
        expect(card.locator(".turn p")).to_have_text(
            ["before the restart", "reply written while you were away", "and one more"]
        )
        platform.sessions.end(tenant, session.id)
        expect(card).to_have_count(0)  # an ended session leaves the Live tab


def test_an_undelivered_alert_is_shown_and_retried_from_the_page(page: Page, served: Served, dash: Dash) -> None:
    row = webhook_delivery(
        dash.platform.backends, dash.acme.tenant_id, "http://127.0.0.1:9/hook", "handoff.requested", {}, max_attempts=3
    )
    dead = row.model_copy(update={"status": DeliveryStatus.DEAD, "attempts": 3, "last_error": "HTTP 500 three times"})
    dash.platform.backends.store.insert(OUTBOX, dead)
    log_in(page, served, dash.token)

    page.click('#tabs button[data-tab="notifications"]')
    item = page.locator(f'.note-dead[data-delivery="{dead.id}"]')
    expect(item).to_contain_text("webhook to http://127.0.0.1:9")
    expect(item).to_contain_text("HTTP 500 three times")
    shot(page, "dead-deliveries")
    with page.expect_response(lambda r: r.url.endswith(f"/deliveries/{dead.id}/retry")) as answered:
        item.locator("button", has_text="Retry").click()
    assert answered.value.status == 200

    # Retried: refused again (a private address), so it is dead once more, after one fresh attempt.
    assert dash.platform.handoff.flush(WAIT_MS / 1000)
    stored = dash.platform.backends.store.get(OUTBOX, dash.acme.tenant_id, dead.id)
    assert stored is not None and (stored.status, stored.attempts) == (DeliveryStatus.DEAD, 1)


def test_tool_calls_show_live_in_the_transcript_and_in_the_charts(
    page: Page, served: Served, http: httpx.Client, dash: Dash
) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    log_in(page, served, dash.token)
    session_id = str(say(http, dash, "Cancel order A123 please")["session_id"])
    card = page.locator(f'.session-card[data-session="{session_id}"]')
    expect(card.locator(".turn-customer p")).to_have_text("Cancel order A123 please")

    lookup = call(
        "call_1",
        "lookup_order",
        arguments={"order_id": "A123", "card": "[redacted]"},
        duration_ms=12.0,
        summary="shipped",
    )
    cancel = call("call_2", "cancel_order", ToolCallStatus.TIMEOUT, write=True, confirmed=True, duration_ms=10_000.0)
    store_agent_turn(dash.platform, dash.acme.tenant_id, session_id, [lookup, cancel], "Sorry, that did not work.")

    live = card.locator(".turn-tool")  # from the session.tool_call events: name, status, write, duration
    expect(live).to_have_count(2)
    expect(live.nth(0)).to_contain_text("lookup_order")
    expect(live.nth(1).locator(".tool-call.tool-failed.tool-write")).to_contain_text("timeout")
    expect(live.nth(1)).to_contain_text("write · confirmed")
    expect(live.nth(1)).to_contain_text("10000 ms")
    shot(page, "tool-calls-live")

    page.click('#tabs button[data-tab="history"]')
    page.click("#history-form button[type=submit]")  # the list was read at log-in, before this session
    page.locator(f'#history-rows tr[data-session="{session_id}"]').click()
    recorded = page.locator("#history-detail .turn-agent .tool-call")
    expect(recorded).to_have_count(2)
    expect(recorded.nth(0).locator(".tool-args")).to_have_text('{"order_id":"A123","card":"[redacted]"}')
    expect(recorded.nth(0).locator(".tool-summary")).to_have_text("shipped")
    expect(recorded.nth(1).locator(".pill").first).to_have_text("timeout")
    shot(page, "tool-calls-history")

    dash.platform.sessions.end(dash.acme.tenant_id, session_id, "ended by the agent")
    assert dash.platform.analyses.run_pending() == 1
    page.click('#tabs button[data-tab="charts"]')
    expect(page.locator("#figure-tools")).to_have_text("Tool calls21 failed")
    expect(page.locator("#chart-tool-failures svg rect.bar").first).to_be_attached()
    expect(page.locator("#chart-failing-tools svg")).to_contain_text("cancel_order")
    shot(page, "tool-calls-charts")
    assert problems == []


def test_history_shows_a_finished_sessions_analysis_and_the_charts_its_rates(
    page: Page, served: Served, http: httpx.Client, dash: Dash
) -> None:
    first = say(http, dash, "Thanks, my parcel arrived, great")
    dash.platform.sessions.end(dash.acme.tenant_id, str(first["session_id"]), "ended by the agent")
    handed = say(http, dash, "get me a person")
    dash.platform.sessions.end(dash.acme.tenant_id, str(handed["session_id"]), "closed by a human")
    assert dash.platform.analyses.run_pending() == 2
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    log_in(page, served, dash.token)

    page.click('#tabs button[data-tab="history"]')
    page.locator(f'#history-rows tr[data-session="{first["session_id"]}"]').click()
    block = page.locator("#history-analysis")
    expect(block.locator(".pill")).to_have_text("resolved")
    expect(block).to_contain_text("sentiment positive")
    expect(block).to_contain_text("rule-based (offline)")
    expect(block).to_contain_text('The customer asked: "Thanks, my parcel arrived, great"')
    shot(page, "history-analysis")
    page.click("#session-back")  # the row opened the session page; back to the list
    page.select_option("#h-outcome", "handed_off")
    page.click("#history-form button[type=submit]")
    expect(page.locator("#history-rows tr")).to_have_count(1)
    expect(page.locator(f'#history-rows tr[data-session="{handed["session_id"]}"]')).to_have_count(1)

    page.click('#tabs button[data-tab="charts"]')
    expect(page.locator("#figure-resolution")).to_have_text("Resolution rate50%")
    expect(page.locator("#chart-reasons table td")).to_have_text("1")
    shot(page, "charts-analysis")
    assert problems == []


class TestModelBrief:
    """With a model that writes, the live card's brief is replaced by the model's when it is ready."""

    @pytest.fixture
    def held(self) -> HeldAnswer:
        return HeldAnswer(BRIEF_PROMPT, {"why": "The customer wants a person.", "summary": "Order 7 is late."})

    @pytest.fixture
    def platform_settings(self) -> dict[str, object]:
        return {"model": "llamacpp"}  # a model that writes; the factory below answers for it

    @pytest.fixture
    def platform_models(self, held: HeldAnswer) -> ModelFactory:
        return held.agent

    def test_the_live_card_gets_the_model_brief_when_it_is_written(
        self, page: Page, served: Served, http: httpx.Client, dash: Dash, held: HeldAnswer
    ) -> None:
        log_in(page, served, dash.token)
        first = say(http, dash, "Where is my order 7?")
        say(http, dash, "I need a human, please", str(first["session_id"]))
        card = page.locator(f'.session-card[data-session="{first["session_id"]}"]')
        brief = card.locator(".handoff-bar details.brief")
        expect(card.locator(".handoff-bar .pill")).to_have_text("handoff requested")
        card.locator('.handoff-bar button[data-move="acknowledge"]').click()  # the card loads the stored brief
        expect(brief).to_contain_text("extractive (no model)")

        assert held.asked.wait(WAIT_MS / 1000)
        held.release.set()

        expect(brief).to_contain_text("Summary: Order 7 is late.")
        expect(brief).to_contain_text("written by llamacpp")
        expect(card.locator(".handoff-bar")).to_contain_text(f"handoff acknowledged by {dash.acme.principal.subject}")
        expect(card.locator(".handoff-bar")).not_to_contain_text("null")
        brief.locator("summary").click()
        shot(page, "model-brief")
