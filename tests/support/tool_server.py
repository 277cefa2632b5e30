"""A real HTTP service on 127.0.0.1 that agents' tools call in tests (and bench/tool_overhead.py).

Routes (everything is recorded in `requests`, inspected after the call returned):

* `GET /orders/{id}` -> 200 JSON `{"order_id": id, "status": "shipped", "query": {...}}`
* `POST /orders/{id}/cancel` -> 200 JSON `{"order_id": id, "cancelled": true, "received": <the JSON body>}`
* `POST|PUT|PATCH /returns` -> 201 JSON `{"received": <the JSON body>}`
* `GET /headers` -> 200 JSON of the request's headers (an endpoint that echoes credentials)
* `GET /big?n=N` -> N bytes of text; `GET /text` -> plain text; `GET /badjson` -> broken JSON
* `GET /fail` -> 500 with a body naming an internal path
* `GET /hang` -> recorded, then no answer until the server stops (or `release` is set)
* any path in `redirects` -> 302 to the mapped location
"""

from __future__ import annotations

import http.server
import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from oratio.actions import ToolRequest
from oratio.errors import NotFound
from schemas import HttpTool

HOST = "127.0.0.1"
HOLD_MAX_S = 30.0


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class ToolServer:
    port: int
    requests: list[SeenRequest] = field(default_factory=list)
    redirects: dict[str, str] = field(default_factory=dict)
    release: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def url(self, path: str, host: str = HOST) -> str:
        return f"http://{host}:{self.port}{path}"

    def record(self, request: SeenRequest) -> None:
        with self.arrived:
            self.requests.append(request)
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Block until `count` requests arrived (False after `timeout`, which only keeps a broken test finite)."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the caller cut a held request: expected
        super().handle_error(request, client_address)


@contextmanager
def tool_server() -> Iterator[ToolServer]:
    server_state: ToolServer

    class Handler(http.server.BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, value: Any) -> None:
            self._send(status, json.dumps(value).encode())

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length", "0") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            seen = SeenRequest(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            server_state.record(seen)
            path = parts.path
            if path in server_state.redirects:
                self.send_response(302)
                self.send_header("Location", server_state.redirects[path])
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path.startswith("/orders/") and path.endswith("/cancel") and self.command == "POST":
                order = path.removeprefix("/orders/").removesuffix("/cancel")
                self._json(200, {"order_id": order, "cancelled": True, "received": json.loads(body or b"null")})
            elif path.startswith("/orders/"):
                self._json(200, {"order_id": path.removeprefix("/orders/"), "status": "shipped", "query": seen.query})
            elif path == "/returns":
                self._json(201, {"received": json.loads(body or b"null")})
            elif path == "/headers":
                self._json(200, seen.headers)
            elif path == "/big":
                n = int(seen.query.get("n", ["100000"])[0])
                self._send(200, b"x" * n, "text/plain")
            elif path == "/text":
                self._send(200, b"hello from the tool", "text/plain; charset=utf-8")
            elif path == "/badjson":
                self._send(200, b"{not json", "application/json")
            elif path == "/fail":
                self._send(500, b"database exploded in /srv/internal/orders.py", "text/plain")
            elif path == "/hang":
                server_state.release.wait(HOLD_MAX_S)
                self._json(200, {"late": True})
            else:
                self._json(404, {"error": "no such route"})

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815 (http.server's hook names)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = _Server((HOST, 0), Handler)
    server_state = ToolServer(port=server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        server_state.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


# -- requests and doubles for the pieces other tasks own ----------------------------------------


class DictSecrets:
    """A SecretResolver over a dict (the secret store is another module's); records what was asked."""

    def __init__(self, values: dict[tuple[str, str], str]) -> None:
        self._values = values
        self.asked: list[tuple[str, str]] = []

    def resolve(self, tenant_id: str, name: str) -> str:
        self.asked.append((tenant_id, name))
        try:
            return self._values[(tenant_id, name)]
        except KeyError:
            raise NotFound(f"secret {name} is not set") from None


def http_tool(url: str, **fields: Any) -> HttpTool:
    """An HttpTool with test defaults (name lookup_order, GET, an order_id argument)."""
    values: dict[str, Any] = {
        "name": "lookup_order",
        "description": "Look up an order by its id",
        "url": url,
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
    }
    values.update(fields)
    return HttpTool.model_validate(values)


def tool_request(
    tool: HttpTool, arguments: dict[str, Any], *, tenant: str = "t1", deadline_s: float | None = None
) -> ToolRequest:
    return ToolRequest(
        tenant_id=tenant, agent_id="a1", session_id="s1", tool=tool, arguments=arguments, deadline_s=deadline_s
    )
