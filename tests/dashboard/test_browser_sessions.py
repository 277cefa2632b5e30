"""In headless Chromium: Live shows only live sessions, History keeps itself current, and a session page
shows everything the platform recorded about one conversation.

A card leaves the Live tab when its session ends; History reloads when opened and, while open, shows a
session that started after it was loaded; the session page (from a History row or a Live card) shows
who spoke, the tool calls, the handoff brief, the analysis, each reply's latency and a player for the
call's recording, and nothing on it widens the page past a 1280 px window.
"""

from __future__ import annotations

import io
import re
import wave

import httpx
from playwright.sync_api import Page, expect

from tests.dashboard.dash import Dash, say
from tests.dashboard.test_browser import browser, log_in, page, shot
from tests.support.engine import PLAN
from tests.support.serving import Served
from tests.support.tool_calls import call, store_agent_turn

__all__ = ["browser", "page"]  # the fixtures, shared with test_browser

NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"


def wav(seconds: float = 0.5) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0\0\0" * int(16000 * seconds))
    return out.getvalue()


def test_an_ended_session_leaves_live_and_history_shows_new_sessions_without_a_reload(
    page: Page, served: Served, http: httpx.Client, dash: Dash
) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    log_in(page, served, dash.token)
    first = str(say(http, dash, "hello")["session_id"])
    card = page.locator(f'.session-card[data-session="{first}"]')
    expect(card.locator(".turn-agent")).to_have_count(1)

    page.click('#tabs button[data-tab="history"]')  # opened: it reads the list again
    expect(page.locator(f'#history-rows tr[data-session="{first}"]')).to_have_count(1)
    second = str(say(http, dash, "another question")["session_id"])  # while History is open
    expect(page.locator(f'#history-rows tr[data-session="{second}"]')).to_have_count(1)
    dash.platform.sessions.end(dash.acme.tenant_id, first, "ended by the agent")
    expect(page.locator(f'#history-rows tr[data-session="{first}"] .pill')).to_have_text("completed")

    page.click('#tabs button[data-tab="live"]')
    expect(card).to_have_count(0)
    expect(page.locator(f'.session-card[data-session="{second}"]')).to_have_count(1)
    expect(page.locator("#live-count")).to_have_text("1")
    dash.platform.sessions.end(dash.acme.tenant_id, second, "ended by the agent")  # while Live is shown
    expect(page.locator(".session-card")).to_have_count(0)
    expect(page.locator("#live-count")).to_have_text("0")
    expect(page.locator("#live-empty")).to_be_visible()
    assert problems == []


def test_history_keeps_its_searched_filters_while_new_ones_are_half_typed(
    page: Page, served: Served, http: httpx.Client, dash: Dash
) -> None:
    """A live reload and "Load more" ask with the filters the rows show, not with a search the admin is still typing
    (it is their choice once they press Search)."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    first = str(say(http, dash, "hello")["session_id"])
    log_in(page, served, dash.token)
    page.click('#tabs button[data-tab="history"]')
    expect(page.locator(f'#history-rows tr[data-session="{first}"]')).to_have_count(1)

    page.fill("#h-q", "no transcript says this")  # typed, not searched
    second = str(say(http, dash, "another question")["session_id"])  # a live reload while the search is half typed
    expect(page.locator(f'#history-rows tr[data-session="{second}"]')).to_have_count(1)
    expect(page.locator(f'#history-rows tr[data-session="{first}"]')).to_have_count(1)
    expect(page.locator("#h-q")).to_have_value("no transcript says this")  # what they typed stays

    page.click("#history-form button[type=submit]")  # now it is their choice
    expect(page.locator("#history-rows")).to_contain_text("No sessions match.")
    assert problems == []


def test_the_session_page_shows_transcript_tools_brief_analysis_latency_and_recording(
    page: Page, served: Served, http: httpx.Client, dash: Dash
) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.set_viewport_size({"width": 1280, "height": 900})
    tenant = dash.acme.tenant_id
    session_id = str(say(http, dash, "Where is my order?")["session_id"])
    store_agent_turn(dash.platform, tenant, session_id, [call("call_1", "lookup_order", summary="shipped")], "Shipped.")
    say(http, dash, "get me a person", session_id)
    dash.platform.sessions.save_recording(
        tenant, dash.agent.id, session_id, "call-20260101T000000000000Z-" + "a" * 60, io.BytesIO(wav()), seconds=0.5
    )
    live = str(say(http, dash, "still here")["session_id"])
    log_in(page, served, dash.token)

    page.locator(f'.session-card[data-session="{live}"] button[data-open]').click()  # from a Live card
    expect(page.locator("#panel-session")).to_be_visible()
    expect(page.locator("#history-detail .turn-customer p")).to_have_text("still here")
    expect(page.locator("#history-analysis-none")).to_contain_text("after the session ends")
    say(http, dash, "and more", live)  # the open page follows the live session
    expect(page.locator("#history-detail .turn-customer p")).to_have_text(["still here", "and more"])
    page.click("#session-back")
    expect(page.locator("#panel-live")).to_be_visible()

    dash.platform.sessions.end(tenant, session_id, "closed by a human")
    assert dash.platform.analyses.run_pending() == 1
    page.click('#tabs button[data-tab="history"]')
    page.locator(f'#history-rows tr[data-session="{session_id}"]').click()
    detail = page.locator("#history-detail")
    expect(detail.locator(".turn .who")).to_contain_text(["customer", "agent", "agent", "customer"])
    expect(detail.locator(".turn-agent .tool-call .tool-name")).to_contain_text("lookup_order")
    expect(detail.locator(".turn-agent .latency").first).to_contain_text("replied in")
    expect(detail.locator("#session-brief details.brief")).to_contain_text("First request: Where is my order?")
    expect(page.locator("#history-analysis .pill")).to_have_text("handed off")
    detail.locator("#session-recordings button").click()  # a pasted token: fetched with it, then played
    player = detail.locator("#session-recordings audio")
    expect(player).to_have_attribute("src", re.compile(r"^blob:"))
    page.wait_for_function("document.querySelector('#session-recordings audio').duration > 0.4")
    assert page.evaluate(NO_OVERFLOW), page.evaluate("document.documentElement.scrollWidth")
    shot(page, "session-page")
    page.click("#session-back")
    expect(page.locator("#panel-history")).to_be_visible()
    assert page.evaluate(NO_OVERFLOW)
    assert problems == []


def test_a_field_the_customer_never_gave_reads_not_collected_in_the_analysis(
    page: Page, served: Served, http: httpx.Client, dash: Dash
) -> None:
    """A new user's session page said "· collected account number" for a session where nobody gave one: the
    muted dot was the only sign the check was not met."""
    fields = PLAN.model_copy(update={"information_to_collect": ["account number"]})
    dash.platform.agents.deploy(dash.acme.tenant_id, dash.agent.id, fields)
    session_id = str(say(http, dash, "How do I change my plan?")["session_id"])
    dash.platform.sessions.end(dash.acme.tenant_id, session_id, "ended by the agent")
    assert dash.platform.analyses.run_pending() == 1
    log_in(page, served, dash.token)

    page.click('#tabs button[data-tab="history"]')
    page.locator(f'#history-rows tr[data-session="{session_id}"]').click()
    check = page.locator("#history-analysis .checks li", has_text="account number")
    expect(check).to_have_text("· not collected: account number")
