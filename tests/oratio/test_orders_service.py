"""The orders_desk example: its order service on a real loopback socket, its tools, and what the demo sets up.

The service is what the example's tools call; it answers the story the demo tells (a lookup, a
cancellation, a return refused outside the 30-day window) with real HTTP statuses and reasons.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from oratio.errors import InvalidInput
from oratio.loopback import serving_on_loopback
from oratio.notify.address_policy import WebhookPolicy
from oratio_app import example_demo
from oratio_app.cli import DEMO_CONVERSATION, EXAMPLES, load_example
from oratio_app.example_demo import conversation, example_service, resolve_example
from oratio_app.orders_service import OrderBook, orders_app
from schemas import HttpMethod, HttpTool
from tests.net import free_port
from tests.support.platforms import test_settings
from tests.support.processes import running

TODAY = date(2026, 12, 3)
ORDERS_DESK = EXAMPLES / "orders_desk"


@pytest.fixture
def book() -> OrderBook:
    return OrderBook.sample(TODAY)


@pytest.fixture
def client(book: OrderBook) -> Iterator[httpx.Client]:
    with (
        serving_on_loopback(lambda port: orders_app(book)) as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http,
    ):
        yield http


def test_a_lookup_answers_the_order_with_its_status_and_dates(client: httpx.Client) -> None:
    answer = client.get("/orders/A1001")

    assert answer.status_code == 200
    assert answer.json() == {
        "order_id": "A1001",
        "status": "shipped",
        "placed": (TODAY - timedelta(days=2)).isoformat(),
        "shipped": (TODAY - timedelta(days=1)).isoformat(),
        "carrier": "UPS",
        "tracking": "1Z999AA10123456784",
        "items": [{"name": "Rain jacket"}],
        "total": "$129.00",
    }


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "says"),
    [
        ("GET", "/orders/A9999", None, 404, "There is no order A9999."),
        ("GET", "/orders/a1001;drop", None, 422, "the letter A and four digits"),
        ("POST", "/orders/A1004/return", {"reason": "bored"}, 422, "reason must be one of"),
        ("POST", "/orders/A1004/return", b"[1, 2]", 400, "must be a JSON object"),
        ("POST", "/orders/A1004/return", b"{" * 5_000, 400, "at most 4096 bytes"),
        ("DELETE", "/orders/A1001", None, 405, "DELETE is not allowed"),
        ("GET", "/admin", None, 404, "the order API serves"),
    ],
)
def test_bad_requests_get_a_json_reason(
    client: httpx.Client, method: str, path: str, body: Any, status: int, says: str
) -> None:
    content = body if isinstance(body, bytes) else None
    answer = client.request(method, path, json=body if isinstance(body, dict) else None, content=content)

    assert answer.status_code == status
    assert says in json.dumps(answer.json())


def test_an_unshipped_order_is_cancelled_once_and_a_shipped_one_never(client: httpx.Client, book: OrderBook) -> None:
    cancelled = client.post("/orders/A1002/cancel")
    again = client.post("/orders/A1002/cancel")
    shipped = client.post("/orders/A1001/cancel")

    assert cancelled.status_code == 200
    assert cancelled.json()["message"] == "Order A1002 is cancelled; the $24.00 payment is released to the card."
    assert client.get("/orders/A1002").json()["status"] == "cancelled" == book.orders["A1002"].status
    assert (again.status_code, again.json()) == (409, {"error": "Order A1002 is already cancelled."})
    assert shipped.status_code == 409 and "already shipped and cannot be cancelled" in shipped.json()["error"]
    assert book.orders["A1001"].status == "shipped"


def test_a_return_outside_the_30_day_window_is_refused_with_the_reason(client: httpx.Client, book: OrderBook) -> None:
    refused = client.post("/orders/A1003/return", json={"reason": "damaged"})

    assert refused.status_code == 409
    assert refused.json() == {
        "error": "Order A1003 was delivered 40 days ago; returns are accepted within 30 days of delivery."
    }
    assert book.orders["A1003"].return_id is None


def test_a_return_within_the_window_starts_once(client: httpx.Client) -> None:
    started = client.post("/orders/A1004/return", json={"reason": "too small"})
    again = client.post("/orders/A1004/return", json={"reason": "too small"})
    big = client.post("/orders/A1005/return", json={"reason": "not needed"})
    early = client.post("/orders/A1001/return", json={"reason": "not needed"})

    assert started.status_code == 200
    assert started.json()["return_id"] == "R-5001" and started.json()["refund"] == "$89.00"
    assert started.json()["message"].startswith("Return R-5001 started for order A1004 (too small).")
    assert client.get("/orders/A1004").json()["status"] == "returning"
    assert again.status_code == 409 and "R-5001" in again.json()["error"]
    assert "checks refunds over $200" in big.json()["message"]
    assert early.status_code == 409 and "has not been delivered yet" in early.json()["error"]


def test_the_example_loads_with_its_three_tools_and_its_conversation() -> None:
    assert resolve_example(Path("orders_desk"), EXAMPLES) == ORDERS_DESK
    assert resolve_example(Path("no_such_example"), EXAMPLES) == Path("no_such_example")

    request = load_example(ORDERS_DESK)

    tools = request.spec.tools
    assert all(isinstance(tool, HttpTool) for tool in tools)
    shape = [(t.name, t.method, t.write) for t in tools if isinstance(t, HttpTool)]
    assert shape == [
        ("lookup_order", HttpMethod.GET, False),
        ("start_return", HttpMethod.POST, True),
        ("cancel_order", HttpMethod.POST, True),
    ]
    assert {d.name for d in request.documents} == {"returns_policy.md", "shipping.md"}
    assert conversation(ORDERS_DESK, DEMO_CONVERSATION)[0] == "Hi, where is my order A1001?"
    assert conversation(EXAMPLES / "acme_support", DEMO_CONVERSATION) == DEMO_CONVERSATION
    assert load_example(EXAMPLES / "acme_support").spec.tools == []


def _call(tool: HttpTool, order_id: str, body: dict[str, Any] | None) -> httpx.Response:
    url = tool.url.replace("{order_id}", order_id)
    return httpx.request(tool.method.value, url, json=body, timeout=10)


def test_the_demo_serves_the_service_its_tools_reach_and_allow_lists_only_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(example_demo, "SERVICE_PORT", 0)  # never the user's 8799 in a test
    settings = test_settings(tmp_path, webhook_allowed_hosts="crm.internal.example")
    assert not WebhookPolicy.of(settings.webhook_allow_private, settings.webhook_allowed_hosts).exempts("127.0.0.1")

    with example_service(ORDERS_DESK, load_example(ORDERS_DESK), settings) as (request, served, origin):
        assert origin is not None and origin.startswith("http://127.0.0.1:")
        policy = WebhookPolicy.of(served.webhook_allow_private, served.webhook_allowed_hosts)
        assert policy.exempts("127.0.0.1") and policy.exempts("crm.internal.example")
        assert not served.webhook_allow_private and not policy.exempts("10.0.0.1")
        lookup, start_return, cancel = (t for t in request.spec.tools if isinstance(t, HttpTool))
        assert lookup.url == f"{origin}/orders/{{order_id}}"
        assert _call(lookup, "A1001", None).json()["status"] == "shipped"
        assert _call(start_return, "A1003", {"reason": "damaged"}).status_code == 409
        assert _call(cancel, "A1002", None).json()["status"] == "cancelled"

    with pytest.raises(httpx.ConnectError):  # served for the demo's run only
        _call(lookup, "A1001", None)


def test_an_example_without_a_service_is_left_as_it_is(tmp_path: Path) -> None:
    settings = test_settings(tmp_path)
    request = load_example(EXAMPLES / "acme_support")

    with example_service(EXAMPLES / "acme_support", request, settings) as (same, unchanged, origin):
        assert (same, unchanged, origin) == (request, settings, None)


def test_the_service_runs_alone_for_talking_to_the_agent_after_the_demo(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "oratio_app.orders_service", "--port", str(port)]
    url = f"http://127.0.0.1:{port}/orders/A1002"

    with (
        (tmp_path / "service.log").open("wb") as log,
        running(command, ready_url=url, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ)),
    ):
        assert httpx.get(url, timeout=10).json()["status"] == "processing"

    assert "orders service on http://127.0.0.1:" in (tmp_path / "service.log").read_text()


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("tools.json", "[{", "tools.json is not JSON"),
        ("tools.json", '[{"name": "lookup_order"}]', "tools.0"),
        ("demo.json", "{", "demo.json is not JSON"),
        ("demo.json", '{"conversation": "hi"}', 'demo.json needs "conversation"'),
        ("demo.json", '{"conversation": [""]}', 'demo.json needs "conversation"'),
    ],
)
def test_a_broken_example_file_is_one_clear_error_naming_it(tmp_path: Path, name: str, content: str, says: str) -> None:
    example = tmp_path / "orders_desk"
    shutil.copytree(ORDERS_DESK, example)
    (example / name).write_text(content)

    with pytest.raises(InvalidInput) as refused:
        load_example(example)
        conversation(example, DEMO_CONVERSATION)

    assert says in refused.value.message and str(example) in refused.value.message
