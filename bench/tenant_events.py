"""One tenant's event throughput: one head counter per tenant against the log sharded by session.

`--replicas` log clients (each its own boto3 client, as replicas have), `--writers` threads spread over
them, each a session of its own, all appending to one tenant's log on one moto_server for `--seconds`.
Printed from the same run: events/s and transactions/s with one shard (one head counter per tenant, as
before shards) appending one event per transaction (as before group commit) and grouped
(oratio.store.group_commit), then with the log's shards (a head counter per shard, sessions spread
over them), plus moto_server's own TransactWriteItems latency as the ceiling's unit, and the SQLite log
(one shard: one writer at a time) with the same writers.

    .venv/bin/python -m bench.tenant_events [--seconds 8] [--writers 16] [--replicas 2] [--shards 8]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from oratio.store.dynamodb import EVENT_SHARDS, DynamoEventLog, create_dynamodb_tables
from oratio.store.group_commit import GroupCommit
from oratio.store.sqlite import SqliteDatabase, SqliteEventLog
from schemas import Event, EventType, NewEvent
from tests.aws import MotoServer, moto_server


def hammer(appenders: Sequence[Callable[[NewEvent], Event]], writers: int, seconds: float) -> tuple[int, float]:
    """`writers` threads (writer w is session `ses_w`, on appender w mod n) appending for `seconds`."""
    counts = [0] * writers
    start = threading.Barrier(writers + 1)
    deadline = [0.0]

    def write(w: int) -> None:
        append = appenders[w % len(appenders)]
        start.wait()
        n = 0
        while time.perf_counter() < deadline[0]:
            append(NewEvent(tenant_id="ten_bench", type=EventType.SESSION_TURN, subject=f"ses_{w}", data={"n": n}))
            n += 1
        counts[w] = n

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    return sum(counts), time.perf_counter() - began


def run(moto: MotoServer, prefix: str, *, batch: int, shards: int, writers: int, replicas: int, seconds: float) -> None:
    create_dynamodb_tables(moto.client("dynamodb"), prefix)
    logs = [DynamoEventLog(moto.client("dynamodb"), prefix, shards=shards) for _ in range(replicas)]
    for log in logs:
        log.appends = GroupCommit(log._append_batch, batch)
    events, elapsed = hammer([log.append for log in logs], writers, seconds)
    commits = sum(log.appends.batches for log in logs)
    conflicts = sum(log.conflicts for log in logs)
    head = sum(logs[0].head("ten_bench").positions)
    grouping = "one event per transaction" if batch == 1 else f"grouped (up to {batch})"
    label = f"{shards} shard{'s' if shards > 1 else ''}, {grouping}"
    print(
        f"DynamoDB {label:<34} {events / elapsed:8.1f} events/s  {commits / elapsed:6.1f} transactions/s  "
        f"{events / max(commits, 1):5.1f} events/transaction  {conflicts / elapsed:5.1f} lost races/s  "
        f"(heads sum {head} = appended {events})"
    )


def run_sqlite(writers: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = SqliteDatabase(Path(folder) / "oratio.db")
        try:
            log = SqliteEventLog(db)
            events, elapsed = hammer([log.append], writers, seconds)
            head = sum(log.head("ten_bench").positions)
        finally:
            db.close()
    print(f"SQLite   {'1 shard (one writer at a time)':<34} {events / elapsed:8.1f} events/s  (head {head} = {events})")


def transact_latency(moto: MotoServer) -> float:
    client = moto.client("dynamodb")
    create_dynamodb_tables(client, "probe_")
    samples: list[float] = []
    for n in range(30):
        began = time.perf_counter()
        item = {"pk": {"S": "t"}, "sk": {"N": str(n)}, "body": {"S": "{}"}}
        client.transact_write_items(TransactItems=[{"Put": {"TableName": "probe_events", "Item": item}}])
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--shards", type=int, default=EVENT_SHARDS)
    args = parser.parse_args()
    with moto_server() as moto:
        latency = transact_latency(moto)
        print(
            f"one tenant, {args.writers} writers over {args.replicas} log clients, {args.seconds:g} s each; "
            f"moto_server TransactWriteItems (1 item) median {latency * 1000:.1f} ms"
        )
        for prefix, batch, shards in (("one_", 1, 1), ("group_", 99, 1), ("shards_", 99, args.shards)):
            run(
                moto,
                prefix,
                batch=batch,
                shards=shards,
                writers=args.writers,
                replicas=args.replicas,
                seconds=args.seconds,
            )
    run_sqlite(args.writers, args.seconds)


if __name__ == "__main__":
    main()
