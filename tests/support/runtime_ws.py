"""A customer on the agent runtime's `/ws`, as a real `websockets` client (agentcore_apps/ws.py).

The runtime's tests and the reliability tests of its receivers (bounds, idle close, cursors) open
the socket and read its frames alike; every read is bounded by `WAIT`, so a server that stops
answering fails the test instead of hanging it (a bound, not a timing assertion).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.serving import Served

WAIT = 15.0
"""Longest a test waits for one frame or the close."""


def ws_url(served: Served, **query: str) -> str:
    """The `/ws` URL of the runtime `served`, with `query` as its parameters (agent_id, session_id, after)."""
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return served.base_url.replace("http://", "ws://") + "/ws" + (f"?{params}" if params else "")


@asynccontextmanager
async def customer_socket(served: Served, key: str | None, **query: str) -> AsyncIterator[ClientConnection]:
    """A connected `/ws`, sending `key` as `X-Api-Key` (none when None)."""
    headers = {"X-Api-Key": key} if key is not None else {}
    async with connect(ws_url(served, **query), additional_headers=headers, max_size=2**20) as ws:
        yield ws


async def next_frame(ws: ClientConnection) -> dict[str, Any]:
    """The next frame, parsed."""
    with anyio.fail_after(WAIT):
        frame: dict[str, Any] = json.loads(await ws.recv())
    return frame


async def ready(ws: ClientConnection) -> dict[str, Any]:
    """The first frame, which must be `ready` (a connection holds its receiver slot from then on)."""
    frame = await next_frame(ws)
    assert frame["type"] == "ready", frame
    return frame


async def frames_until(ws: ClientConnection, kind: str) -> list[dict[str, Any]]:
    """Frames up to and including the first of type `kind`."""
    frames = [await next_frame(ws)]
    while frames[-1]["type"] != kind:
        frames.append(await next_frame(ws))
    return frames


async def say(ws: ClientConnection, text: str) -> None:
    """The customer's turn."""
    await ws.send(json.dumps({"type": "message", "text": text}))


async def frames_until_closed(ws: ClientConnection) -> tuple[list[dict[str, Any]], int, str]:
    """Every frame until the server closes, and the close's code and reason (a drop without a close fails)."""
    frames: list[dict[str, Any]] = []
    with anyio.fail_after(WAIT):
        try:
            while True:
                frames.append(json.loads(await ws.recv()))
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, "the server dropped the connection without a close frame"
            return frames, closed.rcvd.code, closed.rcvd.reason


async def close_of(ws: ClientConnection) -> tuple[int, str]:
    """The code and reason the server closes with, past any frames before it."""
    _, code, reason = await frames_until_closed(ws)
    return code, reason
