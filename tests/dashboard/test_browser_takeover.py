"""In headless Chromium: the person who took a session over writes to its customer from the live card.

The compose box appears when the card is taken over; what is sent shows in the transcript marked as
the team member's (with their name), reaches the customer's runtime receive, and the customer's own
turns during the takeover show on the card as they arrive. Returning the session removes the box.
"""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.dashboard.dash import Dash, say
from tests.dashboard.test_browser import browser, log_in, page, shot
from tests.support.serving import Served

__all__ = ["browser", "page"]  # the fixtures, shared with test_browser


def test_a_person_writes_to_the_customer_from_the_live_card(
    page: Page, served: Served, http: httpx.Client, dash: Dash
) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    log_in(page, served, dash.token)
    session_id = str(say(http, dash, "Where is my order?")["session_id"])
    card = page.locator(f'.session-card[data-session="{session_id}"]')
    expect(card.locator(".turn-agent")).to_have_count(1)
    expect(card.locator("form.compose")).to_have_count(0)

    card.locator('.handoff-bar button[data-move="take-over"]').click()
    expect(card.locator(".handoff-bar .pill")).to_have_text("handoff taken over")
    card.locator("form.compose textarea").fill("Hi, this is Sam. Your order ships today.")
    card.locator("form.compose button[type=submit]").click()

    human = card.locator(".turn-human")
    expect(human.locator("p")).to_have_text("Hi, this is Sam. Your order ships today.")
    expect(human.locator(".who")).to_contain_text(f"team · {dash.acme.principal.subject}")
    expect(card.locator("form.compose textarea")).to_have_value("")
    received = http.post(
        f"/runtime/agents/{dash.agent.id}/invocations",
        json={"action": "receive", "session_id": session_id, "after": 3, "wait_seconds": 5},
        headers={"X-Api-Key": dash.secret},
    ).json()
    assert [(i["role"], i["text"]) for i in received["items"]] == [
        ("human", "Hi, this is Sam. Your order ships today.")
    ]

    say(http, dash, "Great, thank you!", session_id)  # the customer's turn during the takeover, live on the card
    expect(card.locator(".turn-customer p").last).to_have_text("Great, thank you!")
    card.locator("form.compose textarea").fill("You're welcome!")
    card.locator("form.compose textarea").press("Enter")
    expect(card.locator(".turn-human")).to_have_count(2)
    shot(page, "takeover-compose")

    card.locator('.handoff-bar button[data-move="return"]').click()
    expect(card.locator(".handoff-bar .pill")).to_have_text("handoff returned")
    expect(card.locator("form.compose")).to_have_count(0)

    page.click('#tabs button[data-tab="history"]')  # the History transcript marks who spoke too
    page.click("#history-form button[type=submit]")
    page.locator(f'#history-rows tr[data-session="{session_id}"]').click()
    detail = page.locator("#history-detail .turn-human")
    expect(detail).to_have_count(2)
    expect(detail.first.locator(".who")).to_contain_text(f"team · {dash.acme.principal.subject}")
    shot(page, "takeover-history")
    assert problems == []
