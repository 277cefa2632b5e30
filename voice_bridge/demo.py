"""One voice call for `oratio demo`: synthesized customer speech in, the agent's spoken reply out.

The call is real end to end: the bridge is served by uvicorn on a free loopback port, a WebSocket
client speaks the wire protocol (docs/voice.md), and the customer's words are made by the same local
text-to-speech the agent speaks with, then heard by the cascade's own voice detection and recogniser.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from oratio.errors import ConfigError
from oratio.loopback import serving_on_loopback
from voice_bridge.app import create_voice_app
from voice_bridge.cascade import CascadeBackend
from voice_bridge.context import VoiceServices
from voice_bridge.speech import LocalSpeech, TextToSpeech
from voice_bridge.speech.audio import duration_seconds, resample_pcm16
from voice_bridge.speech.local import TtsChoice, load_tts
from voice_bridge.speech.ports import INPUT_RATE

FRAME_BYTES = 640  # 20 ms at 16 kHz
FRAME_S = FRAME_BYTES / 2 / INPUT_RATE
LEAD_S = 1.0
"""Audio sent ahead of real time at the start: within the bridge's burst allowance (2 s by default)."""
TRAILING_SILENCE_S = 1.0
"""Enough quiet after the question for the bridge's hangover to end the utterance."""
CALL_TIMEOUT_S = 120.0


@dataclass
class VoiceCallReport:
    """What one demo call heard, for printing."""

    session_id: str = ""
    customer_said: list[str] = field(default_factory=list)
    agent_said: list[str] = field(default_factory=list)
    agent_audio_s: float = 0.0
    first_audio_after_s: float = 0.0
    """From the end of the customer's audio (with its trailing quiet) to the first reply audio."""
    handoff: bool = False
    close: str = ""


@contextmanager
def served_bridge(platform: VoiceServices, speech: LocalSpeech) -> Iterator[str]:
    """The voice bridge over `platform` on a free 127.0.0.1 port; yields its ws:// base URL."""
    app = create_voice_app(platform, backend=CascadeBackend(speech, platform.engine))
    with serving_on_loopback(lambda port: app) as port:
        yield f"ws://127.0.0.1:{port}"


def customer_voice(speech: LocalSpeech) -> TextToSpeech:
    """The customer speaks with espeak-ng: a voice other than the agent's, and the same audio every run.

    Piper (the agent's voice when installed) varies its speech from run to run, so Whisper would hear
    the demo's question differently each time. Without espeak-ng the agent's voice stands in.
    """
    try:
        return load_tts(TtsChoice.ESPEAK)
    except ConfigError:
        return speech.tts


def speak(voice: TextToSpeech, text: str) -> bytes:
    """`text` as the customer's 16 kHz PCM16 speech, with the quiet that ends an utterance."""
    pcm16 = resample_pcm16(voice.synthesize(text), voice.sample_rate, INPUT_RATE)
    return pcm16 + bytes(int(INPUT_RATE * TRAILING_SILENCE_S) * 2)


async def send_as_spoken(send: Callable[[bytes], Awaitable[None]], pcm16: bytes) -> None:
    """Send `pcm16` in frames at the pace it is spoken (the first `LEAD_S` at once), as a microphone would:
    the bridge closes a call whose audio runs more than its burst allowance ahead of real time."""
    began = anyio.current_time()
    for n, offset in enumerate(range(0, len(pcm16), FRAME_BYTES)):
        wait = began + n * FRAME_S - LEAD_S - anyio.current_time()
        if wait > 0:
            await anyio.sleep(wait)
        await send(pcm16[offset : offset + FRAME_BYTES])


async def call(base_url: str, agent_id: str, api_key: str, pcm16: bytes) -> VoiceCallReport:
    """Say `pcm16` to the agent, wait for its written answer and the start of its speech, hang up."""
    report = VoiceCallReport()
    audio = bytearray()
    output_rate = INPUT_RATE
    hung_up = answered = False
    reply_audio = bytearray()  # the agent's audio after the customer was heard (the greeting plays before)
    spoken_at = time.perf_counter()
    start: dict[str, Any] = {
        "type": "start",
        "api_key": api_key,
        "audio": {"encoding": "pcm16", "sample_rate": INPUT_RATE, "channels": 1},
        "output_sample_rate": INPUT_RATE,
    }
    with anyio.fail_after(CALL_TIMEOUT_S):
        async with connect(f"{base_url}/{agent_id}", max_size=2**22, open_timeout=10) as ws:
            await ws.send(json.dumps(start))
            try:
                while True:
                    message = await ws.recv()
                    if isinstance(message, bytes):
                        if report.customer_said and not reply_audio:
                            report.first_audio_after_s = time.perf_counter() - spoken_at
                        if report.customer_said:
                            reply_audio += message
                        audio += message
                        continue
                    event = json.loads(message)
                    kind = event["type"]
                    if kind == "ready":
                        report.session_id = event["session_id"]
                        output_rate = int(event["audio"]["sample_rate"])
                        await send_as_spoken(ws.send, pcm16)
                        spoken_at = time.perf_counter()
                    elif kind == "transcript" and event["final"]:
                        if event["role"] == "customer":
                            report.customer_said.append(event["text"])
                        else:
                            report.agent_said.append(event["text"])
                            answered = bool(report.customer_said)  # not the greeting, which comes first
                    elif kind == "handoff":
                        report.handoff = True
                    if reply_audio and answered and not hung_up:
                        # The reply is written and its audio has begun: enough for a demo (playback is
                        # paced in real time, so waiting for all of it would take as long as it speaks).
                        hung_up = True
                        await ws.send(json.dumps({"type": "end"}))
                    elif kind in {"ended", "error"}:
                        report.close = event.get("reason") or event.get("message") or kind
            except ConnectionClosed as closed:
                if closed.rcvd is not None and not report.close:
                    report.close = f"{closed.rcvd.code} {closed.rcvd.reason}"
    report.agent_audio_s = duration_seconds(bytes(reply_audio), output_rate)
    return report


__all__ = ["VoiceCallReport", "call", "customer_voice", "served_bridge", "speak"]
