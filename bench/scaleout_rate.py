"""Shared rate limits across replicas: admitted rate against the configured one, and what a check costs.

Three "replicas" (three limiter instances, each on its own boto3 DynamoDB client, each on its own
thread) hammer one key on one moto_server for `--seconds` of wall-clock time. Printed, from the same run:

- store limiter (ORATIO_RATE_LIMIT_STATE=store): admitted requests/s against the configured rate,
  the error, and the per-check cost (admitted and refused checks separately);
- memory limiter (the default), three of them, one per replica: what the same load admits when each
  process counts alone (about 3x), and its per-check cost;
- the store limiter on embedded SQLite (three store clients on one file), for the local case.

    .venv/bin/python -m bench.scaleout_rate [--seconds 10] [--rate 600] [--burst 10]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from oratio.auth.rate_limit import RateLimiter, TokenBucketLimiter
from oratio.blobs.local import LocalBlobStore
from oratio.errors import RateLimited
from oratio.services import Backends
from oratio.services.rate_limits import StoreRateLimiter
from oratio.store.dynamodb import DynamoEventLog, DynamoRecordStore, create_dynamodb_tables
from oratio.store.sqlite import SqliteDatabase, SqliteEventLog, SqliteRecordStore
from tests.aws import MotoServer, moto_server

REPLICAS = 3


@dataclass
class Tally:
    admitted: int = 0
    refused: int = 0
    admit_s: list[float] = field(default_factory=list)
    refuse_s: list[float] = field(default_factory=list)


def hammer(limiters: list[RateLimiter], seconds: float) -> tuple[list[Tally], float]:
    """Each limiter on its own thread checks one key as fast as it can for `seconds`."""
    tallies = [Tally() for _ in limiters]
    start = threading.Barrier(len(limiters) + 1)
    deadline = [0.0]

    def run(i: int) -> None:
        tally = tallies[i]
        start.wait()
        while (now := time.perf_counter()) < deadline[0]:
            try:
                limiters[i].check("api-key")
            except RateLimited:
                tally.refused += 1
                tally.refuse_s.append(time.perf_counter() - now)
                continue
            tally.admitted += 1
            tally.admit_s.append(time.perf_counter() - now)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(limiters))]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    return tallies, time.perf_counter() - began


def report(label: str, tallies: list[Tally], elapsed: float, rate_per_s: float, burst: int) -> None:
    admitted = sum(t.admitted for t in tallies)
    refused = sum(t.refused for t in tallies)
    admitted_s = [s for t in tallies for s in t.admit_s]
    refused_s = [s for t in tallies for s in t.refuse_s]
    configured = rate_per_s * elapsed + burst
    error = (admitted - configured) / configured * 100
    per_replica = ", ".join(str(t.admitted) for t in tallies)
    print(f"{label}")
    print(
        f"  admitted {admitted} in {elapsed:.1f} s = {admitted / elapsed:.2f}/s "
        f"(configured {rate_per_s:.2f}/s + burst {burst}: {configured:.0f}; error {error:+.1f}%)"
    )
    print(f"  per replica: {per_replica}; refused {refused}")
    print(
        f"  per check: admitted median {_us(admitted_s)}, refused median {_us(refused_s)} "
        f"(checks/s across replicas: {(admitted + refused) / elapsed:,.0f})"
    )


def _us(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1e6:,.0f} us" if samples else "-"


def dynamo_limiters(moto: MotoServer, blobs: Path, rate: float, burst: int) -> list[RateLimiter]:
    client = moto.client("dynamodb")
    create_dynamodb_tables(client, "bench_")
    key = {"pk": {"S": "probe"}, "sk": {"S": "probe"}}
    item = {**key, "version": {"N": "1"}, "body": {"S": "{}"}}
    probes: dict[str, Callable[[], object]] = {
        "GetItem": lambda: client.get_item(TableName="bench_rate_buckets", Key=key, ConsistentRead=True),
        "PutItem": lambda: client.put_item(TableName="bench_rate_buckets", Item=item),
    }
    for name, call in probes.items():
        samples: list[float] = []
        for _ in range(30):
            began = time.perf_counter()
            call()
            samples.append(time.perf_counter() - began)
        print(f"  (moto_server alone, one client: {name} median {_us(samples)})")
    return [_store_limiter(_dynamo(moto, blobs), rate, burst) for _ in range(REPLICAS)]


def _dynamo(moto: MotoServer, blobs: Path) -> Backends:
    client = moto.client("dynamodb")
    return Backends(
        store=DynamoRecordStore(client, "bench_"), events=DynamoEventLog(client, "bench_"), blobs=LocalBlobStore(blobs)
    )


def sqlite_limiters(path: Path, rate: float, burst: int) -> list[RateLimiter]:
    limiters: list[RateLimiter] = []
    for _ in range(REPLICAS):
        db = SqliteDatabase(path / "oratio.db", synchronous="normal")
        backends = Backends(store=SqliteRecordStore(db), events=SqliteEventLog(db), blobs=LocalBlobStore(path / "b"))
        limiters.append(_store_limiter(backends, rate, burst))
    return limiters


def _store_limiter(backends: Backends, rate: float, burst: int) -> RateLimiter:
    return StoreRateLimiter(backends, "keys", rate, burst, clock=time.time)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=600.0, help="configured requests per minute per key")
    parser.add_argument("--burst", type=int, default=10)
    args = parser.parse_args()
    rate_per_s = args.rate / 60
    runs: list[tuple[str, Callable[[], list[RateLimiter]]]] = []
    with moto_server() as moto, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runs = [
            (
                "store limiter, 3 replicas on one moto_server DynamoDB",
                lambda: dynamo_limiters(moto, root, args.rate, args.burst),
            ),
            ("store limiter, 3 store clients on one SQLite file", lambda: sqlite_limiters(root, args.rate, args.burst)),
            (
                "memory limiter (default), one per replica",
                lambda: [TokenBucketLimiter(args.rate, args.burst) for _ in range(REPLICAS)],
            ),
        ]
        print(f"{REPLICAS} replicas, one key, {args.seconds:g} s each, configured {args.rate:g}/min burst {args.burst}")
        for label, build in runs:
            limiters = build()
            tallies, elapsed = hammer(limiters, args.seconds)
            report(label, tallies, elapsed, rate_per_s, args.burst)


if __name__ == "__main__":
    main()
