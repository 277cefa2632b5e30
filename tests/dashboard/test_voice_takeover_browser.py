"""A voice call's live card in headless Chromium: the admin listens in, talks from a (fake) microphone
and types, and the caller's socket receives the person's audio (issue 19, item 2).

The server is `oratio serve`'s app with the scripted speech backend (`ORATIO_VOICE_BACKEND=scripted`:
energy VAD, scripted recognition, a tone for the agent's voice), so no speech models are needed.
The caller is a real WebSocket client on its own thread; Chromium's fake capture device plays a
330 Hz tone as the admin's microphone. The page's real path runs: the listen socket, Web Audio
playback of both channels, the Take over POST, getUserMedia, the capture worklet module, PCM16 frames.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from oratio.platform import Platform
from oratio_app.web import create_app
from schemas import Role
from tests.dashboard.dash import Dash
from tests.support.serving import Served, serving_built
from tests.system import HEADLESS_CHROMIUM_ARGS, require_program
from voice_bridge.audio import rms, wav_bytes

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
WAIT_MS = 20_000
RATE = 16_000
LOUD = 1000.0


def tone(seconds: float, hz: float) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    return (4000 * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()


@pytest.fixture
def served(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    monkeypatch.setenv("ORATIO_VOICE_BACKEND", "scripted")
    with serving_built(lambda port: create_app(platform, host="127.0.0.1", port=port)) as running:
        yield running


@dataclass
class Caller:
    """The caller's socket, read on a thread: messages, audio, and how much audio came before each message."""

    ws: ClientConnection
    messages: list[dict[str, Any]] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)
    audio_at: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    def read(self) -> None:
        try:
            for message in self.ws:
                with self.changed:
                    if isinstance(message, bytes):
                        self.audio += message
                    else:
                        self.messages.append(json.loads(message))
                        self.audio_at.append(len(self.audio))
                    self.changed.notify_all()
        except ConnectionClosed:
            pass

    def wait(self, done: Any, within_s: float = 20.0) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: done(self), timeout=within_s), self.messages[-5:]

    def kinds(self) -> list[str]:
        return [m["type"] for m in self.messages]


def test_the_admin_listens_talks_and_types_into_a_voice_call(
    served: Served, dash: Dash, platform: Platform, tmp_path: Path
) -> None:
    chromium = require_program("chromium")
    microphone = tmp_path / "admin.wav"
    microphone.write_bytes(wav_bytes(tone(3.0, 330.0), RATE))
    args = [
        *HEADLESS_CHROMIUM_ARGS,
        "--autoplay-policy=no-user-gesture-required",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
    ]
    ws_base = served.base_url.replace("http://", "ws://")
    typed = "Hello, this is Ana from support."
    with (
        sync_playwright() as playwright,
        connect(f"{ws_base}/voice/{dash.agent.id}", open_timeout=10, max_size=2**22) as ws,
    ):
        browser = playwright.chromium.launch(executable_path=chromium, args=args, headless=True)
        caller = Caller(ws)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.set_default_timeout(WAIT_MS)
            problems: list[str] = []
            page.on("pageerror", lambda e: problems.append(str(e)))
            log_in(page, served, dash.token)

            ws.send(json.dumps({"type": "start", "api_key": dash.secret, "audio": {"sample_rate": RATE}}))
            session_id = json.loads(ws.recv(timeout=10))["session_id"]
            reader = threading.Thread(target=caller.read, daemon=True)
            reader.start()
            card = page.locator(f'.session-card[data-session="{session_id}"]')
            card.locator("[data-voice=listen]").click()
            expect(card.locator(".voice-status")).to_have_text("listening")

            # The caller speaks and the agent answers: the admin hears both sides.
            send_audio(ws, tone(0.4, 220.0) + bytes(RATE * 2))
            caller.wait(lambda c: "agent_audio_end" in c.kinds())
            page.wait_for_function(
                "c => Number(c.dataset.heardCustomerMs) > 300 && Number(c.dataset.heardAgentMs) > 50",
                arg=card.element_handle(),
            )

            # Talk: the card takes the call over, then the microphone goes to the caller.
            card.locator("[data-voice=talk]").click()
            expect(card.locator(".voice-status")).to_have_text("talking to the caller")
            caller.wait(lambda c: "taken_over" in c.kinds())
            taken_at = caller.audio_at[caller.kinds().index("taken_over")]
            caller.wait(lambda c: len(c.audio) - taken_at >= 24_000 * 2)  # a second of the admin's voice
            page.wait_for_function("c => Number(c.dataset.heardHumanMs) > 500", arg=card.element_handle())
            card.locator("[data-voice=talk]").click()  # stop the microphone

            # Type: the words are stored as the admin's turn and spoken to the caller.
            card.locator(".voice-type input").fill(typed)
            card.locator("[data-voice=type]").click()
            caller.wait(lambda c: "human_audio_end" in c.kinds())
            expect(card.locator(".voice-status")).to_have_text("listening · taken over · message spoken")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "voice-takeover.png"), full_page=True)
            assert problems == []
        finally:
            browser.close()
            ws.close()
    with caller.lock:
        heard_by_caller = bytes(caller.audio[taken_at:])
        transcripts = [m["text"] for m in caller.messages if m["type"] == "transcript" and m["role"] == "human"]
    assert rms(heard_by_caller[: 24_000 * 2]) > LOUD  # the admin's microphone tone, at the caller's ear
    assert transcripts == [typed]
    turns = platform.sessions.get(dash.acme.principal, session_id).turns
    assert [(t.text, t.author) for t in turns if t.role is Role.HUMAN] == [(typed, dash.acme.principal.subject)]


def send_audio(ws: ClientConnection, pcm16: bytes) -> None:
    for at in range(0, len(pcm16), 640):
        ws.send(pcm16[at : at + 640])


def log_in(page: Page, served: Served, token: str) -> None:
    page.goto(served.url("/dashboard"))
    page.fill("#token", token)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#conn")).to_have_text("live")
