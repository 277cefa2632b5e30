"""In headless Chromium, end to end: the agent page's Test call, spoken into a fake microphone.

The admin opens the agent page and starts a test call; the voice bridge's client page opens in a new tab
with the key minted for it; Chromium's fake capture device plays a question synthesized by Piper; the real
local engines (silero VAD, Whisper tiny.en, Piper: loaded once per test session) hear it, the built agent
answers, and the call's transcript shows both turns. Back on the dashboard, History lists the call.

The bridge runs alone on its own port (`ORATIO_VOICE_PUBLIC_URL` names it, as an operator serving it
apart would), so the test shares the session's loaded engines instead of loading its own.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from oratio.platform import Platform
from oratio_app.web import create_app
from schemas import AgentType, AgentUpdate, Channel, Role, SessionFilter
from tests.dashboard.built_agents import Built, built, platform, platform_models, platform_settings
from tests.dashboard.test_browser import log_in, shot
from tests.support.serving import Served, serving_built
from tests.support.speech import real_speech
from tests.system import HEADLESS_CHROMIUM_ARGS, require_program
from tests.voice_bridge.doubles import silence
from voice_bridge.app import create_standalone_app
from voice_bridge.audio import wav_bytes
from voice_bridge.cascade import CascadeBackend
from voice_bridge.speech.audio import resample_pcm16

__all__ = ["built", "platform", "platform_models", "platform_settings"]  # the fixtures of built_agents

CALL_MS = 60_000
RATE = 16_000
QUESTION = "What are your opening hours on Saturday?"


@pytest.fixture
def bridge(platform: Platform) -> Iterator[Served]:
    """The voice bridge alone, on the session's loaded engines."""
    app = create_standalone_app(platform, backend=CascadeBackend(real_speech(), platform.engine))
    with serving_built(lambda port: app) as running:
        yield running


def test_a_test_call_from_the_agent_page_is_answered_and_listed_in_history(
    platform: Platform, built: Built, bridge: Served, tmp_path: Path
) -> None:
    chromium = require_program("chromium")
    speech = real_speech()
    voice = resample_pcm16(speech.tts.synthesize(QUESTION), speech.tts.sample_rate, RATE)
    microphone = tmp_path / "admin.wav"
    microphone.write_bytes(wav_bytes(silence(0.5) + voice + silence(3.0), RATE))
    platform.agents.update(built.acme.principal, built.agent.id, AgentUpdate(agent_type=AgentType.BOTH))
    bridge_ws = bridge.base_url.replace("http://", "ws://")
    configured = dataclasses.replace(
        platform, settings=platform.settings.model_copy(update={"voice_public_url": bridge_ws})
    )
    args = [
        *HEADLESS_CHROMIUM_ARGS,
        "--autoplay-policy=no-user-gesture-required",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}%noloop",
    ]
    with (
        serving_built(lambda port: create_app(configured, host="127.0.0.1", port=port)) as served,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=chromium, args=args, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.set_default_timeout(CALL_MS)
            problems: list[str] = []
            page.on("pageerror", lambda e: problems.append(str(e)))
            log_in(page, served, built.token)
            page.click("button[data-tab=agents]")
            page.locator(f'#agent-rows button[data-open-agent="{built.agent.id}"]').click()
            expect(page.locator("#agent-name")).to_have_text("Desk", timeout=CALL_MS)

            with page.expect_popup() as opened:
                page.click("#test-call")
            call = opened.value
            call.on("pageerror", lambda e: problems.append(str(e)))
            call.set_default_timeout(CALL_MS)
            assert call.url.startswith(f"{bridge.base_url}/voice/client#")
            call.get_by_role("button", name="Start call").click()
            said = call.locator(".turn.customer .text")
            expect(said).to_have_text(re.compile(r"opening hour.*saturday", re.IGNORECASE), timeout=CALL_MS)
            reply = call.locator(".turn.agent:not(.partial) .text")
            expect(reply).not_to_be_empty(timeout=CALL_MS)
            answer = reply.first.inner_text()
            shot(call, "test-call-transcript")
            call.get_by_role("button", name="End call").click()
            expect(call.locator("#status")).to_have_text("Call ended.", timeout=CALL_MS)

            listed = platform.sessions.list(built.acme.principal, SessionFilter(agent_id=built.agent.id)).items
            [session] = [s for s in listed if s.channel is Channel.VOICE]
            page.click("button[data-tab=history]")
            row = page.locator(f'#history-rows tr[data-session="{session.id}"]')
            expect(row).to_contain_text("Desk", timeout=CALL_MS)
            expect(row).to_contain_text("voice")
            shot(page, "test-call-history")
            assert problems == []
        finally:
            browser.close()
    turns = platform.sessions.get(built.acme.principal, session.id).turns
    assert [t.role for t in turns][:2] == [Role.CUSTOMER, Role.AGENT]
    assert turns[1].text.strip() == answer.strip()
