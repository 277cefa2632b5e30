"""Hostile JSON at every HTTP/WebSocket door: a clear 4xx or close code with a reason, never a 500.

Python's JSON parser recurses once per nesting level, so a few KB of `[` used to raise
RecursionError, a plain-text 500 (the runtime without a key, the dashboard API). A close reason
echoing a non-ASCII field name could pass the 123-byte limit of a close frame, and the dashboard
socket dropped without a close frame. Each door is checked on a real uvicorn with real clients.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import anyio
import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from dashboard.api import MAX_BODY_BYTES
from oratio.errors import InvalidInput
from oratio.http_json import CLOSE_REASON_MAX_BYTES, MAX_JSON_DEPTH, close_reason, parse_json
from tests.reliability.world import Served, Side, new_side, reliability_platform, serving

DEEP = 7_000  # levels of arrays: 14 KB, under every body limit, far past the interpreter's recursion limit
DEEP_OBJECTS = 1_500  # levels of one-key objects: past the recursion limit too, about 15 KB
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}


def nested(depth: int, *, key: str | None = None) -> bytes:
    """`depth` levels of arrays (or of objects under `key`), well-formed."""
    if key is None:
        return b"[" * depth + b"]" * depth
    opener = json.dumps({key: None})[:-5].encode()  # '{"key": '
    return opener * depth + b"1" + b"}" * depth


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Side]]:
    with reliability_platform(tmp_path_factory.mktemp("nested")) as platform, serving(platform) as served:
        yield served, new_side(platform, "Acme")


def assert_clear_refusal(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])
    assert response.headers["content-type"] == "application/json", response.text[:200]
    assert response.json()["message"]


@pytest.mark.parametrize("body", [nested(DEEP), nested(DEEP_OBJECTS, key="message")], ids=["arrays", "objects"])
def test_the_runtime_refuses_deep_json_with_or_without_a_key(site: tuple[Served, Side], body: bytes) -> None:
    served, side = site
    path = f"/runtime/agents/{side.agent.id}/invocations"
    with httpx.Client(base_url=served.base_url, timeout=30.0) as http:
        for headers in ({}, {"X-Api-Key": side.secret}):
            response = http.post(path, content=body, headers={**headers, "Content-Type": "application/json"})
            assert_clear_refusal(response)
            assert "levels deep" in response.json()["message"]
        # A body just inside the bound is parsed (and then judged on its content, not its depth).
        shallow = http.post(path, content=nested(MAX_JSON_DEPTH), headers={"X-Api-Key": side.secret})
        assert_clear_refusal(shallow)
        assert "levels deep" not in shallow.json()["message"]


def test_the_dashboard_api_refuses_deep_json(site: tuple[Served, Side]) -> None:
    served, side = site
    headers = {"Authorization": f"Bearer {side.token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=served.base_url, timeout=30.0) as http:
        for body in (nested(DEEP), nested(DEEP_OBJECTS, key="name")):
            response = http.post("/api/v1/keys", content=body, headers=headers)
            assert_clear_refusal(response)
            assert "levels deep" in response.json()["message"]
        too_large = http.post("/api/v1/keys", content=b"[" + b" " * MAX_BODY_BYTES + b"]", headers=headers)
        assert (too_large.status_code, too_large.json()["error"]) == (413, "payload_too_large"), too_large.text


def test_mcp_refuses_deep_json_without_a_500(site: tuple[Served, Side]) -> None:
    served, side = site
    call = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "list_agents", "arguments": '
    headers = {"Authorization": f"Bearer {side.token}", **MCP_HEADERS, "Content-Type": "application/json"}
    with httpx.Client(base_url=served.base_url, timeout=30.0) as http:
        for body in (nested(DEEP), call + nested(DEEP_OBJECTS, key="a") + b"}}"):
            response = http.post("/mcp", content=body, headers=headers)
            assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])
            assert response.headers["content-type"] == "application/json"


async def first_close(ws_base: str, frame: str) -> tuple[int, str]:
    """Send `frame` as the first message; the close code and reason the server answers with."""
    with anyio.fail_after(30):
        async with connect(f"{ws_base}/ws/dashboard", open_timeout=10) as ws:
            await ws.send(frame)
            try:
                await ws.recv()
            except ConnectionClosed as closed:
                assert closed.rcvd is not None, "the server dropped the connection without a close frame"
                return closed.rcvd.code, closed.rcvd.reason
    raise AssertionError("the server answered instead of closing")


@pytest.mark.parametrize(
    "frame",
    [
        json.dumps({"type": "auth", "token": "t", "ü" * 200: 1}, ensure_ascii=False),
        json.dumps({"type": "auth", "token": "t", "after": {"日本" * 100: 1}}, ensure_ascii=False),
        json.dumps({"type": "auth", "token": "t", "after": None, "x": None})[:-5] + "[" * 5000 + "]" * 5000 + "}",
    ],
    ids=["non-ascii-field", "non-ascii-nested-field", "deep"],
)
def test_the_dashboard_socket_closes_bad_auth_with_a_reason(site: tuple[Served, Side], frame: str) -> None:
    served, _ = site
    code, reason = anyio.run(first_close, f"ws://127.0.0.1:{served.port}", frame)
    assert code == 4422, (code, reason)
    assert reason.startswith("first message must be auth")
    assert len(reason.encode()) <= CLOSE_REASON_MAX_BYTES


@pytest.mark.parametrize("reason", ["a" * 500, "é" * 100, "日本語" * 30, "x" + "😀" * 40, "short"])
def test_close_reasons_fit_a_close_frame_and_are_never_cut_inside_a_character(reason: str) -> None:
    cut = close_reason(reason)
    assert len(cut.encode("utf-8")) <= CLOSE_REASON_MAX_BYTES
    assert reason.startswith(cut.removesuffix("…"))
    assert cut == reason or cut.endswith("…")


def test_parse_json_bounds_depth_and_explains_bad_input() -> None:
    assert parse_json(nested(MAX_JSON_DEPTH)) is not None
    for bad, why in (
        (nested(MAX_JSON_DEPTH + 1), "levels deep"),
        (nested(DEEP * 10), "levels deep"),
        (b"\xff", "UTF-8"),
        (b"{", "not valid JSON"),
    ):
        with pytest.raises(InvalidInput, match=why):
            parse_json(bad)
