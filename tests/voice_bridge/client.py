"""A real WebSocket client for the bridge's tests: speaks the wire protocol, records what it hears."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

FRAME_BYTES = 640  # 20 ms at 16 kHz


@dataclass
class Heard:
    """Everything the server sent: control messages in order, audio bytes, and the close frame."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)
    audio_at: list[int] = field(default_factory=list)
    """len(audio) when each message arrived: what was heard before and after a message."""
    close_code: int | None = None
    close_reason: str = ""

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    def transcripts(self, role: str, *, final: bool = True) -> list[str]:
        return [m["text"] for m in self.of_type("transcript") if m["role"] == role and m["final"] is final]

    def audio_at_first(self, kind: str) -> int:
        """Audio bytes heard before the first message of `kind`."""
        return next(self.audio_at[i] for i, m in enumerate(self.messages) if m["type"] == kind)


class VoiceClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.heard = Heard()

    async def start(self, api_key: str | None, *, rate: int = 16_000, **extra: Any) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "start", "audio": {"encoding": "pcm16", "sample_rate": rate, "channels": 1}}
        if api_key is not None:
            message["api_key"] = api_key
        await self.ws.send(json.dumps({**message, **extra}))
        return await self.until(lambda h: bool(h.of_type("ready")) or h.close_code is not None)

    async def send_audio(self, pcm16: bytes, frame_bytes: int = FRAME_BYTES) -> None:
        for start in range(0, len(pcm16), frame_bytes):
            await self.ws.send(pcm16[start : start + frame_bytes])

    async def end(self) -> None:
        await self.ws.send(json.dumps({"type": "end"}))

    async def receive_one(self) -> bool:
        """Take one message in; False once the server has closed."""
        try:
            message = await self.ws.recv()
        except ConnectionClosed as closed:
            if closed.rcvd is not None:
                self.heard.close_code, self.heard.close_reason = closed.rcvd.code, closed.rcvd.reason
            else:
                self.heard.close_code = 1006
            return False
        if isinstance(message, bytes):
            self.heard.audio += message
        else:
            self.heard.messages.append(json.loads(message))
            self.heard.audio_at.append(len(self.heard.audio))
        return True

    async def until(self, done: Callable[[Heard], bool], within_s: float = 20.0) -> dict[str, Any]:
        """Read until `done(heard)` (or the close), failing after `within_s`; the last control message read."""
        with anyio.fail_after(within_s):
            while not done(self.heard):
                if not await self.receive_one():
                    break
        return self.heard.messages[-1] if self.heard.messages else {}

    async def closed(self, within_s: float = 20.0) -> Heard:
        await self.until(lambda h: h.close_code is not None, within_s)
        return self.heard


@asynccontextmanager
async def voice_client(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[VoiceClient]:
    async with connect(url, additional_headers=headers, max_size=2**22, open_timeout=10) as ws:
        yield VoiceClient(ws)


@dataclass
class Overheard:
    """What a listen socket got: control messages, audio per channel (1 customer, 2 agent, 3 human), the close."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    channels: dict[int, bytearray] = field(default_factory=lambda: {1: bytearray(), 2: bytearray(), 3: bytearray()})
    close_code: int | None = None
    close_reason: str = ""

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]


class ListenClient:
    """An admin's listen socket (`/voice/calls/{session_id}/listen`)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.heard = Overheard()

    async def listen(self, token: str) -> dict[str, Any]:
        await self.ws.send(json.dumps({"type": "listen", "token": token}))
        return await self.until(lambda h: bool(h.of_type("listening")) or h.close_code is not None)

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def receive_one(self) -> bool:
        try:
            message = await self.ws.recv()
        except ConnectionClosed as closed:
            if closed.rcvd is not None:
                self.heard.close_code, self.heard.close_reason = closed.rcvd.code, closed.rcvd.reason
            else:
                self.heard.close_code = 1006
            return False
        if isinstance(message, bytes):
            self.heard.channels[message[0]] += message[2:]
        else:
            self.heard.messages.append(json.loads(message))
        return True

    async def until(self, done: Callable[[Overheard], bool], within_s: float = 20.0) -> dict[str, Any]:
        with anyio.fail_after(within_s):
            while not done(self.heard):
                if not await self.receive_one():
                    break
        return self.heard.messages[-1] if self.heard.messages else {}

    async def closed(self, within_s: float = 20.0) -> Overheard:
        await self.until(lambda h: h.close_code is not None, within_s)
        return self.heard


@asynccontextmanager
async def listen_client(url: str, **options: Any) -> AsyncIterator[ListenClient]:
    async with connect(url, max_size=2**22, open_timeout=10, **options) as ws:
        yield ListenClient(ws)
