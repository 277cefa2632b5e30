"""`oratio.http_json`'s WebSocket helpers, the one read-a-control-frame, close-with-a-reason and token re-check
that the dashboard's live stream and the voice bridge's listen-in share, through a real Starlette socket and
the test platform's real access service."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from oratio.errors import RateLimited, Unauthenticated
from oratio.http_json import CLOSE_REASON_MAX_BYTES, Closing, close_websocket, receive_text, recheck_admin
from oratio.platform import Platform
from tests.support.tenants import Tenancy, token_for

LIMIT = 32
log = logging.getLogger("tests.websocket_helpers")


async def echo_once(websocket: WebSocket) -> None:
    """Reads one frame with the helper: echoes it, or closes with the helper's Closing."""
    await websocket.accept()
    try:
        text = await receive_text(websocket, max_chars=LIMIT, binary_advice="send text, not binary")
    except Closing as closing:
        await close_websocket(websocket, closing.code, closing.reason, within_s=1.0, log=log, what="test socket")
        return
    except WebSocketDisconnect:
        return
    await websocket.send_text(f"got {text}")
    await close_websocket(websocket, 1000, "é" * 200, within_s=1.0, log=log, what="test socket")


@pytest.fixture
def client() -> TestClient:
    return TestClient(Starlette(routes=[WebSocketRoute("/ws", echo_once)]))


def test_a_text_frame_within_the_limit_is_returned(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        ws.send_text("x" * LIMIT)
        assert ws.receive_text() == "got " + "x" * LIMIT
        message = ws.receive()
    assert message["type"] == "websocket.close"
    assert message["code"] == 1000
    assert len(message["reason"].encode()) <= CLOSE_REASON_MAX_BYTES  # a long reason is cut, not a failed close
    assert message["reason"].endswith("…")


@pytest.mark.parametrize(
    ("send", "reason"),
    [
        pytest.param(lambda ws: ws.send_bytes(b"{}"), "send text, not binary", id="binary"),
        pytest.param(lambda ws: ws.send_text("x" * (LIMIT + 1)), f"limited to {LIMIT} characters", id="too-long"),
    ],
)
def test_a_binary_or_oversized_frame_closes_4422_with_the_reason(
    client: TestClient, send: Callable[[Any], None], reason: str
) -> None:
    with client.websocket_connect("/ws") as ws:
        send(ws)
        message = ws.receive()
    assert message["type"] == "websocket.close"
    assert message["code"] == 4422
    assert reason in message["reason"]


def test_closing_of_a_refusal_is_4000_plus_its_status() -> None:
    closing = Closing.of(Unauthenticated("token expired"))
    assert (closing.code, closing.reason) == (4401, "token expired")
    assert len(Closing(4422, "ü" * 100).reason.encode()) <= CLOSE_REASON_MAX_BYTES


@pytest.mark.anyio
@pytest.mark.parametrize("platform_settings", [{"admin_burst": 1, "admin_rate_per_minute": 1}])
async def test_recheck_admin_closes_for_a_dead_token_and_lets_a_rate_limit_pass(
    platform: Platform, acme: Tenancy
) -> None:
    token = token_for(platform, acme.principal)
    await recheck_admin(platform, token)  # valid: nothing to say (and the burst of one is spent)
    await recheck_admin(platform, token)  # rate limited: not about the token, the socket stays open
    with pytest.raises(RateLimited):
        platform.access.admin_principal(token)  # (it was: the limiter is still empty)
    with pytest.raises(Closing) as expired:
        await recheck_admin(platform, token_for(platform, acme.principal, expired=True))
    platform.tenants.revoke_admin_tokens(acme.principal, acme.principal.subject)
    with pytest.raises(Closing) as revoked:
        await recheck_admin(platform, token)
    assert expired.value.code == 4401 and revoked.value.code == 4401
    assert "revoked" in revoked.value.reason
