"""What the platform adds around an agent's HTTP tool call, and how exactly a hanging tool is cut.

Two measurements against the same loopback HTTP service (tests/support/tool_server.py), in one run:

* overhead - `ActionRunner.run` (argument validation on RE2, limits, URL rendering, the address
  policy's check, a pinned connection with its watchdog, a worker thread, JSON parsing, the outcome)
  for `GET /orders/{order_id}?verbose=true`, next to a bare `http.client` request for the same URL
  on a fresh connection (the baseline: what the tool itself costs). Calls alternate between the two so
  both see the same machine. Target: p50(ActionRunner) - p50(bare) <= 5 ms.
* cut - a tool whose endpoint never answers, with timeouts of 0.5, 1 and 2 s (and a 0.3 s turn
  deadline under a 10 s tool timeout): the measured time to the TIMEOUT outcome. Target: within
  +-50 ms of the timeout.

    .venv/bin/python -m bench.tool_overhead [--calls 400]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import statistics
import time

from bench.stats import percentile
from oratio.actions.http_tool import HttpToolRunner
from oratio.actions.limits import ToolLimits, ToolLimitSettings
from oratio.actions.runner import PlatformActionRunner
from oratio.notify.address_policy import WebhookPolicy
from schemas import ToolCallStatus
from tests.support.tool_server import DictSecrets, ToolServer, http_tool, tool_request, tool_server

OVERHEAD_TARGET_MS = 5.0
CUT_TOLERANCE_MS = 50.0
SCHEMA = {
    "type": "object",
    "properties": {"order_id": {"type": "string", "pattern": "^[A-Z][0-9]{3}$"}, "verbose": {"type": "boolean"}},
    "required": ["order_id"],
    "additionalProperties": False,
}


def bare_call(server: ToolServer) -> float:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", "/orders/A123?verbose=true", headers={"Accept": "application/json"})
        response = connection.getresponse()
        response.read()
        assert response.status == 200
    finally:
        connection.close()
    return (time.perf_counter() - started) * 1000


async def overhead(server: ToolServer, actions: PlatformActionRunner, calls: int) -> tuple[list[float], list[float]]:
    tool = http_tool(server.url("/orders/{order_id}"), parameters=SCHEMA)
    request = tool_request(tool, {"order_id": "A123", "verbose": True})
    bare, platform = [], []
    for i in range(calls + 20):
        b = bare_call(server)
        started = time.perf_counter()
        outcome = await actions.run(request)
        p = (time.perf_counter() - started) * 1000
        assert outcome.status is ToolCallStatus.OK, outcome.summary
        if i >= 20:  # warm-up: compiled schema, thread pool, imports
            bare.append(b)
            platform.append(p)
    return bare, platform


async def cuts(server: ToolServer, actions: PlatformActionRunner) -> list[tuple[str, float, float]]:
    rows = []
    for timeout in (0.5, 1.0, 2.0):
        tool = http_tool(server.url("/hang"), name="slow_tool", timeout_seconds=timeout, parameters={"type": "object"})
        started = time.perf_counter()
        outcome = await actions.run(tool_request(tool, {}))
        rows.append((f"tool timeout {timeout:g} s", timeout * 1000, (time.perf_counter() - started) * 1000))
        assert outcome.status is ToolCallStatus.TIMEOUT
    tool = http_tool(server.url("/hang"), name="slow_tool", timeout_seconds=10, parameters={"type": "object"})
    started = time.perf_counter()
    outcome = await actions.run(tool_request(tool, {}, deadline_s=0.3))
    rows.append(("turn deadline 0.3 s (tool 10 s)", 300.0, (time.perf_counter() - started) * 1000))
    assert outcome.status is ToolCallStatus.TIMEOUT
    return rows


async def run(calls: int) -> None:
    actions = PlatformActionRunner(
        http=HttpToolRunner(DictSecrets({}), WebhookPolicy.of(False, "127.0.0.1")),
        mcp=None,
        limits=ToolLimits(ToolLimitSettings(calls_per_minute=1_000_000, concurrency_per_tenant=64)),
    )
    with tool_server() as server:
        bare, platform = await overhead(server, actions, calls)
        cut_rows = await cuts(server, actions)
    print(f"{'one tool call, ms':36} {'p50':>8} {'p90':>8} {'p99':>8}")
    for name, values in (("bare http.client (baseline)", bare), ("ActionRunner.run", platform)):
        print(f"{name:36} {statistics.median(values):8.2f} {percentile(values, 90):8.2f} {percentile(values, 99):8.2f}")
    added = statistics.median(platform) - statistics.median(bare)
    verdict = "ok" if added <= OVERHEAD_TARGET_MS else "OVER TARGET"
    print(
        f"platform overhead p50: {added:.2f} ms (target <= {OVERHEAD_TARGET_MS:g} ms: {verdict}); "
        f"ratio {statistics.median(platform) / statistics.median(bare):.2f}x"
    )
    print()
    print(f"{'hanging tool, cut after':36} {'target':>8} {'measured':>9} {'delta':>8}")
    for name, target, measured in cut_rows:
        delta = measured - target
        flag = "" if abs(delta) <= CUT_TOLERANCE_MS else "  OUT OF +-50 ms"
        print(f"{name:36} {target:8.0f} {measured:9.1f} {delta:+8.1f}{flag}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args()
    asyncio.run(run(args.calls))


if __name__ == "__main__":
    main()
