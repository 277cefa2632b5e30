"""What the dashboard's browser tests watch a page for: console errors, page errors and failed responses."""

from __future__ import annotations

from playwright.sync_api import Page, Response


def watch(page: Page) -> list[str]:
    """Console errors, page errors and failed responses, collected while the test runs."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    def on_response(response: Response) -> None:
        if response.status >= 400:
            problems.append(f"{response.status} {response.url}")

    page.on("response", on_response)
    return problems
