"""Handoff alert latency for one tenant while another tenant's webhook never answers.

Two measurements in one run, on the embedded platform (SQLite in a temporary directory), each over
the same number of handoffs by tenant B to a prompt receiver on 127.0.0.1:

* baseline  - B alone.
* contended - tenant A first hands off `--flood` times to a listener that accepts connections and
  never answers (A's deliveries hang for the whole webhook timeout), then B hands off.

Latency is from B's `request` returning (the alert is stored) to its webhook arriving. Before the
outbox, the contended figure was A's webhook timeout or worse (4 shared workers, a 256-slot queue
that dropped alerts when full); with it, B's alerts should arrive about as fast as in the baseline.

    .venv/bin/python -m bench.outbox
    .venv/bin/python -m bench.outbox --flood 200 --alerts 50
"""

from __future__ import annotations

import argparse
import http.server
import json
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from oratio.config import Settings
from oratio.platform import Platform, open_platform
from schemas import AgentSpec, AgentStatus, Channel, CreateAgent, HandoffConfig, Principal, Scope

HOST = "127.0.0.1"
SOP = "Greet the customer, answer from the knowledge base, and hand off when asked."
WAIT_S = 120.0


class Arrivals:
    """When each session's alert reached the prompt receiver (monotonic seconds)."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.changed = threading.Condition()

    def wait_for(self, sessions: set[str], timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: sessions <= self.at.keys(), timeout)


@contextmanager
def prompt_receiver(arrivals: Arrivals) -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's hook name)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with arrivals.changed:
                arrivals.at.setdefault(json.loads(body)["data"]["session_id"], time.monotonic())
                arrivals.changed.notify_all()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def hanging_listener() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        sock.listen(512)
        yield sock.getsockname()[1]


def tenant_with_agent(platform: Platform, name: str, url: str) -> tuple[str, str]:
    tenant = platform.tenants.create_tenant(name)
    admin = platform.tenants.create_admin(tenant.tenant_id, f"ops@{name.lower()}.example", "Ops")
    principal = Principal(tenant_id=tenant.tenant_id, subject=admin.id, scopes=frozenset({Scope.ADMIN}))
    spec = AgentSpec(name=f"{name} desk", sop=SOP, handoff=HandoffConfig(enabled=True, webhook_url=url))
    agent = platform.agents.create(principal, CreateAgent(spec=spec))
    platform.agents.transition(tenant.tenant_id, agent.id, AgentStatus.ACTIVE, reason=None)
    return tenant.tenant_id, agent.id


def hand_off(platform: Platform, tenant_id: str, agent_id: str, n: int) -> dict[str, float]:
    """Session id -> when its handoff (and its stored alert) was acknowledged."""
    started: dict[str, float] = {}
    for _ in range(n):
        session = platform.sessions.start(tenant_id, agent_id, Channel.TEXT)
        platform.handoff.request(tenant_id, session.id, "customer asks for a person")
        started[session.id] = time.monotonic()
    return started


def measure(data_dir: Path, alerts: int, flood: int, timeout_s: float) -> list[float]:
    settings = Settings(
        data_dir=data_dir,
        jwt_secret=SecretStr("b" * 40),
        webhook_allow_private=True,
        webhook_timeout_seconds=timeout_s,
    )
    arrivals = Arrivals()
    with prompt_receiver(arrivals) as good, hanging_listener() as hang, open_platform(settings) as platform:
        if flood:
            a_tenant, a_agent = tenant_with_agent(platform, "Stuck", f"http://{HOST}:{hang}/hook")
            hand_off(platform, a_tenant, a_agent, flood)
        b_tenant, b_agent = tenant_with_agent(platform, "Prompt", f"http://{HOST}:{good}/hook")
        started = hand_off(platform, b_tenant, b_agent, alerts)
        if not arrivals.wait_for(set(started), WAIT_S):
            missing = len(set(started) - arrivals.at.keys())
            raise SystemExit(f"{missing} of B's alerts never arrived within {WAIT_S:.0f} s")
        latencies = [arrivals.at[s] - t for s, t in started.items()]
        platform.outbox.close(0.1)  # A's sends are still hanging; they stay pending in the store
    return latencies


def row(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"{name:<10} {len(values):>6} {statistics.median(values) * 1000:>9.1f} "
        f"{p95 * 1000:>9.1f} {max(values) * 1000:>9.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=20, help="handoffs by tenant B")
    parser.add_argument("--flood", type=int, default=100, help="handoffs by tenant A to a hanging webhook")
    parser.add_argument("--timeout", type=float, default=10.0, help="webhook timeout in seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as base, tempfile.TemporaryDirectory() as contended:
        baseline = measure(Path(base), args.alerts, 0, args.timeout)
        flooded = measure(Path(contended), args.alerts, args.flood, args.timeout)
    print(f"tenant B alert latency (ms); tenant A: {args.flood} handoffs to a webhook that never answers")
    print(f"{'run':<10} {'alerts':>6} {'p50':>9} {'p95':>9} {'max':>9}")
    print(row("baseline", baseline))
    print(row("contended", flooded))
    print(f"webhook timeout: {args.timeout * 1000:.0f} ms (what B would wait behind A without fairness)")


if __name__ == "__main__":
    main()
