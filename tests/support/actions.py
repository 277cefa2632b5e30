"""An orders service on a real loopback socket, and a TEST DOUBLE ActionRunner that calls it.

`UrllibActionRunner` stands in for task B's ActionRunner (`oratio.actions.runner` over
`HttpToolRunner`) until the branches meet: it VALIDATES NOTHING, applies no limits and no address
policy, and just calls the tool's URL with urllib. The lead switches these tests to the real runner.
What the tests check through it is the engine's side: which calls reach the service, when, with
which arguments, and what the customer and the transcript see.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import anyio.to_thread

from oratio.actions import ToolOutcome, ToolRequest
from schemas import AgentPlan, HttpMethod, HttpTool, ToolCallStatus

HANG_BOUND_S = 20.0
"""The slow endpoint answers after this at the latest (a bound so a broken test cannot hang)."""


@dataclass
class OrdersService:
    """`GET /orders/{id}` (a lookup), `POST /orders/{id}/cancel` (a write), `GET /slow` (never answers in
    time), `GET /broken` (500). Every request is recorded as (method, path, JSON body)."""

    base_url: str = ""
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def cancels(self) -> list[tuple[str, Any]]:
        return [(path, body) for method, path, body in self.requests if method == "POST"]


@contextmanager
def orders_service() -> Iterator[OrdersService]:
    service = OrdersService()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            service.requests.append(("GET", self.path, None))
            if self.path.startswith("/slow"):
                service.release.wait(HANG_BOUND_S)
                self._answer(200, {"late": True})
            elif self.path.startswith("/broken"):
                self._answer(500, {"error": "internal"})
            elif self.path.startswith("/orders/"):
                order = self.path.split("/")[2].split("?")[0]
                self._answer(200, {"order_id": order, "status": "shipped", "eta": "Friday"})
            else:
                self._answer(404, {"error": "no such path"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            service.requests.append(("POST", self.path, body))
            order = self.path.split("/")[2]
            self._answer(200, {"order_id": order, "cancelled": True})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="orders-service", daemon=True)
    thread.start()
    service.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield service
    finally:
        service.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def orders_tools(base_url: str) -> list[HttpTool]:
    """A lookup and a write (which needs the customer's confirmation), plus a slow and a broken lookup."""
    order_id: dict[str, Any] = {"type": "string", "pattern": "^[A-Z][0-9]{3}$"}
    order: dict[str, Any] = {"type": "object", "properties": {"order_id": order_id}}
    return [
        HttpTool(
            name="lookup_order",
            description="Look up an order's status and delivery date by its id.",
            url=base_url + "/orders/{order_id}",
            parameters={**order, "required": ["order_id"]},
        ),
        HttpTool(
            name="cancel_order",
            description="Cancel an order that has not shipped yet.",
            url=base_url + "/orders/{order_id}/cancel",
            method=HttpMethod.POST,
            write=True,
            parameters={
                "type": "object",
                "properties": {"order_id": order_id, "reason": {"type": "string"}},
                "required": ["order_id", "reason"],
            },
        ),
        HttpTool(
            name="slow_lookup",
            description="A lookup whose service never answers in time.",
            url=base_url + "/slow",
            timeout_seconds=30,
        ),
        HttpTool(name="broken_lookup", description="A lookup whose service fails.", url=base_url + "/broken"),
    ]


def plan_with_tools(base_url: str, language: str = "en") -> AgentPlan:
    return AgentPlan(
        persona="Acme's orders assistant",
        system_prompt="You are Acme's orders assistant. Use your tools to look up and cancel orders.",
        language=language,
        actions=list(orders_tools(base_url)),
    )


@dataclass
class UrllibActionRunner:
    """TEST DOUBLE for task B's ActionRunner (see the module docstring): no validation, no limits."""

    calls: list[ToolRequest] = field(default_factory=list)

    async def run(self, request: ToolRequest) -> ToolOutcome:
        self.calls.append(request)
        tool = request.tool
        assert isinstance(tool, HttpTool), "the test double runs HTTP tools only"
        url, body = tool.url, dict(request.arguments)
        for name in list(body):
            if "{" + name + "}" in url:
                url = url.replace("{" + name + "}", str(body.pop(name)))
        timeout = min(tool.timeout_seconds, request.deadline_s or tool.timeout_seconds)
        began = time.perf_counter()

        def fetch() -> tuple[int, Any]:
            data = json.dumps(body).encode() if tool.method is not HttpMethod.GET else None
            call = urllib.request.Request(url, data=data, method=tool.method.value)
            call.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(call, timeout=timeout) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as exc:
                return exc.code, None
            except urllib.error.URLError as exc:
                if isinstance(exc.reason, TimeoutError):
                    raise exc.reason from None
                return 502, None

        try:
            status, answer = await anyio.to_thread.run_sync(fetch, abandon_on_cancel=True)
        except TimeoutError:
            took = (time.perf_counter() - began) * 1000
            return ToolOutcome(ToolCallStatus.TIMEOUT, {"error": "no answer in time"}, "timed out", took)
        took = (time.perf_counter() - began) * 1000
        if status >= 400:
            message = f"the service answered {status}"
            return ToolOutcome(ToolCallStatus.ERROR, {"error": message}, message, took)
        return ToolOutcome(ToolCallStatus.OK, answer, json.dumps(answer)[:500], took)


@dataclass
class HangingActionRunner:
    """An ActionRunner that never answers (until cancelled): the engine must still answer in time."""

    calls: list[ToolRequest] = field(default_factory=list)

    async def run(self, request: ToolRequest) -> ToolOutcome:
        self.calls.append(request)
        await anyio.Event().wait()
        raise AssertionError("unreachable")
