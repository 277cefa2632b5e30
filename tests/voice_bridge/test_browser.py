"""The bridge's browser page in headless Chromium, talking to an agent through a fake microphone.

Chromium's fake capture device plays an espeak-ng recording as the microphone, so the page's real
path runs: getUserMedia, the capture worklet, PCM16 frames over the WebSocket, the agent's audio
played back, transcripts, the agent's state and the reply latency on the page.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import anyio
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright
from starlette.types import ASGIApp, Receive, Scope, Send

from oratio.platform import Platform
from schemas import Role, SessionFilter, SessionStatus
from tests.net import uvicorn_in_thread
from tests.support.speech import real_speech
from tests.support.worlds import World
from tests.system import HEADLESS_CHROMIUM_ARGS, require_program
from tests.voice_bridge.bidi_double import BidiStep, ScriptedBidiModel
from tests.voice_bridge.doubles import espeak_speech, silence, speak
from voice_bridge.app import create_standalone_app
from voice_bridge.audio import wav_bytes
from voice_bridge.cascade import CascadeBackend
from voice_bridge.nova_sonic import NovaSonicBackend

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Runs before the page's own script (through DevTools, so the page's CSP does not apply to it): records
# every state the page shows and every Content-Security-Policy violation.
WATCH_PAGE = """
window.__states = []; window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective));
new MutationObserver(() => {
  const s = document.body.dataset.state;
  if (window.__states[window.__states.length - 1] !== s) window.__states.push(s);
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-state"] });
"""


def chromium_args(capture: Path) -> list[str]:
    return [
        *HEADLESS_CHROMIUM_ARGS,
        "--autoplay-policy=no-user-gesture-required",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={capture}%noloop",
    ]


def launch(playwright: Playwright, capture: Path) -> Browser:
    return playwright.chromium.launch(executable_path=shutil.which("chromium"), args=chromium_args(capture))


def open_page(browser: Browser, port: int, world: World) -> Page:
    page = browser.new_page()
    page.add_init_script(WATCH_PAGE)
    page.goto(f"http://127.0.0.1:{port}/voice/client#agent={world.agent.id}&key={world.secret}")
    return page


def test_the_page_talks_to_an_agent_with_the_microphone(platform: Platform, world: World, tmp_path: Path) -> None:
    require_program("chromium")
    capture = tmp_path / "customer.wav"
    capture.write_bytes(wav_bytes(silence(0.5) + speak("Hello, I need my invoice please.") + silence(3.0), 16_000))
    backend = CascadeBackend(espeak_speech(["I need my invoice"]), platform.engine)
    app = create_standalone_app(platform, backend=backend)
    ARTIFACTS.mkdir(exist_ok=True)
    with uvicorn_in_thread(lambda port: app) as port, sync_playwright() as playwright:
        browser = launch(playwright, capture)
        try:
            page = open_page(browser, port, world)
            expect(page.locator("#state")).to_have_text("Not connected")
            # Keyboard only: Enter in the form starts the call and moves the focus to "End call".
            page.locator("#key").press("Enter")
            expect(page.locator("#stop")).to_be_focused()
            expect(page.locator(".turn.customer .text")).to_have_text("I need my invoice", timeout=30_000)
            expect(page.locator(".turn.customer .role")).to_have_text("You")
            reply = page.locator(".turn.agent:not(.partial)")
            expect(reply.locator(".text")).to_have_text("You said: I need my invoice. Anything else?", timeout=30_000)
            # The reply's latency, as the page measured it (end of speech -> first agent audio), on the turn.
            expect(reply.locator(".latency")).to_have_text(re.compile(r"^\d+ ms$"), timeout=30_000)
            latencies = [int(ms) for ms in (page.locator("body").get_attribute("data-latencies") or "").split(",")]
            assert len(latencies) == 1 and latencies[0] > 0
            expect(page.locator("#lat-last")).to_have_text(f"{latencies[0]} ms")
            page.wait_for_function("Number(document.body.dataset.agentAudioMs) > 500", timeout=30_000)
            expect(page.locator("#state")).to_have_text("Listening", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "voice-client.png"), full_page=True)
            page.keyboard.press("Escape")
            expect(page.locator("#status")).to_have_text("Call ended.", timeout=10_000)
            states = page.evaluate("window.__states")
            assert states[:1] == ["connecting"] and states[-1] == "idle"
            assert ["listening", "thinking", "speaking", "listening"] == _after(states, "thinking", before=1, after=2)
            assert page.evaluate("window.__csp") == []
        finally:
            browser.close()
    [session] = platform.sessions.list(world.acme.principal, SessionFilter(agent_id=world.agent.id)).items
    turns = platform.sessions.get(world.acme.principal, session.id).turns
    assert [(t.role, t.text) for t in turns][:2] == [
        (Role.CUSTOMER, "I need my invoice"),
        (Role.AGENT, "You said: I need my invoice. Anything else?"),
    ]
    assert session.status is SessionStatus.COMPLETED


def _after(states: list[str], state: str, *, before: int, after: int) -> list[str]:
    at = states.index(state)
    return states[at - before : at + after + 1]


def slow_handshake(app: ASGIApp, delay_s: float) -> ASGIApp:
    """The app behind a slow network: each WebSocket opens `delay_s` late (a phone on a bad connection)."""

    async def delayed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await anyio.sleep(delay_s)
        await app(scope, receive, send)

    return delayed


def test_the_first_words_are_not_lost_while_the_socket_opens(platform: Platform, world: World, tmp_path: Path) -> None:
    """The microphone starts before the socket is open: what it hears meanwhile is sent once the call is
    ready, so real speech recognition hears the first word (the microphone starts with speech at once)."""
    require_program("chromium")
    backend = CascadeBackend(real_speech(), platform.engine)
    capture = tmp_path / "customer.wav"
    capture.write_bytes(wav_bytes(speak("Hello, I need my invoice please.") + silence(3.0), 16_000))
    app = slow_handshake(create_standalone_app(platform, backend=backend), 1.0)
    with uvicorn_in_thread(lambda port: app) as port, sync_playwright() as playwright:
        browser = launch(playwright, capture)
        try:
            page = open_page(browser, port, world)
            page.get_by_role("button", name="Start call").click()
            said = page.locator(".turn.customer .text")
            expect(said).to_have_count(1, timeout=60_000)
            # Whisper sometimes writes the greeting word as "below": what matters is that a word came before
            # "I need" (a lost second of audio would start the transcript at "I need" or later).
            heard = re.findall(r"[a-z']+", said.inner_text().lower())
            assert "need" in heard and heard.index("need") >= 2, said.inner_text()
            assert int(page.locator("body").get_attribute("data-buffered-ms") or 0) > 500
            page.get_by_role("button", name="End call").click()
        finally:
            browser.close()


READ_MARKS = """() => ["oratio:speech-end", "oratio:first-audio"].map(
  (name) => performance.getEntriesByName(name).map((m) => ({ at: m.startTime, detail: m.detail })))"""


def test_the_timing_hook_marks_the_first_audio_after_the_end_of_speech(
    platform: Platform, world: World, tmp_path: Path
) -> None:
    """bench/voice_browser.py reads the page's User Timing marks: one reply gives one `oratio:speech-end` and
    one later `oratio:first-audio`, carrying the latency the page shows, so the bench cannot measure nothing."""
    require_program("chromium")
    capture = tmp_path / "customer.wav"
    capture.write_bytes(wav_bytes(silence(0.5) + speak("Hello, I need my invoice please.") + silence(3.0), 16_000))
    backend = CascadeBackend(espeak_speech(["I need my invoice"]), platform.engine)
    app = create_standalone_app(platform, backend=backend)
    with uvicorn_in_thread(lambda port: app) as port, sync_playwright() as playwright:
        browser = launch(playwright, capture)
        try:
            page = open_page(browser, port, world)
            assert page.evaluate(READ_MARKS) == [[], []]
            page.get_by_role("button", name="Start call").click()
            reply = page.locator(".turn.agent")
            expect(reply.locator(".latency")).to_have_text(re.compile(r"^\d+ ms$"), timeout=30_000)
            [[speech_end], [first_audio]] = page.evaluate(READ_MARKS)
            shown = int(page.locator("body").get_attribute("data-latencies") or "")
            assert speech_end["at"] > 0 and first_audio["at"] > speech_end["at"]
            assert first_audio["detail"] == speech_end["detail"]
            assert first_audio["detail"]["turn"] == 1 and first_audio["detail"]["latency_ms"] == shown
            assert abs(round(first_audio["at"] - speech_end["at"]) - shown) <= 1
            page.get_by_role("button", name="End call").click()
        finally:
            browser.close()


def test_an_agent_turn_cut_by_barge_in_is_tagged_interrupted_on_nova_sonic(
    platform: Platform, world: World, tmp_path: Path
) -> None:
    """The caller asks, then speaks over the long reply (a scripted Nova Sonic model hears it and reports the
    barge-in): the page flushes the audio and tags that agent turn "interrupted"; the next one is not."""
    require_program("chromium")
    capture = tmp_path / "customer.wav"
    said = silence(0.5) + speak("Tell me everything.") + silence(2.0) + speak("Stop.") + silence(4.0)
    capture.write_bytes(wav_bytes(said, 16_000))
    model = ScriptedBidiModel(
        [
            BidiStep(heard="Tell me everything", say="Well, it is a long story.", say_seconds=30.0, delta_s=0.04),
            BidiStep(heard="Stop", say="Sure, what else?"),
        ]
    )
    app = create_standalone_app(platform, backend=NovaSonicBackend(platform, lambda: model))
    with uvicorn_in_thread(lambda port: app) as port, sync_playwright() as playwright:
        browser = launch(playwright, capture)
        try:
            page = open_page(browser, port, world)
            page.locator("#key").press("Enter")
            long_reply = page.locator(".turn.agent", has_text="Well, it is a long story.")
            expect(long_reply.locator(".interrupted")).to_have_text("interrupted", timeout=30_000)
            answer = page.locator(".turn.agent", has_text="Sure, what else?")
            expect(answer).to_be_visible(timeout=30_000)
            expect(answer.locator(".interrupted")).to_have_count(0)
            assert page.evaluate("window.__csp") == []
            page.keyboard.press("Escape")
        finally:
            browser.close()
