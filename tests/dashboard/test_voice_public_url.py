"""`ORATIO_VOICE_PUBLIC_URL`: the dashboard page reaches a standalone voice bridge on another origin.

Without it the page connects to `/voice` on its own origin (`oratio serve` mounts the bridge there) and
its CSP allows only 'self'. With it, the page is told the bridge's URL (a meta tag: no inline script) and
its CSP's connect-src allows exactly that origin. The browser test serves the bridge alone
(`serve-door voice`'s app) on one port and the dashboard on another, and the page's Listen and Type work
across them in headless Chromium.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright
from websockets.sync.client import connect

from oratio.platform import Platform
from oratio_app.web import create_app
from schemas import Role
from tests.dashboard.dash import Dash
from tests.dashboard.test_voice_takeover_browser import Caller, log_in, send_audio, tone
from tests.support.serving import Served, serving_built
from tests.system import HEADLESS_CHROMIUM_ARGS, require_program
from voice_bridge.app import create_standalone_app
from voice_bridge.scripted import scripted_backend

WAIT_MS = 20_000
RATE = 16_000


def _configured(platform: Platform, voice_url: str | None) -> Platform:
    """The same platform (its stores, its keys) with `ORATIO_VOICE_PUBLIC_URL=voice_url` in its settings."""
    return dataclasses.replace(platform, settings=platform.settings.model_copy(update={"voice_public_url": voice_url}))


def _page(platform: Platform, voice_url: str | None) -> httpx.Response:
    configured = _configured(platform, voice_url)
    with (
        serving_built(lambda port: create_app(configured, host="127.0.0.1", port=port)) as served,
        httpx.Client(base_url=served.base_url, timeout=10.0) as http,
    ):
        return http.get("/dashboard")


def test_by_default_the_page_connects_to_its_own_origin_only(platform: Platform) -> None:
    page = _page(platform, None)
    assert "connect-src 'self';" in page.headers["content-security-policy"]
    assert "oratio-voice-url" not in page.text


def test_a_configured_bridge_is_named_in_the_page_and_allowed_by_its_csp(platform: Platform) -> None:
    page = _page(platform, "https://voice.example.com:8765/")
    assert "connect-src 'self' wss://voice.example.com:8765;" in page.headers["content-security-policy"]
    assert '<meta name="oratio-voice-url" content="wss://voice.example.com:8765">' in page.text


@pytest.fixture
def bridge(platform: Platform) -> Iterator[Served]:
    """The voice bridge alone, as `oratio serve-door voice` serves it, on its own port."""
    app = create_standalone_app(platform, backend=scripted_backend(platform.engine, ["Hello"]))
    with serving_built(lambda port: app) as running:
        yield running


def test_the_page_listens_and_types_through_a_bridge_on_another_origin(
    platform: Platform, dash: Dash, bridge: Served
) -> None:
    chromium = require_program("chromium")
    bridge_ws = bridge.base_url.replace("http://", "ws://")
    configured = _configured(platform, bridge_ws)
    typed = "Hello, this is Ana from support."
    with (
        serving_built(lambda port: create_app(configured, host="127.0.0.1", port=port)) as served,
        sync_playwright() as playwright,
        connect(f"{bridge_ws}/voice/{dash.agent.id}", open_timeout=10, max_size=2**22) as ws,
    ):
        assert served.base_url != bridge.base_url
        browser = playwright.chromium.launch(
            executable_path=chromium, args=[*HEADLESS_CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]
        )
        caller = Caller(ws)
        try:
            page = browser.new_page()
            page.set_default_timeout(WAIT_MS)
            problems: list[str] = []
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
            log_in(page, served, dash.token)
            ws.send(json.dumps({"type": "start", "api_key": dash.secret, "audio": {"sample_rate": RATE}}))
            session_id = json.loads(ws.recv(timeout=10))["session_id"]
            threading.Thread(target=caller.read, daemon=True).start()
            card = page.locator(f'.session-card[data-session="{session_id}"]')
            card.locator("[data-voice=listen]").click()
            expect(card.locator(".voice-status")).to_have_text("listening")
            send_audio(ws, tone(0.4, 220.0) + bytes(RATE * 2))
            caller.wait(lambda c: "agent_audio_end" in c.kinds())
            page.wait_for_function("c => Number(c.dataset.heardCustomerMs) > 300", arg=card.element_handle())

            card.locator(".voice-type input").fill(typed)
            card.locator("[data-voice=type]").click()
            caller.wait(lambda c: "human_audio_end" in c.kinds())
            assert problems == []
        finally:
            browser.close()
            ws.close()
    turns = platform.sessions.get(dash.acme.principal, session_id).turns
    assert [(t.text, t.author) for t in turns if t.role is Role.HUMAN] == [(typed, dash.acme.principal.subject)]
