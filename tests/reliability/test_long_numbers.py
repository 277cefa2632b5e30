"""A JSON number past Python's 4,300-digit limit is a clear refusal at every door, never a 500 (red team).

`json.loads` turns an integer literal into an `int`, and CPython refuses to convert one of more
than 4,300 digits with a plain ValueError (not a JSONDecodeError). `parse_json` caught only the
latter, so a 5 KB body (`{"after": 999...9}`, well under every body limit) was a plain-text 500 on
the runtime (with or without a key), the dashboard API and the sockets fell to 1011. Now it is an
InvalidInput like any other malformed body: 422 JSON, or the socket's bad-frame close with a reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import anyio
import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from oratio.errors import InvalidInput
from oratio.http_json import parse_json
from tests.reliability.world import Served, Side, new_side, reliability_platform, serving

LONG = "9" * 5_000  # past sys.get_int_max_str_digits() (4,300), 5 KB


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Side]]:
    with reliability_platform(tmp_path_factory.mktemp("long-numbers")) as platform, serving(platform) as served:
        yield served, new_side(platform, "Acme")


def assert_clear_refusal(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])
    assert response.headers["content-type"] == "application/json", response.text[:200]
    assert "too many digits" in response.json()["message"]


def test_parse_json_refuses_a_number_with_too_many_digits() -> None:
    with pytest.raises(InvalidInput, match="a frame has a number with too many digits"):
        parse_json('{"after": ' + LONG + "}", what="a frame")
    assert parse_json("[" + "9" * 4_000 + "]") == [int("9" * 4_000)]  # inside the limit: parsed


@pytest.mark.parametrize("field", ["after", "message", "customer"])
def test_the_runtime_refuses_a_long_number_with_or_without_a_key(site: tuple[Served, Side], field: str) -> None:
    served, side = site
    path = f"/runtime/agents/{side.agent.id}/invocations"
    body = '{"action": "receive", "session_id": "ses_x", "' + field + '": ' + LONG + "}"
    with httpx.Client(base_url=served.base_url, timeout=30.0) as http:
        for headers in ({}, {"X-Api-Key": side.secret}):
            response = http.post(path, content=body, headers={**headers, "Content-Type": "application/json"})
            assert_clear_refusal(response)


def test_the_dashboard_api_refuses_a_long_number(site: tuple[Served, Side]) -> None:
    served, side = site
    headers = {"Authorization": f"Bearer {side.token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=served.base_url, timeout=30.0) as http:
        response = http.post("/api/v1/keys", content='{"agent_id": ' + LONG + "}", headers=headers)
    assert_clear_refusal(response)


async def _close_after(url: str, frame: str, headers: dict[str, str]) -> tuple[int, str]:
    with anyio.fail_after(30):
        async with connect(url, additional_headers=headers, open_timeout=10) as ws:
            await ws.send(frame)
            try:
                while True:
                    await ws.recv()
            except ConnectionClosed as closed:
                assert closed.rcvd is not None, "dropped without a close frame"
                return closed.rcvd.code, closed.rcvd.reason


def test_the_sockets_close_a_long_number_as_a_bad_frame(site: tuple[Served, Side]) -> None:
    served, side = site
    ws_base = f"ws://127.0.0.1:{served.port}"
    dashboard = anyio.run(_close_after, f"{ws_base}/ws/dashboard", '{"type": "auth", "token": ' + LONG + "}", {})
    customer = anyio.run(
        _close_after,
        f"{ws_base}/runtime/ws?agent_id={side.agent.id}",
        json.dumps({"type": "message", "text": "hi"})[:-1] + ', "customer": ' + LONG + "}",
        {"X-Api-Key": side.secret},
    )

    assert dashboard[0] == 4422 and "number out of range" in dashboard[1]  # pydantic's own parser: it was fine
    assert customer == (1007, "a frame has a number with too many digits")
