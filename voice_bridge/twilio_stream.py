"""Twilio Media Streams as a transport under the ordinary voice call (voice_bridge.call.VoiceCall).

A phone call is the same call as a web one: the same session, backend, recording, limits, takeover and
greeting. Only the wire differs, so `TwilioTransport` stands where the WebSocket stands and translates:

| Twilio sends | the call sees |
| --- | --- |
| `media` (base64 mu-law, 8 kHz) | a binary PCM16 frame at 8 kHz (the cascade resamples its input) |
| `stop` | `{"type": "end"}` |
| `mark`, `dtmf`, `connected` | nothing (marks are counted; keypad digits are not an input yet) |

| the call sends | Twilio gets |
| --- | --- |
| agent audio (PCM16, 16 kHz) | `media`: low-passed to 8 kHz, mu-law, base64 |
| a sentence's or a reply's audio done | `mark` (Twilio echoes it when the caller has heard it) |
| `interrupted` (barge-in) | `clear`: Twilio drops the agent audio it still holds |
| other control messages | nothing (Twilio has no use for them) |

Every Twilio message is bounded before it is parsed (size, JSON depth, base64 length), and anything that is
not Twilio's protocol closes the stream with a code and a reason (Twilio ignores reasons; logs and tests
read them).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers
from starlette.websockets import WebSocket

from oratio.errors import InvalidInput
from oratio.http_json import JsonTooDeep, parse_json
from voice_bridge import mulaw
from voice_bridge.protocol import CONTROL_MAX_BYTES, JSON_DEPTH_MAX, Close, ProtocolError

logger = logging.getLogger("oratio.voice")

PHONE_RATE = 8_000
AGENT_RATE = 16_000
"""The rate the call is asked to speak at; the transport halves it for the phone."""
_MESSAGE_OVERHEAD = 1_024


@dataclass(frozen=True)
class PhoneLimits:
    """The phone door's limits (`ORATIO_VOICE_PHONE_*`; docs/phone.md lists them)."""

    ticket_s: float = 60.0
    calls_per_minute: float = 60.0
    calls_burst: int = 20
    calls_max: int = 100
    media_max_bytes: int = 8_000

    @property
    def message_max_bytes(self) -> int:
        """The largest Twilio text message accepted: a full media payload in base64, plus its envelope."""
        return max(CONTROL_MAX_BYTES, 4 * -(-self.media_max_bytes // 3) + _MESSAGE_OVERHEAD)


@dataclass(frozen=True)
class StreamStart:
    """Twilio's `start` message, checked."""

    stream_sid: str
    call_sid: str
    ticket: str


def read_message(text: str | None, limits: PhoneLimits) -> dict[str, Any]:
    """One Twilio message as a JSON object with an `event`, or ProtocolError."""
    if text is None:
        raise ProtocolError(Close.UNSUPPORTED, "Twilio media streams send JSON text messages, not binary")
    if len(text) > limits.message_max_bytes or len(text.encode()) > limits.message_max_bytes:
        raise ProtocolError(Close.TOO_BIG, f"a stream message is at most {limits.message_max_bytes} bytes")
    try:
        data = parse_json(text, max_depth=JSON_DEPTH_MAX, what="the message")
    except JsonTooDeep:
        raise ProtocolError(Close.POLICY, f"JSON nested deeper than {JSON_DEPTH_MAX} levels") from None
    except InvalidInput:
        raise ProtocolError(Close.POLICY, "stream messages are JSON objects") from None
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        raise ProtocolError(Close.POLICY, 'stream messages are JSON objects with an "event"')
    return data


def _field(data: Any, name: str, max_chars: int = 64) -> str:
    value = data.get(name) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value or len(value) > max_chars:
        raise ProtocolError(Close.POLICY, f"start.{name} is missing or malformed")
    return value


def parse_start(data: dict[str, Any]) -> StreamStart:
    """Twilio's `start`: 8 kHz mono mu-law, and the ticket the webhook put in its custom parameters."""
    start = data.get("start")
    if not isinstance(start, dict):
        raise ProtocolError(Close.POLICY, "the start message has no start object")
    media_format = start.get("mediaFormat")
    expected = {"encoding": "audio/x-mulaw", "sampleRate": PHONE_RATE, "channels": 1}
    if not isinstance(media_format, dict) or any(media_format.get(k) != v for k, v in expected.items()):
        raise ProtocolError(Close.UNSUPPORTED, "the stream must be audio/x-mulaw, 8000 Hz, 1 channel")
    parameters = start.get("customParameters")
    ticket = parameters.get("ticket") if isinstance(parameters, dict) else None
    if not isinstance(ticket, str) or not ticket:
        raise ProtocolError(Close.BAD_KEY, "the stream has no ticket: start it from the incoming-call webhook")
    return StreamStart(stream_sid=_field(start, "streamSid"), call_sid=_field(start, "callSid"), ticket=ticket)


def media_payload(data: dict[str, Any], limits: PhoneLimits) -> bytes:
    """A `media` message's audio as PCM16 at 8 kHz; the base64 length is checked before decoding."""
    media = data.get("media")
    payload = media.get("payload") if isinstance(media, dict) else None
    if not isinstance(payload, str):
        raise ProtocolError(Close.POLICY, "a media message has no media.payload")
    if len(payload) > 4 * -(-limits.media_max_bytes // 3):
        raise ProtocolError(Close.TOO_BIG, f"a media payload is at most {limits.media_max_bytes} bytes")
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(Close.POLICY, "media.payload is not base64") from None
    return mulaw.decode(raw)


class TwilioTransport:
    """What `VoiceCall` reads and writes, over Twilio's protocol (the socket is accepted and `start` read)."""

    def __init__(self, websocket: WebSocket, limits: PhoneLimits, stream_sid: str, start: dict[str, Any]) -> None:
        self._ws = websocket
        self._limits = limits
        self._sid = stream_sid
        self._start: dict[str, Any] | None = start
        self._decimator = mulaw.Decimator()
        self._unmarked = False
        self.marks_sent = 0
        self.marks_heard: list[str] = []

    @property
    def headers(self) -> Headers:
        return self._ws.headers

    async def accept(self) -> None:
        """Already accepted: the door read Twilio's `start` before the call began."""

    async def receive(self) -> MutableMapping[str, Any]:
        if self._start is not None:
            start, self._start = self._start, None
            return {"type": "websocket.receive", "text": json.dumps(start)}
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                return message
            data = read_message(message.get("text"), self._limits)
            event = data["event"]
            if event == "media":
                return {"type": "websocket.receive", "bytes": media_payload(data, self._limits)}
            if event == "stop":
                return {"type": "websocket.receive", "text": '{"type": "end"}'}
            if event == "mark":
                mark = data.get("mark")
                name = mark.get("name") if isinstance(mark, dict) else None
                if isinstance(name, str) and len(self.marks_heard) < self.marks_sent:
                    self.marks_heard.append(name[:64])
                continue
            if event in ("dtmf", "connected"):
                continue
            raise ProtocolError(Close.POLICY, f"unexpected stream event {event[:40]!r}")

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if (pcm16 := message.get("bytes")) is not None:
            phone = mulaw.encode(self._decimator.feed(pcm16))
            if phone:
                payload = base64.b64encode(phone).decode()
                await self._twilio({"event": "media", "media": {"payload": payload}})
                self._unmarked = True
            return
        kind = json.loads(message.get("text") or "{}").get("type")
        if kind == "interrupted":
            self._unmarked = False
            await self._twilio({"event": "clear"})
        elif kind in ("transcript", "agent_audio_end") and self._unmarked:
            # A new sentence's partial transcript, or the reply's end, follows the audio before it.
            await self._mark()

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        await self._ws.close(code=code, reason=reason)

    async def _mark(self) -> None:
        self._unmarked = False
        self.marks_sent += 1
        await self._twilio({"event": "mark", "mark": {"name": f"agent-{self.marks_sent}"}})

    async def _twilio(self, message: dict[str, Any]) -> None:
        await self._ws.send({"type": "websocket.send", "text": json.dumps({**message, "streamSid": self._sid})})
