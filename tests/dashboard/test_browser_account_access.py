"""Headless Chromium, the Account tab: a signed-in person creates a service account (its secret shown once,
its client-credentials token works, revoking it refuses the next one), and sees and revokes the MCP clients
they authorised."""

from __future__ import annotations

import httpx
from playwright.sync_api import Dialog, Page, expect

from schemas import Principal
from tests.dashboard.dash import Dash
from tests.dashboard.page_problems import watch
from tests.dashboard.test_browser import browser, page, shot
from tests.support.oauth import RESOURCE, consent
from tests.support.serving import Served
from tests.support.signin import PASSWORD

__all__ = ["browser", "page"]


def client_token(http: httpx.Client, client_id: str, secret: str, served: Served) -> httpx.Response:
    return http.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "resource": served.url("/mcp"),
        },
    )


def sign_in_invited(page: Page, served: Served, dash: Dash) -> Principal:
    """Robin, invited by Acme's admin, chooses a password in the page; Robin's principal."""
    invitation = dash.platform.signin.invite(dash.acme.principal, "robin@acme.example", "Robin", served.base_url)
    page.goto(invitation.link)
    page.fill("#link-password", PASSWORD)
    page.fill("#link-repeat", PASSWORD)
    page.click("#link-form button[type=submit]")
    expect(page.locator("#conn")).to_have_text("live")
    admin = invitation.admin
    return Principal(tenant_id=admin.tenant_id, subject=admin.id, scopes=frozenset(admin.scopes))


def test_a_person_creates_and_revokes_a_service_account(
    page: Page, served: Served, http: httpx.Client, dash: Dash
) -> None:
    problems = watch(page)
    sign_in_invited(page, served, dash)

    page.click("#tab-account")
    expect(page.locator("#sa-empty")).to_be_visible()
    page.fill("#sa-name", "Billing bot")
    page.check('#sa-form input[value="sessions:write"]')
    page.click("#sa-form button[type=submit]")
    expect(page.locator("#sa-secret")).to_be_visible()
    client_id = page.locator("#sa-client-id").text_content() or ""
    secret = page.locator("#sa-secret-value").text_content() or ""
    row = page.locator("#sa-rows tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(2)).to_have_text("agents:read, sessions:read, sessions:write")
    shot(page, "service-accounts")
    assert client_token(http, client_id, secret, served).status_code == 200
    page.click("#sa-dismiss")
    expect(page.locator("#sa-secret-value")).to_have_text("")

    def accept(dialog: Dialog) -> None:
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("button", name="Revoke Billing bot").click()
    expect(row.locator(".pill")).to_have_text("revoked")
    assert client_token(http, client_id, secret, served).status_code in (400, 401)
    assert problems == []


def test_a_person_sees_and_revokes_the_mcp_clients_they_authorised(page: Page, served: Served, dash: Dash) -> None:
    problems = watch(page)
    robin = sign_in_invited(page, served, dash)
    claude = consent(dash.platform, robin, "cid-claude")
    consent(dash.platform, dash.acme.principal, "cid-other")  # the other admin's: not Robin's to see

    page.click("#tab-account")
    rows = page.locator("#ac-rows tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("td").nth(2)).to_have_text(RESOURCE)
    shot(page, "authorised-clients")

    def accept(dialog: Dialog) -> None:
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("button", name="Revoke Tool").click()
    expect(rows).to_have_count(0)
    expect(page.locator("#ac-empty")).to_be_visible()
    assert dash.platform.oauth.authorised(robin) == []
    assert [c.client_id for c in dash.platform.oauth.authorised(dash.acme.principal)] == ["cid-other"]
    assert claude.access_token and problems == []
