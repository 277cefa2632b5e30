"""What calling an MCP tool through Oratio costs beyond the tool itself, and how exactly a hang is cut (one run).

Against the real test MCP server (tests/support/mcp_test_server.py) on loopback:
- baseline: `find_order` on one already open mcp Client (the server's own time plus one round trip);
- mcp alone: the same call on a fresh mcp Client each time (what one connection per call costs
  with no Oratio code at all);
- runner: the same call through `McpToolRunner.run` (vet the URL, connect pinned, call, close);
  its p50 minus "mcp alone" is what Oratio adds, minus the baseline what connecting per call costs;
- hang: `hang` with a 0.5 s timeout, how far past 0.5 s the outcome comes back;
- with `--stdio N`: the same call over stdio (a process started per call), and a stdio hang cut.

    .venv/bin/python -m bench.mcp_overhead [--calls 200] [--hangs 5] [--stdio 5]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from oratio.actions import ToolRequest
from oratio.actions.mcp_client import McpToolRunner, model_tool_name
from oratio.config import McpStdioServer
from oratio.notify.address_policy import WebhookPolicy
from schemas import McpServerTool, McpToolSnapshot, McpTransport, ToolCallStatus
from tests.support.mcp_test_server import STDIO_COMMAND, serving_http

HANG_TIMEOUT_S = 0.5
STDIO_HANG_TIMEOUT_S = 5.0
"""Room for the server process to start and reach the tool before it hangs."""


class Token:
    def __init__(self, value: str) -> None:
        self.value = value

    def resolve(self, tenant_id: str, name: str) -> str:
        return self.value


async def timed(count: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def row(name: str, times: list[float]) -> str:
    worst = max(times)
    return f"{name:44} {statistics.median(times):9.2f} {worst:9.2f}"


def request(server: McpServerTool, tool: str, arguments: dict[str, object]) -> ToolRequest:
    snapshot = McpToolSnapshot(server=server.name, tool=tool, name=model_tool_name(server.name, tool))
    return ToolRequest("t-bench", "a-bench", None, snapshot, arguments, server)


async def bench(port: int, token: str, args: argparse.Namespace) -> None:
    url = f"http://127.0.0.1:{port}/mcp"
    server = McpServerTool(
        name="orders", url=url, bearer_secret="ORDERS_TOKEN", allowed_tools=["find_order", "hang"], timeout_seconds=10
    )
    runner = McpToolRunner(
        secrets=Token(token),
        policy=WebhookPolicy(allow_private=True),
        stdio_servers={"orders": McpStdioServer(command=STDIO_COMMAND)},
    )
    lookup = request(server, "find_order", {"order_id": "A1"})

    async def through_runner() -> None:
        assert (await runner.run(lookup)).status is ToolCallStatus.OK

    headers = {"Authorization": f"Bearer {token}"}
    baseline: list[float] = []
    raw: list[float] = []
    per_call: list[float] = []
    async with (
        httpx2.AsyncClient(headers=headers) as http,
        Client(streamable_http_client(url, http_client=http), cache=None) as client,
    ):

        async def open_session() -> None:
            await client.call_tool("find_order", {"order_id": "A1"})

        async def fresh_connection() -> None:
            async with Client(streamable_http_client(url, http_client=http), cache=None) as fresh:
                await fresh.call_tool("find_order", {"order_id": "A1"})

        for call in (open_session, fresh_connection, through_runner):
            await call()  # warm up
        # Interleaved, so a busy machine slows the three alike.
        for _ in range(args.calls):
            baseline += await timed(1, open_session)
            raw += await timed(1, fresh_connection)
            per_call += await timed(1, through_runner)

    hang = request(server.model_copy(update={"timeout_seconds": HANG_TIMEOUT_S}), "hang", {})
    late = [t - HANG_TIMEOUT_S * 1000 for t in await timed(args.hangs, lambda: runner.run(hang))]

    print(f"{'ms':44} {'p50':>9} {'max':>9}")
    print(row("baseline: call on an open session", baseline))
    print(row("mcp alone: connect + call + close", raw))
    print(row("runner: vet + pinned connect + call + close", per_call))
    runner_p50 = statistics.median(per_call)
    print(f"{'Oratio overhead p50 (runner - mcp alone)':44} {runner_p50 - statistics.median(raw):9.2f}")
    print(f"{'per-call connect p50 (runner - open session)':44} {runner_p50 - statistics.median(baseline):9.2f}")
    print(row(f"hang cut: past its {HANG_TIMEOUT_S:g}s timeout", late))
    if args.stdio:
        stdio = McpServerTool(
            name="orders",
            transport=McpTransport.STDIO,
            server="orders",
            allowed_tools=["find_order"],
            timeout_seconds=30.0,
        )
        stdio_lookup = request(stdio, "find_order", {"order_id": "A1"})
        print(row("runner: stdio, a process per call", await timed(args.stdio, lambda: runner.run(stdio_lookup))))
        stdio_hang = request(stdio.model_copy(update={"timeout_seconds": STDIO_HANG_TIMEOUT_S}), "hang", {})
        late = [t - STDIO_HANG_TIMEOUT_S * 1000 for t in await timed(args.stdio, lambda: runner.run(stdio_hang))]
        print(row(f"stdio hang cut: past its {STDIO_HANG_TIMEOUT_S:g}s timeout", late))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--hangs", type=int, default=5)
    parser.add_argument("--stdio", type=int, default=0)
    args = parser.parse_args()
    token = secrets.token_urlsafe(24)
    with serving_http(token) as port:
        anyio.run(bench, port, token, args)


if __name__ == "__main__":
    main()
