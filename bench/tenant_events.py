"""One tenant's event throughput on the DynamoDB event log: one append per transaction against group commit.

`--replicas` log clients (each its own boto3 client, as replicas have), `--writers` threads spread over
them, all appending to one tenant's log on one moto_server for `--seconds`. Printed from the same run:
events/s and transactions/s with one event per transaction (the head counter moved per event, as before
group commit) and with appends grouped (oratio.store.group_commit), plus moto_server's own
TransactWriteItems latency as the ceiling's unit.

    .venv/bin/python -m bench.tenant_events [--seconds 8] [--writers 16] [--replicas 2]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from oratio.store.dynamodb import DynamoEventLog, create_dynamodb_tables
from oratio.store.group_commit import GroupCommit
from schemas import EventType, NewEvent
from tests.aws import MotoServer, moto_server


def run(moto: MotoServer, prefix: str, *, batch: int, writers: int, replicas: int, seconds: float) -> None:
    create_dynamodb_tables(moto.client("dynamodb"), prefix)
    logs = [DynamoEventLog(moto.client("dynamodb"), prefix) for _ in range(replicas)]
    for log in logs:
        log.appends = GroupCommit(log._append_batch, batch)
    counts = [0] * writers
    start = threading.Barrier(writers + 1)
    deadline = [0.0]

    def write(w: int) -> None:
        log = logs[w % replicas]
        start.wait()
        n = 0
        while time.perf_counter() < deadline[0]:
            log.append(NewEvent(tenant_id="ten_bench", type=EventType.SESSION_TURN, subject=f"ses_{w}", data={"n": n}))
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
    elapsed = time.perf_counter() - began
    events = sum(counts)
    commits = sum(log.appends.batches for log in logs)
    head = logs[0].head("ten_bench")
    label = "one event per transaction" if batch == 1 else f"group commit (up to {batch} per transaction)"
    print(
        f"{label:<42} {events / elapsed:8.1f} events/s  {commits / elapsed:6.1f} transactions/s  "
        f"{events / max(commits, 1):5.1f} events/transaction  (head {head} = appended {events})"
    )


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
    args = parser.parse_args()
    with moto_server() as moto:
        latency = transact_latency(moto)
        print(
            f"one tenant, {args.writers} writers over {args.replicas} log clients, {args.seconds:g} s each; "
            f"moto_server TransactWriteItems (1 item) median {latency * 1000:.1f} ms"
        )
        run(moto, "one_", batch=1, writers=args.writers, replicas=args.replicas, seconds=args.seconds)
        run(moto, "group_", batch=99, writers=args.writers, replicas=args.replicas, seconds=args.seconds)


if __name__ == "__main__":
    main()
