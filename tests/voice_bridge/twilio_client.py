"""A simulated Twilio for the phone door's tests: the signed incoming-call webhook, and a Media Streams client
that speaks Twilio's documented protocol over a real WebSocket (connected, start, 20 ms mu-law media, mark
echoes, stop) and records what the bridge sends back (media, mark, clear, the close frame)."""

from __future__ import annotations

import base64
import json
import secrets
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from oratio.platform import Platform
from schemas import Agent, AgentSpec, AgentType, CreateAgent
from tests.support.tenants import PLAN, SOP, Tenancy
from voice_bridge import mulaw
from voice_bridge.twilio_auth import twilio_signature
from voice_bridge.twilio_door import TOKEN_SECRET

PUBLIC_URL = "https://voice.example.com"
"""What the tests' platforms set as ORATIO_VOICE_PUBLIC_URL: the TLS proxy Twilio would reach."""
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
MEDIA_BYTES = 160
"""20 ms of 8 kHz mu-law: what Twilio sends per media message."""


def voice_agent_for(platform: Platform, tenancy: Tenancy, name: str = "Phone line") -> Agent:
    """A deployed agent of type voice, with the tenant's Twilio auth token stored as its secret."""
    spec = AgentSpec(name=name, sop=SOP, agent_type=AgentType.VOICE)
    agent = platform.agents.create(tenancy.principal, CreateAgent(spec=spec))
    platform.secrets.put(tenancy.principal, TOKEN_SECRET, AUTH_TOKEN)
    return platform.agents.deploy(tenancy.tenant_id, agent.id, PLAN)


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


def incoming_params(call_sid: str, caller: str = "+14155550123") -> dict[str, str]:
    """What Twilio posts to a number's Voice webhook when a call comes in (the fields that matter here)."""
    return {
        "AccountSid": "AC" + "1" * 32,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "From": caller,
        "To": "+14155559876",
    }


def webhook_path(tenant_id: str, agent_id: str) -> str:
    return f"/voice/twilio/{tenant_id}/{agent_id}/incoming"


async def post_incoming(
    base_http: str,
    path: str,
    params: Mapping[str, str],
    *,
    token: str = AUTH_TOKEN,
    signed_url: str | None = None,
    signed_params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """POST the webhook as Twilio does, signed over `signed_url` (default: the public URL) and `signed_params`."""
    url = signed_url if signed_url is not None else PUBLIC_URL + path
    signature = twilio_signature(token, url, list((signed_params or params).items()))
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(
            base_http + path, data=dict(params), headers={"X-Twilio-Signature": signature, **(headers or {})}
        )


def stream_of(twiml: str) -> tuple[str, str]:
    """The Stream url and ticket of the webhook's TwiML answer."""
    root = ET.fromstring(twiml)
    stream = root.find("./Connect/Stream")
    assert stream is not None, twiml
    parameter = stream.find("./Parameter[@name='ticket']")
    assert parameter is not None, twiml
    return stream.attrib["url"], parameter.attrib["value"]


def to_phone(pcm8k: bytes) -> bytes:
    """PCM16 at 8 kHz as the mu-law a phone line carries."""
    return mulaw.encode(pcm8k)


@dataclass
class Received:
    """What the bridge sent: agent audio (decoded to PCM16 8 kHz), events in order, the close frame."""

    events: list[dict[str, Any]] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)
    close_code: int | None = None
    close_reason: str = ""

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == kind]

    def kinds(self) -> list[str]:
        return [e["event"] for e in self.events]


class TwilioStream:
    """Twilio's side of one Media Stream."""

    def __init__(self, ws: ClientConnection, call_sid: str) -> None:
        self.ws = ws
        self.call_sid = call_sid
        self.stream_sid = "MZ" + secrets.token_hex(16)
        self.received = Received()
        self._sequence = 0

    async def _send(self, event: str, **body: Any) -> None:
        self._sequence += 1
        message = {"event": event, "sequenceNumber": str(self._sequence), **body}
        if event != "connected":
            message["streamSid"] = self.stream_sid
        await self.ws.send(json.dumps(message))

    async def begin(self, ticket: str | None, **start_changes: Any) -> None:
        """`connected`, then `start` with the ticket in customParameters (as TwiML's <Parameter> makes it)."""
        await self._send("connected", protocol="Call", version="1.0.0")
        start: dict[str, Any] = {
            "accountSid": "AC" + "1" * 32,
            "streamSid": self.stream_sid,
            "callSid": self.call_sid,
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            "customParameters": {} if ticket is None else {"ticket": ticket},
        }
        await self._send("start", start={**start, **start_changes})

    async def say(self, mulaw_audio: bytes) -> None:
        """Send audio as Twilio does: 20 ms media messages, base64 mu-law."""
        for offset in range(0, len(mulaw_audio), MEDIA_BYTES):
            chunk = mulaw_audio[offset : offset + MEDIA_BYTES]
            payload = base64.b64encode(chunk).decode()
            await self._send("media", media={"track": "inbound", "chunk": str(self._sequence), "payload": payload})

    async def press(self, digit: str) -> None:
        await self._send("dtmf", dtmf={"track": "inbound_track", "digit": digit})

    async def hang_up(self) -> None:
        await self._send("stop", stop={"accountSid": "AC" + "1" * 32, "callSid": self.call_sid})

    async def receive_one(self) -> bool:
        try:
            message = await self.ws.recv()
        except ConnectionClosed as closed:
            if closed.rcvd is not None:
                self.received.close_code, self.received.close_reason = closed.rcvd.code, closed.rcvd.reason
            else:
                self.received.close_code = 1006
            return False
        assert isinstance(message, str), "the bridge sends Twilio JSON text messages only"
        event = json.loads(message)
        assert event["streamSid"] == self.stream_sid
        self.received.events.append(event)
        if event["event"] == "media":
            self.received.audio += mulaw.decode(base64.b64decode(event["media"]["payload"]))
        elif event["event"] == "mark":
            # Twilio echoes a mark once the audio before it has played (at once here: nobody listens).
            await self._send("mark", mark={"name": event["mark"]["name"]})
        return True

    async def until(self, done: Callable[[Received], bool], within_s: float = 30.0) -> None:
        with anyio.fail_after(within_s):
            while not done(self.received) and await self.receive_one():
                pass

    async def closed(self, within_s: float = 30.0) -> Received:
        await self.until(lambda r: r.close_code is not None, within_s)
        return self.received


@asynccontextmanager
async def twilio_stream(url: str, call_sid: str) -> AsyncIterator[TwilioStream]:
    async with connect(url, max_size=2**20, open_timeout=10) as ws:
        yield TwilioStream(ws, call_sid)
