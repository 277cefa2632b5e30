"""A client that stops reading is closed (1013) instead of having its events buffered without bound.

The client here is a raw TCP socket that completes the WebSocket handshake, authenticates and then
reads nothing, with a small fixed receive buffer, so the stall reaches the server through the kernel
(a `websockets` client keeps draining the socket into its own buffers). The server's giving up is
observed through its log record, waited on with a bound.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import threading
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette

from dashboard import LiveSettings, dashboard_routes
from dashboard.live import CLOSE_TOO_SLOW
from oratio.platform import Platform
from schemas import EventType, NewEvent
from tests.dashboard.dash import Dash
from tests.support.serving import serving_built

WAIT = 30.0
EVENTS = 150
PAD = "x" * 60_000  # 150 x 60 kB = 9 MB: more than the socket buffers between server and client hold


class CloseWatcher(logging.Handler):
    """Sets `closed` when the feed logs that it closed a stream with `code`."""

    def __init__(self, code: int) -> None:
        super().__init__()
        self.prefix = f"code={code} "
        self.closed = threading.Event()
        self.reasons: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(self.prefix):
            self.reasons.append(message)
            self.closed.set()


@pytest.fixture
def watcher() -> Iterator[CloseWatcher]:
    logger = logging.getLogger("dashboard.live")
    handler, level = CloseWatcher(CLOSE_TOO_SLOW), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def masked_text_frame(text: str) -> bytes:
    """A client-to-server WebSocket text frame (RFC 6455: clients mask)."""
    payload, mask = text.encode(), os.urandom(4)
    assert len(payload) < 65_536
    header = bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big") + mask
    return header + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def test_a_client_that_stops_reading_is_closed_as_too_slow(
    platform: Platform, dash: Dash, watcher: CloseWatcher
) -> None:
    tenant = dash.acme.tenant_id
    for n in range(EVENTS):
        platform.backends.events.append(
            NewEvent(tenant_id=tenant, type=EventType.ERROR, subject=f"e{n}", data={"pad": PAD})
        )
    app = Starlette(routes=dashboard_routes(platform, LiveSettings(send_timeout=0.5)))
    with serving_built(lambda port: app) as served:
        port = int(served.base_url.rsplit(":", 1)[1])
        with socket.socket() as client:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            client.settimeout(WAIT)
            client.connect(("127.0.0.1", port))
            key = base64.b64encode(os.urandom(16)).decode()
            client.sendall(
                (
                    f"GET /ws/dashboard HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                ).encode()
            )
            assert client.recv(12) == b"HTTP/1.1 101"
            client.sendall(masked_text_frame(json.dumps({"type": "auth", "token": dash.token, "after": 0})))

            assert watcher.closed.wait(WAIT), "the server kept waiting on a client that reads nothing"
    assert "too slow" in watcher.reasons[0]
