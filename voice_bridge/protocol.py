"""The voice bridge's wire protocol: limits, close codes, and the `start` message, as one readable page.

docs/voice.md is the prose version of this module. Text frames are JSON control messages, binary
frames are PCM16 little-endian mono audio (the customer's at the rate it chose in `start`, the
agent's at `OUTPUT_RATE`). Every failure closes the socket with one of `Close`'s codes and a reason
a person can act on. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from oratio.errors import InvalidInput
from oratio.http_json import JsonTooDeep, parse_json
from oratio.services.sessions import CUSTOMER_LIMITS
from schemas import Identifier
from schemas._base import Metadata

SAMPLE_RATES = (8_000, 16_000, 24_000, 44_100, 48_000)
"""Customer audio rates accepted in `start` (PCM16 mono)."""
OUTPUT_RATES = (16_000, 24_000, 44_100, 48_000)
"""Rates the agent's audio can be asked for (`output_sample_rate` in `start`); default 24 kHz."""
DEFAULT_OUTPUT_RATE = 24_000
CONTROL_MAX_BYTES = 16 * 1024
JSON_DEPTH_MAX = 16
"""Deepest nesting of objects/arrays in a control message (checked by `oratio.http_json.parse_json`, as every door)."""


class Close(IntEnum):
    """Close codes. 1xxx are RFC 6455's; 4xxx are Oratio's (4000 + the HTTP status they mirror)."""

    NORMAL = 1000  # the customer sent `end`, or the agent ended the conversation
    GOING_AWAY = 1001  # the server is shutting down
    POLICY = 1008  # not a JSON `start` first, a malformed control message, or audio faster than real time
    UNSUPPORTED = 1003  # audio format not accepted, audio before `start`, a frame that is not PCM16
    TOO_BIG = 1009  # a frame over the frame limit
    INTERNAL = 1011  # Oratio failed; the call's audio so far is saved
    BAD_KEY = 4401  # no API key, or not a valid one
    FORBIDDEN = 4403  # the key is for another agent, or was revoked during the call
    NOT_FOUND = 4404  # no such agent (or session) for this key's tenant
    IDLE = 4408  # no `start`, no audio, or no speech within the limits
    CONFLICT = 4409  # the agent is not active, or the session has ended
    TOO_LONG = 4413  # the call reached its maximum duration
    RATE_LIMITED = 4429  # the key's rate limit is spent


@dataclass(frozen=True)
class VoiceLimits:
    """Explicit limits of one call (docs/voice.md lists them; `ORATIO_VOICE_*` settings override)."""

    frame_max_bytes: int = 32_000
    """Largest binary frame: 1 s of 16 kHz PCM16; 20-100 ms frames are expected."""
    start_timeout_s: float = 10.0
    """Time to send `start` after connecting."""
    idle_timeout_s: float = 15.0
    """Longest gap between audio frames (a client that stops sending)."""
    silence_timeout_s: float = 60.0
    """Longest time with audio arriving but nobody speaking (customer silent, agent not talking)."""
    utterance_max_s: float = 30.0
    """One customer utterance is cut here and answered."""
    call_max_s: float = 30 * 60.0
    """A call ends here."""
    burst_s: float = 2.0
    """How far the customer's audio may run ahead of real time (a client's buffered start); beyond it, 1008."""
    recording_max_bytes: int = 128 * 1024 * 1024
    """Largest recording (a stereo 16 kHz WAV: 64 kB per second, so 128 MiB is about 35 min); 4413 there."""
    playback_lead_s: float = 0.3
    """How far agent audio is sent ahead of real time: what a client must flush on barge-in."""


class AudioFormat(BaseModel):
    model_config = ConfigDict(extra="forbid")

    encoding: Literal["pcm16"] = "pcm16"
    sample_rate: int
    channels: Literal[1] = 1


class StartMessage(BaseModel):
    """The first message of a call. `api_key` because browsers cannot set WebSocket headers."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["start"]
    api_key: str | None = Field(default=None, max_length=256)
    audio: AudioFormat
    output_sample_rate: int = DEFAULT_OUTPUT_RATE
    session_id: Identifier | None = None
    customer: Metadata | None = None


class ProtocolError(Exception):
    """A message broke the protocol; the bridge closes with `code` and `reason`."""

    def __init__(self, code: Close, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def parse_start(text: str) -> StartMessage:
    """The `start` message, or ProtocolError: 1008 when it is not a start at all, 1003 for the audio format."""
    if len(text.encode()) > CONTROL_MAX_BYTES:
        raise ProtocolError(Close.TOO_BIG, f"the start message is at most {CONTROL_MAX_BYTES} bytes")
    data = _json_object(text, "the first message must be a JSON start message")
    if data.get("type") != "start":
        raise ProtocolError(Close.POLICY, 'the first message must be {"type": "start", ...}')
    audio = data.get("audio")
    if isinstance(audio, dict):
        _check_audio(audio)
    output = data.get("output_sample_rate", DEFAULT_OUTPUT_RATE)
    if output not in OUTPUT_RATES:
        raise ProtocolError(Close.UNSUPPORTED, f"output_sample_rate must be one of {_rates(OUTPUT_RATES)}")
    try:
        return StartMessage.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["loc"] and first["loc"][0] == "customer":  # the same words as every other door
            raise ProtocolError(Close.POLICY, CUSTOMER_LIMITS) from None
        where = ".".join(str(part) for part in first["loc"]) or "start"
        raise ProtocolError(Close.POLICY, f"bad start message: {where}: {first['msg']}") from None


def _check_audio(audio: dict[str, Any]) -> None:
    if audio.get("encoding", "pcm16") != "pcm16":
        raise ProtocolError(Close.UNSUPPORTED, "audio.encoding must be pcm16 (16-bit little-endian PCM)")
    if audio.get("channels", 1) != 1:
        raise ProtocolError(Close.UNSUPPORTED, "audio.channels must be 1 (mono)")
    if audio.get("sample_rate") not in SAMPLE_RATES:
        raise ProtocolError(Close.UNSUPPORTED, f"audio.sample_rate must be one of {_rates(SAMPLE_RATES)}")


def parse_control_object(text: str) -> dict[str, Any]:
    """Any control message as a JSON object (bounded size and depth), or ProtocolError; the type is the caller's."""
    if len(text.encode()) > CONTROL_MAX_BYTES:
        raise ProtocolError(Close.TOO_BIG, f"control messages are at most {CONTROL_MAX_BYTES} bytes")
    return _json_object(text, "control messages are JSON objects")


def parse_control(text: str) -> dict[str, Any]:
    """A control message after `start`: only `{"type": "end"}` is defined."""
    data = parse_control_object(text)
    if data.get("type") != "end":
        raise ProtocolError(Close.POLICY, f"unknown message type {str(data.get('type'))[:40]!r}; send audio or end")
    return data


def check_frame(frame: bytes, limits: VoiceLimits) -> None:
    if len(frame) > limits.frame_max_bytes:
        raise ProtocolError(Close.TOO_BIG, f"audio frames are at most {limits.frame_max_bytes} bytes")
    if len(frame) % 2:
        raise ProtocolError(Close.UNSUPPORTED, "audio frames are PCM16: an even number of bytes")


def _json_object(text: str, problem: str) -> dict[str, Any]:
    """`text` as a JSON object, or ProtocolError 1008: the same bounded parse as every door's JSON."""
    try:
        data = parse_json(text, max_depth=JSON_DEPTH_MAX, what="the message")
    except JsonTooDeep:
        raise ProtocolError(Close.POLICY, f"JSON nested deeper than {JSON_DEPTH_MAX} levels") from None
    except InvalidInput:
        raise ProtocolError(Close.POLICY, problem) from None
    if not isinstance(data, dict):
        raise ProtocolError(Close.POLICY, problem)
    return data


def _rates(rates: tuple[int, ...]) -> str:
    return ", ".join(str(rate) for rate in rates)
