"""Headless Chromium: a person signs in, writes a new agent's SOP (loaded from a .docx, previewed as Markdown),
drops a knowledge document on the page, creates the agent and watches it build to live; a reload keeps the
progress view. The AgentCreator runs on the offline scripted model inside `oratio serve`'s app. Screenshots go
to test-artifacts/dashboard/."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import FilePayload, Page, Response, Route, expect

from oratio.platform import Platform
from schemas.signin import LinkPurpose
from tests.dashboard.agent_admin_support import docx, paragraph
from tests.dashboard.built_agents import platform, platform_models
from tests.dashboard.dash import Dash
from tests.dashboard.test_browser import browser, page, shot
from tests.support.serving import Served
from tests.support.signin import LINK, PASSWORD

__all__ = ["browser", "page", "platform", "platform_models"]  # the fixtures

PERSON = "robin@acme.example"
HOURS = "# Opening hours\n\nWe are open 9 to 5 on weekdays."


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    # Documents are indexed in the background, as in production: the page shows them go from ingesting to ready.
    return {"model": "scripted", "password_memory_kib": 8 * 1024, "ingest_background": True}


def sop_docx() -> bytes:
    return docx(
        paragraph("Desk SOP", "Title")
        + paragraph("Steps", "Heading2")
        + paragraph("Greet the customer.", listed=True)
        + paragraph("Answer questions about opening hours from the knowledge base.", listed=True)
        + paragraph("Rules", "Heading2")
        + paragraph("Always be polite.", listed=True)
        + paragraph("Never share a customer's data.", listed=True)
        + paragraph("Hand off to a human when the customer asks for a manager.")
    )


def test_a_person_creates_an_agent_with_a_document_and_watches_it_go_live(
    page: Page, served: Served, platform: Platform, dash: Dash
) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.text} {m.location['url']}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    def refused(response: Response) -> None:
        if response.status >= 400:
            problems.append(f"{response.status} {response.url}")

    page.on("response", refused)
    invitation = platform.signin.invite(dash.acme.principal, PERSON, "Robin", served.base_url)
    found = LINK.search(invitation.link)
    assert found is not None
    platform.signin.accept(found.group(2), PASSWORD, LinkPurpose.INVITE)

    page.goto(served.url("/dashboard"))
    page.fill("#signin-email", PERSON)
    page.fill("#signin-password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#conn")).to_have_text("live")

    page.click("button[data-tab=agents]")
    page.click("#new-agent")
    expect(page.locator("#c-model option")).to_have_count(2)  # platform default + the allow-list's `scripted`
    page.fill("#c-name", "Desk")
    word: FilePayload = {"name": "desk.docx", "mimeType": "application/octet-stream", "buffer": sop_docx()}
    page.set_input_files("#c-sop-file", files=[word])
    expect(page.locator("#c-sop-note")).to_contain_text("Loaded desk.docx (docx)")
    expect(page.locator("#c-preview h1")).to_have_text("Desk SOP")
    expect(page.locator("#c-preview ul li").first).to_have_text("Greet the customer.")
    page.locator("#c-sop").press_sequentially("\n\n**Bold** <img src=x onerror=alert(1)>")
    expect(page.locator("#c-preview strong")).to_have_text("Bold")
    assert page.locator("#c-preview img").count() == 0  # the preview shows markup as text, never as HTML
    page.check("#c-ch-voice")
    page.check("#c-handoff-enabled")
    page.fill("#c-handoff-conditions", "the customer asks for a manager")

    dropped = page.evaluate_handle(
        """([name, text]) => {
            const data = new DataTransfer();
            data.items.add(new File([text], name, { type: "text/markdown" }));
            return data;
        }""",
        ["hours.md", HOURS],
    )
    page.dispatch_event("#c-drop", "drop", {"dataTransfer": dropped})
    expect(page.locator("#c-doc-list li[data-doc='hours.md']")).to_contain_text("queued")
    shot(page, "create-1-form")
    page.click("#c-submit")

    expect(page.locator("#panel-creation")).to_be_visible()
    assert "#creation=" in page.url
    page.reload()  # the build goes on; the view comes back where it is
    expect(page.locator("#creation-state .pill")).to_have_text("live", timeout=120_000)
    expect(page.locator("#creation-stages li[data-status=passed]")).to_have_count(5)
    expect(page.locator("#creation-docs li[data-doc='hours.md'] .pill")).to_have_text("ready")
    expect(page.locator("#creation-reviews li").first).to_contain_text("Cycle 1")
    shot(page, "create-2-live")

    agents = platform.agents.list(dash.acme.principal).items
    desk = next(agent for agent in agents if agent.name == "Desk")
    assert desk.spec.agent_type.value == "both" and desk.spec.handoff.enabled
    assert "Greet the customer." in desk.spec.sop
    assert problems == []


def test_the_form_fits_a_phone_width_screen(page: Page, served: Served, dash: Dash) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(served.url("/dashboard"))
    page.fill("#token", dash.token)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#conn")).to_have_text("live")
    page.click("button[data-tab=agents]")
    page.click("#new-agent")
    page.fill("#c-sop", "# Steps\n1. Greet the customer.")
    expect(page.locator("#c-preview ol li")).to_have_text("Greet the customer.")
    # The form's own elements stay on the screen (the tab bar above is the page's, not this form's).
    past = page.evaluate(
        """() => [...document.querySelectorAll("#panel-create *")]
            .filter((node) => node.getBoundingClientRect().right > window.innerWidth + 1)
            .map((node) => `${node.tagName}#${node.id}`)"""
    )
    shot(page, "create-3-phone")
    assert past == [], f"past the right edge of a 390 px screen: {past}"


def test_typing_before_the_form_options_arrive_stays_in_the_field_typed_in(
    page: Page, served: Served, dash: Dash
) -> None:
    # The form's options (voices, models) are held back until the admin has started writing the SOP: when they
    # arrive, the focus must stay where the admin is typing (it used to jump to Name, taking the next words).
    held: list[Route] = []
    page.route("**/api/v1/agent-options", lambda route: held.append(route))
    page.goto(served.url("/dashboard"))
    page.fill("#token", dash.token)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#conn")).to_have_text("live")
    page.click("button[data-tab=agents]")
    with page.expect_request("**/api/v1/agent-options"):
        page.click("#new-agent")
    page.fill("#c-sop", "# Steps\n1. Greet the customer.\n")
    assert len(held) == 1
    held[0].continue_()
    expect(page.locator("#c-voice option")).not_to_have_count(0)  # the options arrived
    page.keyboard.type("2. Answer questions.")
    expect(page.locator("#c-sop")).to_have_value("# Steps\n1. Greet the customer.\n2. Answer questions.")
    expect(page.locator("#c-name")).to_have_value("")
