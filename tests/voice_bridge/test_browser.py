"""The bridge's browser page in headless Chromium, talking to an agent through a fake microphone.

Chromium's fake capture device plays an espeak-ng recording as the microphone, so the page's real
path runs: getUserMedia, the capture worklet, PCM16 frames over the WebSocket, the agent's audio
played back, transcripts on the page.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from oratio.platform import Platform
from schemas import Role, SessionFilter, SessionStatus
from tests.net import uvicorn_in_thread
from tests.support.worlds import World
from tests.system import HEADLESS_CHROMIUM_ARGS, require_program
from tests.voice_bridge.doubles import espeak_speech, silence, speak
from voice_bridge.app import create_standalone_app
from voice_bridge.audio import wav_bytes
from voice_bridge.cascade import CascadeBackend

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def chromium_args(capture: Path) -> list[str]:
    return [
        *HEADLESS_CHROMIUM_ARGS,
        "--autoplay-policy=no-user-gesture-required",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={capture}%noloop",
    ]


def test_the_page_talks_to_an_agent_with_the_microphone(platform: Platform, world: World, tmp_path: Path) -> None:
    require_program("chromium")
    capture = tmp_path / "customer.wav"
    capture.write_bytes(wav_bytes(silence(0.5) + speak("Hello, I need my invoice please.") + silence(3.0), 16_000))
    backend = CascadeBackend(espeak_speech(["I need my invoice"]), platform.engine)
    app = create_standalone_app(platform, backend=backend)
    ARTIFACTS.mkdir(exist_ok=True)
    with uvicorn_in_thread(lambda port: app) as port, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=chromium_args(capture))
        try:
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/voice/client#agent={world.agent.id}&key={world.secret}")
            page.get_by_role("button", name="Start call").click()
            expect(page.locator(".turn.customer")).to_have_text("customerI need my invoice", timeout=30_000)
            expect(page.locator(".turn.agent:not(.partial)")).to_have_text(
                "agentYou said: I need my invoice. Anything else?", timeout=30_000
            )
            assert int(page.locator("body").get_attribute("data-agent-audio-ms") or 0) > 500
            page.screenshot(path=str(ARTIFACTS / "voice-client.png"), full_page=True)
            page.get_by_role("button", name="End call").click()
            expect(page.locator("#status")).to_have_text("Call ended.", timeout=10_000)
        finally:
            browser.close()
    [session] = platform.sessions.list(world.acme.principal, SessionFilter(agent_id=world.agent.id)).items
    turns = platform.sessions.get(world.acme.principal, session.id).turns
    assert [(t.role, t.text) for t in turns][:2] == [
        (Role.CUSTOMER, "I need my invoice"),
        (Role.AGENT, "You said: I need my invoice. Anything else?"),
    ]
    assert session.status is SessionStatus.COMPLETED
