"""Several `oratio serve` replicas on one DynamoDB + S3 (`moto_server`), behind a round-robin TCP proxy.

The scale-out shape on one machine: every replica is a real `oratio serve` child process with its own
data directory (knowledge index, operator file) and the same store, bucket, table prefix and JWT
secret; a client talks to the proxy, which sends each new TCP connection to the next replica that
accepts one, as a load balancer would. A replica can be killed with SIGKILL (nothing in it flushes or
says goodbye) and started again on the same port, so the proxy's list never changes.

Readiness is always a bounded poll of `/healthz` on the process itself (`oratio_serve`), never a
sleep. The test side reaches the shared store through its own platform (`Cluster.platform`), opened on
the same table prefix and bucket: that is how it seeds tenants and reads back what the replicas wrote.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from oratio.operator import ensure_operator_admin, operator_file
from oratio.platform import Platform
from oratio.store.tables import LEASES
from schemas import Lease
from tests.aws import REGION, MotoServer, moto_server
from tests.net import free_port
from tests.reliability.serve import Server, clean_env, oratio_serve
from tests.support.platforms import JWT_SECRET, open_test_platform

REPLICAS = 3
LEASE_TTL_S = 10.0
"""Short, so a killed replica's sessions are recovered within a test's patience (a heartbeat every ~3 s), yet
long enough that a replica starved of CPU on a shared machine still renews its lease in time."""
READY_TIMEOUT_S = 90.0
"""Bounds a replica's start: three start at once on a machine whose two cores are shared."""
PROXY_TIMEOUT_S = 10.0
"""Bounds the proxy's start and stop (its loop runs in a thread of the test process)."""
REQUEST_STATE_KEY = "replicas-share-this-request-state-key-0123456789"
"""The cluster's `ORATIO_MCP_REQUEST_STATE_KEYS` (at least 32 bytes)."""
_PIPE_CHUNK = 64 * 1024


class RoundRobinProxy:
    """A TCP proxy on 127.0.0.1: each new connection goes to the next backend port that accepts it.

    Bytes are piped both ways until either side closes; a backend killed mid-connection closes the
    client's connection too (the client sees the request fail, unacknowledged). `routed[i]` counts the
    connections backend i took, so a test can check that its load really spread.
    """

    def __init__(self, backends: Sequence[int]) -> None:
        self._backends = list(backends)
        self.routed = [0] * len(self._backends)
        self._turn = itertools.count()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="replica-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self.port = 0

    def start(self) -> int:
        """Listen on a free port (returned) and serve from a thread of its own."""
        self._thread.start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._connection, "127.0.0.1", 0), self._loop
        ).result(PROXY_TIMEOUT_S)
        self._server = server
        self.port = server.sockets[0].getsockname()[1]
        return self.port

    def stop(self) -> None:
        """Close the listener and every piped connection, then the loop and its thread (bounded)."""
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(PROXY_TIMEOUT_S)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(PROXY_TIMEOUT_S)
        self._loop.close()

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        await self._server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        try:
            upstream = await self._connect()
            if upstream is None:  # no replica accepts: the client sees its connection closed
                return
            up_reader, up_writer = upstream
            try:
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            finally:
                up_writer.close()
        finally:
            writer.close()
            self._pipes.discard(task)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """The next backend in turn that accepts a connection (a killed one is skipped), or None."""
        for _ in range(len(self._backends)):
            index = next(self._turn) % len(self._backends)
            try:
                opened = await asyncio.open_connection("127.0.0.1", self._backends[index])
            except OSError:
                continue
            self.routed[index] += 1
            return opened
        return None


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy until `source` ends or either side fails, then close `sink` so the other direction ends too."""
    try:
        while data := await source.read(_PIPE_CHUNK):
            sink.write(data)
            await sink.drain()
    except OSError:
        pass
    finally:
        sink.close()


@dataclass
class Replica:
    """One `oratio serve` of the cluster: its fixed port and data dir survive a kill and a restart."""

    index: int
    port: int
    data_dir: Path
    env: Mapping[str, str]
    stderr_path: Path
    server: Server | None = None
    _stack: ExitStack = field(default_factory=ExitStack)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        """Stop it (SIGTERM, bounded; reaped) if it runs: the cluster's exit, whatever happened."""
        self._stack.close()
        self.server = None

    @property
    def pid(self) -> int:
        assert self.server is not None, f"replica {self.index} is not running"
        return self.server.process.pid


@dataclass
class Cluster:
    moto: MotoServer
    platform: Platform
    """The test's own view of the shared store (seeding and reading back); it holds no lease."""
    replicas: list[Replica]
    proxy: RoundRobinProxy

    @property
    def url(self) -> str:
        """The proxy's base URL: what a customer app or a browser would be given."""
        return f"http://127.0.0.1:{self.proxy.port}"

    def start(self, index: int) -> None:
        """Start replica `index` (on its port) and return once it answers /healthz."""
        replica = self.replicas[index]
        assert replica.server is None, f"replica {index} is running already"
        replica._stack = ExitStack()
        replica.server = replica._stack.enter_context(
            oratio_serve(replica.env, replica.stderr_path, port=replica.port, wait=False)
        )
        replica.server.wait_ready(READY_TIMEOUT_S)

    def start_all(self) -> None:
        """Every replica, started together (their start-ups overlap) and each answering /healthz."""
        for replica in self.replicas:
            replica._stack = ExitStack()
            replica.server = replica._stack.enter_context(
                oratio_serve(replica.env, replica.stderr_path, port=replica.port, wait=False)
            )
        for replica in self.replicas:
            assert replica.server is not None
            replica.server.wait_ready(READY_TIMEOUT_S)

    def kill(self, index: int) -> None:
        """SIGKILL replica `index` and reap it (so its pid is gone for the others' liveness check)."""
        replica = self.replicas[index]
        assert replica.server is not None, f"replica {index} is not running"
        replica.server.kill()
        replica.close()  # reaps the process and closes its pipes

    def stop(self, index: int) -> None:
        """A clean stop (SIGTERM): its lease is released."""
        self.replicas[index].close()

    def owner_of(self, index: int) -> str:
        """Replica `index`'s lease owner id (what it stamps on the sessions it serves)."""
        pid = self.replicas[index].pid
        for lease in self.leases():
            if lease.pid == pid:
                return lease.owner_id
        raise AssertionError(f"replica {index} (pid {pid}) holds no lease")

    def leases(self) -> list[Lease]:
        return self.platform.backends.store.query(LEASES, "leases", limit=100).items


def replica_env(
    moto: MotoServer,
    data_dir: Path,
    prefix: str,
    bucket: str,
    settings: Mapping[str, str],
    unset: Collection[str] = (),
) -> dict[str, str]:
    """A replica's environment: the shared store and bucket, its own data dir, the test's `settings` on top,
    without the variables named in `unset` (e.g. ORATIO_MODEL, for a cluster with no model of its own)."""
    shared = {
        "ORATIO_DATA_DIR": str(data_dir),
        "ORATIO_STORE": "dynamodb",
        "ORATIO_BLOBS": "s3",
        "ORATIO_AWS_ENDPOINT_URL": moto.endpoint_url,
        "ORATIO_AWS_REGION": REGION,
        "ORATIO_DYNAMODB_TABLE_PREFIX": prefix,
        "ORATIO_S3_BUCKET": bucket,
        "ORATIO_JWT_SECRET": JWT_SECRET,
        "ORATIO_EMBEDDINGS": "false",
        "ORATIO_MODEL": "scripted",
        "ORATIO_LEASE_TTL_SECONDS": str(LEASE_TTL_S),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        # Every replica seals MCP request state (the rounds of a build on the client's model) with the same
        # ring, as ORATIO_REPLICAS > 1 requires, so a round sealed by one replica opens on any other.
        "ORATIO_MCP_REQUEST_STATE_KEYS": REQUEST_STATE_KEY,
    }
    merged = {name: value for name, value in {**shared, **settings}.items() if name not in unset}
    return clean_env(**merged)


@contextmanager
def cluster(root: Path, count: int = REPLICAS, unset: Collection[str] = (), **settings: str) -> Iterator[Cluster]:
    """`count` replicas of `oratio serve` on one moto_server, behind a round-robin proxy, all answering.

    `settings` are ORATIO_* variables every replica gets (e.g. `ORATIO_MODEL="scripted?delay=0.05"`); `unset`
    names variables no replica gets (`("ORATIO_MODEL",)`: no server-side model, builds think on MCP sampling).
    The tables, the bucket and the operator's tenant are made once, by the test's platform, before any
    replica starts: replicas share the operator file, as replicas of one installation share configuration.
    """
    with ExitStack() as stack:
        moto = stack.enter_context(moto_server())
        prefix, bucket = "rep_", "oratio-replicas"
        (root / "test").mkdir(parents=True, exist_ok=True)
        platform = stack.enter_context(
            open_test_platform(root / "test", moto=moto, dynamodb_table_prefix=prefix, s3_bucket=bucket)
        )
        ensure_operator_admin(platform)
        ports = [free_port() for _ in range(count)]
        proxy = RoundRobinProxy(ports)
        proxy.start()
        stack.callback(proxy.stop)
        # Clients reach the replicas at the proxy, as at a load balancer: the URL MCP's DNS-rebinding
        # protection allows (Host) and its auth metadata names.
        shared = {"ORATIO_PUBLIC_URL": f"http://127.0.0.1:{proxy.port}", **settings}
        replicas = []
        for index, port in enumerate(ports):
            data_dir = root / f"replica-{index}"
            data_dir.mkdir(parents=True)
            shutil.copy(operator_file(platform), data_dir / operator_file(platform).name)
            env = replica_env(moto, data_dir, prefix, bucket, shared, unset)
            replicas.append(Replica(index, port, data_dir, env, root / f"replica-{index}.stderr"))
        built = Cluster(moto, platform, replicas, proxy)
        for replica in replicas:
            stack.callback(replica.close)
        built.start_all()
        yield built
