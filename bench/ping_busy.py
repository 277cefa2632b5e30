"""The runtime's health check while turns are stuck in the model, next to the same check idle (one run).

AgentCore's proxy polls `GET /ping`; turns await their model on the serving loop, so a hung model must not
stall it. tests/agentcore_apps/test_turns.py checks the behaviour (the ping answers before the
stuck turn ends); this prints how fast: p50/p99 of `--pings` sequential pings with no turn in flight
(the baseline), then with `--stuck` turns hanging in the model.

    .venv/bin/python -m bench.ping_busy [--pings 200] [--stuck 4]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

from agentcore_apps.app import create_runtime_app
from bench.stats import percentile
from oratio.models import Hang, Prompt, ScriptedModel, Step
from tests.support.platforms import open_test_platform
from tests.support.serving import serving
from tests.support.tenants import mint, new_agent, new_tenancy

TURN_TIMEOUT_S = 10


def pings(http: httpx.Client, count: int) -> list[float]:
    """Wall time of each of `count` sequential pings, in milliseconds."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        assert http.get("/ping").status_code == 200
        times.append((time.perf_counter() - started) * 1000)
    return times


def row(name: str, times: list[float]) -> str:
    p99 = percentile(times, 99)
    return f"{name:34} {statistics.median(times):8.2f} {p99:8.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pings", type=int, default=200)
    parser.add_argument("--stuck", type=int, default=4)
    args = parser.parse_args()
    in_model = threading.Semaphore(0)

    def hang(prompt: Prompt) -> Step:
        in_model.release()
        return Hang(text="Let me see")

    with (
        tempfile.TemporaryDirectory() as data,
        open_test_platform(
            Path(data), models=lambda spec: ScriptedModel(rules=[hang]), turn_timeout_seconds=TURN_TIMEOUT_S
        ) as platform,
    ):
        acme = new_tenancy(platform, "Acme")
        agent = new_agent(platform, acme, "Support")
        secret, _ = mint(platform, acme, agent)
        with serving(create_runtime_app(platform)) as served, httpx.Client(base_url=served.base_url) as http:
            pings(http, 20)  # warm up
            idle = pings(http, args.pings)
            body = {"agent_id": agent.id, "message": "hi"}
            turns = [
                threading.Thread(
                    target=lambda: httpx.post(
                        f"{served.base_url}/invocations",
                        json=body,
                        headers={"X-Api-Key": secret},
                        timeout=TURN_TIMEOUT_S + 30,
                    )
                )
                for _ in range(args.stuck)
            ]
            for turn in turns:
                turn.start()
            for _ in turns:
                assert in_model.acquire(timeout=30), "a turn never reached the model"
            busy = pings(http, args.pings)
            print(f"{'GET /ping, ms':34} {'p50':>8} {'p99':>8}")
            print(row("idle (baseline)", idle))
            print(row(f"{args.stuck} turns stuck in the model", busy))
            print(f"p50 ratio busy/idle: {statistics.median(busy) / statistics.median(idle):.2f}x")
            print(f"(waiting up to {TURN_TIMEOUT_S} s for the stuck turns to time out)")
            for turn in turns:
                turn.join(timeout=TURN_TIMEOUT_S + 60)


if __name__ == "__main__":
    main()
