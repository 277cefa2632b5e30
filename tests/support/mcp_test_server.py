"""A real MCP server for the MCP client tests, run as its own process (mcp's server API, nothing faked).

    python -m tests.support.mcp_test_server http --port N --token T [--allow-host NAME]
    python -m tests.support.mcp_test_server stdio

Over HTTP it serves streamable HTTP at /mcp on 127.0.0.1 and answers 401 to any request without
`Authorization: Bearer T`. Its tools stand for an order desk: `find_order` (a read, structured
output), `cancel_order` (a write), `hang` (never answers), `fail` (a tool error), `big` (a long
answer), `leak_token` (echoes the bearer token back), `env_names` (what its environment holds), and
`Get-Status` / `get_status` (two names that sanitize to the same model-facing name).

Tests start it with `serving_http` (a real process on a free port, stopped for sure) or name
`STDIO_COMMAND` in ORATIO_MCP_STDIO_SERVERS.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import anyio
import uvicorn
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.net import free_port
from tests.support.processes import running

TOKEN_ENV = "MCP_TEST_TOKEN"
STDIO_COMMAND = [sys.executable, "-m", "tests.support.mcp_test_server", "stdio"]


def build_server() -> MCPServer:
    """The server and its tools (built on demand: MCPServer() configures logging, which importers must not get)."""
    server = MCPServer("orders-test", log_level="WARNING")

    @server.tool()
    def find_order(order_id: str) -> dict[str, str]:
        """Look up an order by its id: its status and delivery date."""
        if order_id == "A404":
            raise ToolError(f"no order {order_id}")
        return {"order_id": order_id, "status": "shipped", "delivery": "2026-12-10"}

    @server.tool()
    def cancel_order(order_id: str, reason: str) -> str:
        """Cancel an order that has not shipped yet."""
        return f"order {order_id} cancelled ({reason})"

    @server.tool()
    async def hang(pid_file: str = "") -> str:
        """Never answers (a server that hangs); writes its process id to `pid_file` first, if given."""
        if pid_file:
            await anyio.Path(pid_file).write_text(str(os.getpid()))
        await anyio.sleep_forever()
        return "unreachable"

    @server.tool()
    def fail() -> str:
        """Always fails with a tool error."""
        raise ToolError("the order system is down, try again in an hour")

    @server.tool()
    def big(size: int) -> str:
        """Answers `size` characters."""
        return "x" * size

    @server.tool()
    def leak_token() -> str:
        """Echoes the bearer token it expects (a server that leaks what it was sent)."""
        return f"my token is {os.environ.get(TOKEN_ENV, '')}"

    @server.tool()
    def env_names() -> list[str]:
        """The names of the environment variables this process was started with."""
        return sorted(os.environ)

    @server.tool(name="Get-Status")
    def get_status_dashed() -> str:
        """Status, dashed name."""
        return "ok"

    @server.tool(name="get_status")
    def get_status() -> str:
        """Status, underscored name."""
        return "ok"

    return server


def require_bearer(app: ASGIApp, token: str) -> ASGIApp:
    """401 for any HTTP request without the right bearer token (the lifespan passes)."""
    expected = f"Bearer {token}".encode()

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != expected:
            await JSONResponse({"error": "unauthorized"}, status_code=401)(scope, receive, send)
            return
        await app(scope, receive, send)

    return guarded


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["http", "stdio"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="")
    parser.add_argument("--allow-host", action="append", default=[])
    args = parser.parse_args(argv)
    server = build_server()
    if args.transport == "stdio":
        server.run("stdio")
        return
    os.environ[TOKEN_ENV] = args.token
    hosts = ["127.0.0.1:*", "localhost:*", *(f"{name}:*" for name in args.allow_host)]
    app: Any = server.streamable_http_app(
        host="127.0.0.1",
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts),
    )
    uvicorn.run(require_bearer(app, args.token), host="127.0.0.1", port=args.port, log_level="warning")


@contextmanager
def serving_http(token: str, *, allow_hosts: Sequence[str] = ()) -> Iterator[int]:
    """This server over streamable HTTP in its own process on a free 127.0.0.1 port; yields the port."""
    port = free_port()
    command = [*STDIO_COMMAND[:-1], "http", "--port", str(port), f"--token={token}"]
    command += [arg for host in allow_hosts for arg in ("--allow-host", host)]
    with running(command, ready_url=f"http://127.0.0.1:{port}/mcp"):
        yield port


if __name__ == "__main__":
    main(sys.argv[1:])
