"""Turns per second with 1, 2 and 3 `oratio serve` replicas on one moto_server, beside moto_server's own ceiling.

Issue 23's bench. Each configuration is a fresh cluster (`tests.support.replicas`: real `oratio serve`
processes on one moto_server, behind a round-robin TCP proxy); `--customers` customers, each with a
session of its own, send turns back to back for `--seconds` on new connections (so the proxy spreads
them), with the zero-latency scripted agent. In the same run, on the same moto_server, the store's
ceiling: as many threads as customers doing the DynamoDB calls a continuing turn makes (one GetItem,
one Query, two TransactWriteItems) with nothing else, so "turns/s the store alone could take".

Everything runs on this machine: with 2 cores the replicas, the proxy, the customers and moto_server
share them, so more replicas cannot add CPU here; the figures say what the code costs and where it
stops, not what N machines would do. On AWS each replica has its own cores and DynamoDB is not
moto_server (docs/aws.md, "How it scales").

    .venv/bin/python -m bench.scaleout_turns                 # 1, 2, 3 replicas; 20 s each
    .venv/bin/python -m bench.scaleout_turns --seconds 5 --customers 8
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import httpx

from bench.stats import percentile
from oratio.platform import Platform
from schemas import Agent
from tests.aws import REGION, MotoServer
from tests.support.replicas import Cluster, cluster
from tests.support.tenants import Tenancy, mint, new_agent, new_tenancy

NO_LIMITS = {"ORATIO_KEY_RATE_PER_MINUTE": "1000000", "ORATIO_KEY_BURST": "100000"}
"""The bench measures turns, not the key's rate limit."""


async def _customer(url: str, agent_id: str, key: str, stop_at: float, latencies: list[float]) -> int:
    """One customer's back-to-back turns on one session until `stop_at`; returns acknowledged turns."""
    done = 0
    session_id: str | None = None
    limits = httpx.Limits(max_keepalive_connections=0)  # a new connection per turn: the proxy spreads them
    async with httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits) as http:
        while time.monotonic() < stop_at:
            body: dict[str, object] = {"message": f"turn {done}"}
            if session_id is not None:
                body["session_id"] = session_id
            started = time.perf_counter()
            answer = await http.post(f"/runtime/agents/{agent_id}/invocations", json=body, headers={"X-Api-Key": key})
            if answer.status_code == 200:
                latencies.append((time.perf_counter() - started) * 1000)
                session_id = answer.json()["session_id"]
                done += 1
    return done


def _tenant(platform: Platform) -> tuple[Tenancy, Agent, str]:
    tenancy = new_tenancy(platform, "Bench")
    agent = new_agent(platform, tenancy, "Desk")
    key, _ = mint(platform, tenancy, agent)
    return tenancy, agent, key


def _turns(running: Cluster, customers: int, seconds: float) -> tuple[float, list[float]]:
    _, agent, key = _tenant(running.platform)
    latencies: list[float] = []

    async def load() -> int:
        stop_at = time.monotonic() + seconds
        counts = await asyncio.gather(
            *(_customer(running.url, agent.id, key, stop_at, latencies) for _ in range(customers))
        )
        return sum(counts)

    started = time.monotonic()
    total = asyncio.run(load())
    return total / (time.monotonic() - started), latencies


def _dynamodb(moto: MotoServer) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=moto.endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _store_ceiling(moto: MotoServer, threads: int, seconds: float) -> float:
    """Turn-shaped DynamoDB work per second on this moto_server: GetItem, Query, 2x TransactWriteItems."""
    client = _dynamodb(moto)
    table = "bench_ceiling"
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    stop_at = time.monotonic() + seconds
    counts = [0] * threads

    def work(index: int) -> None:
        own = _dynamodb(moto)
        pk = {"S": f"session-{index}"}
        seq = 0
        while time.monotonic() < stop_at:
            own.get_item(TableName=table, Key={"pk": pk, "sk": {"S": "head"}})
            own.query(
                TableName=table,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": pk},
                Limit=20,
            )
            for _ in range(2):
                seq += 1
                own.transact_write_items(
                    TransactItems=[
                        {"Put": {"TableName": table, "Item": {"pk": pk, "sk": {"S": f"turn-{seq:08d}"}}}},
                        {"Put": {"TableName": table, "Item": {"pk": pk, "sk": {"S": "head"}, "seq": {"N": str(seq)}}}},
                    ]
                )
            counts[index] += 1

    started = time.monotonic()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(seconds + 60)
    return sum(counts) / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--customers", type=int, default=12)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    rows: list[tuple[str, float, float, float]] = []
    ceiling = 0.0
    for count in args.replicas:
        with tempfile.TemporaryDirectory() as root, cluster(Path(root), count=count, **NO_LIMITS) as running:
            rate, latencies = _turns(running, args.customers, args.seconds)
            rows.append(
                (
                    f"{count} replica{'s' if count > 1 else ''}",
                    rate,
                    percentile(latencies, 50),
                    percentile(latencies, 95),
                )
            )
            if count == args.replicas[-1]:
                ceiling = _store_ceiling(running.moto, args.customers, args.seconds)
    base = rows[0][1] or 1.0
    print(f"{args.customers} customers, {args.seconds:.0f} s each, scripted agent (no model latency)")
    print(f"{'':14} {'turns/s':>9} {'x 1 replica':>12} {'p50 ms':>8} {'p95 ms':>8}")
    for name, rate, p50, p95 in rows:
        print(f"{name:14} {rate:9.1f} {rate / base:12.2f} {p50:8.1f} {p95:8.1f}")
    print(f"{'moto ceiling':14} {ceiling:9.1f}   (turn-shaped DynamoDB calls alone, same moto_server, same threads)")


if __name__ == "__main__":
    main()
