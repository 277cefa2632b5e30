"""Agent runtime overhead: what Oratio adds to a turn, measured with a model that costs nothing.

With a zero-latency ScriptedModel every millisecond of a turn is platform: HTTP, AgentCore's app,
key auth and rate limiting, loading the agent and its plan, storing both turns and their events,
rebuilding history and running the Strands agent loop. Four measurements in one run, so the ratios
compare like with like on the same machine:

* runtime  - a real `python -m oratio_app serve-door runtime` process (uvicorn, SQLite store), one JSON turn per
  request through the full HTTP path, sessions of 10 turns continued via AgentCore's session header;
* engine   - the runtime's work without HTTP: key auth and `ConversationEngine.turn_async` in-process
  over the same store, to tell the door's cost (AgentCore app, guard) from the store's;
* direct   - the same Strands agent (same model, prompt, tools and history length) called in-process,
  no HTTP and no store: the floor a turn cannot go below;
* bare     - a bare Starlette JSON endpoint in its own uvicorn process, called with the same HTTP
  client: what HTTP itself costs.

Then turns per second at 1, 10 and 100 concurrent sessions against the runtime process (warmed up by
a few turns first; every session's HTTP client is built before the clock starts). Client and server
share the machine's cores, so absolute numbers are conservative; the ratios are the point. httpx
costs ~3 ms of CPU per request, so with it even the bare endpoint holds under ~300 turns/s at 10
sessions on two cores: the 10-session level is measured again with a raw keep-alive HTTP/1.1 client
(`_RawSession`, tens of microseconds a request) against the bare endpoint and the runtime, each
printed with the server process's CPU per turn: that is the server's figure. Then the
durability check: 10 concurrent sessions against a fresh runtime, which is killed with SIGKILL mid-load;
the store is reopened and every acknowledged turn (the customer's words and the reply) must be there.
The store runs as the platform is configured: synchronous=NORMAL by default (a write survives
kill -9, not power loss; docs/durability.md); `ORATIO_SQLITE_SYNCHRONOUS=full` fsyncs every commit,
and on a slow disk those fsyncs dominate. `--data-dir` on a tmpfs takes the disk out and leaves the
CPU cost. Last, store operations per continuing turn: the real services over the same files, with
each port wrapped in a counter.

    .venv/bin/python -m bench.runtime_overhead            # about a minute on 2 cores
    .venv/bin/python -m bench.runtime_overhead --quick    # a few seconds' smoke run
    .venv/bin/python -m bench.runtime_overhead --data-dir /dev/shm/oratio-bench   # the store on tmpfs
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

import httpx

from bench.stats import percentile
from tests.support.counting import Counting
from tests.support.processes import stop_process

if TYPE_CHECKING:
    from strands.types.content import Messages

    from oratio.blobs.ports import BlobStore
    from oratio.platform import Platform
    from oratio.store.ports import EventLog, RecordStore

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
TURNS_PER_SESSION = 10
STARTUP_TIMEOUT = 60.0
PLAN_PROMPT = "You are Ava, a friendly support agent for Acme. Answer briefly and politely."


@dataclass(frozen=True)
class Fixture:
    data_dir: Path
    agent_id: str
    secret: str


@dataclass(frozen=True)
class Latencies:
    label: str
    seconds: list[float]

    def pct(self, q: float) -> float:
        """The q-th percentile (0-100) in milliseconds."""
        return percentile(self.seconds, q) * 1000

    def line(self) -> str:
        return f"{self.label:<36} p50 {self.pct(50):8.2f} ms   p99 {self.pct(99):8.2f} ms   (n={len(self.seconds)})"


def _env(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ORATIO_DATA_DIR": str(data_dir),
        "ORATIO_JWT_SECRET": "b" * 40,
        "ORATIO_EMBEDDINGS": "false",
        "ORATIO_MODEL": "scripted",  # the zero-latency demo model: no tools offered, so one fixed reply
        "ORATIO_KEY_BURST": str(10**9),  # measure turns, not the rate limiter's refusals
        "ORATIO_KEY_RATE_PER_MINUTE": str(10**12),
    }


def prepare(data_dir: Path) -> Fixture:
    """A tenant, an agent deployed with a tool-less plan, and a key, stored where the server will look."""
    from oratio.config import load_settings
    from oratio.platform import open_platform
    from schemas import AgentPlan, AgentSpec, CreateAgent, MintKeyRequest, Principal, Scope

    env = {k: v for k, v in _env(data_dir).items() if k.startswith("ORATIO_")}
    with open_platform(load_settings(env)) as platform:
        tenant = platform.tenants.create_tenant("Bench")
        admin = platform.tenants.create_admin(tenant.tenant_id, "ops@bench.example", "Ops")
        principal = Principal(tenant_id=tenant.tenant_id, subject=admin.id, scopes=frozenset({Scope.ADMIN}))
        sop = "Greet the customer and answer politely. " * 3
        agent = platform.agents.create(principal, CreateAgent(spec=AgentSpec(name="Bench", sop=sop)))
        platform.agents.deploy(
            tenant.tenant_id, agent.id, AgentPlan(persona="Ava", system_prompt=PLAN_PROMPT, tools=[])
        )
        minted = platform.keys.mint(principal, MintKeyRequest(agent_id=agent.id, name="bench"))
    return Fixture(data_dir=data_dir, agent_id=agent.id, secret=minted.reveal())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(command: list[str], env: dict[str, str], ping: str) -> Iterator[str]:
    """Start a server process, wait (bounded) until `ping` answers, yield its base URL, stop it."""
    with server_process(command, env, ping) as (base, _):
        yield base


@contextmanager
def server_process(command: list[str], env: dict[str, str], ping: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`server`, also yielding the process (so the durability check can kill it with SIGKILL)."""
    port = _free_port()
    process = subprocess.Popen(
        [*command, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                raise SystemExit(f"server exited with status {process.returncode}: {' '.join(command)}")
            try:
                httpx.get(base + ping, timeout=1.0).raise_for_status()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("server did not start in time") from None
                time.sleep(0.05)
        yield base, process
    finally:
        stop_process(process)


RUNTIME_COMMAND = [sys.executable, "-m", "oratio_app", "serve-door", "runtime", "--host", "127.0.0.1"]


def runtime_server(fixture: Fixture) -> AbstractContextManager[str]:
    return server(RUNTIME_COMMAND, _env(fixture.data_dir), "/ping")


def bare_server() -> AbstractContextManager[str]:
    command = [sys.executable, "-m", "bench.runtime_overhead", "--serve-bare", "--host", "127.0.0.1"]
    return server(command, dict(os.environ), "/ping")


def serve_bare(host: str, port: int) -> None:
    """The baseline: parse the JSON body, answer a JSON reply of the runtime's shape. Nothing else."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def invocations(request: Request) -> JSONResponse:
        body = await request.json()
        reply = {
            "session_id": "ses_" + "0" * 26,
            "runtime_session_id": "oratio-ses_" + "0" * 26,
            "reply": "Echo: " + str(body.get("message", "")),
            "sources": [],
            "handoff": False,
            "ended": False,
            "status": "active",
        }
        return JSONResponse(reply)

    async def ping(request: Request) -> JSONResponse:
        return JSONResponse({"status": "Healthy"})

    app = Starlette(routes=[Route("/invocations", invocations, methods=["POST"]), Route("/ping", ping)])
    uvicorn.run(app, host=host, port=port, log_level="warning")


_TLS: list[ssl.SSLContext] = []


def _client(base: str, timeout: float) -> httpx.AsyncClient:
    """An HTTP client for one session. They share one SSL context: httpx builds a new one per client
    otherwise, loading the CA bundle each time (~20 ms idle, 100+ ms on a loaded machine, even for
    plain http), which at 100 sessions measured the client, not the server."""
    if not _TLS:
        _TLS.append(ssl.create_default_context())
    return httpx.AsyncClient(base_url=base, timeout=timeout, verify=_TLS[0])


class HttpTurns:
    """JSON turns over HTTP, a new AgentCore session (client-chosen runtime id) every TURNS_PER_SESSION."""

    def __init__(self, label: str, client: httpx.AsyncClient, fixture: Fixture) -> None:
        self.label = label
        self._client = client
        self._fixture = fixture
        self._runtime_id = ""

    async def turn(self, n: int) -> None:
        if n % TURNS_PER_SESSION == 0:
            self._runtime_id = str(uuid.uuid4())
        headers = {"X-Api-Key": self._fixture.secret, SESSION_HEADER: self._runtime_id}
        body = {"agent_id": self._fixture.agent_id, "message": f"question number {n}"}
        response = await self._client.post("/invocations", json=body, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"{self.label}: turn {n} answered {response.status_code}: {response.text}")


class EngineTurns:
    """The runtime's work without HTTP: key auth, then the engine's turn, over the same store."""

    label = "engine turn in-process (auth, store)"

    def __init__(self, platform: Platform, fixture: Fixture) -> None:
        self._platform = platform
        self._fixture = fixture
        self._session_id: str | None = None

    async def turn(self, n: int) -> None:
        from schemas import Channel

        if n % TURNS_PER_SESSION == 0:
            self._session_id = None
        grant = self._platform.keys.authenticate(self._fixture.secret, self._fixture.agent_id)
        result = await self._platform.engine.turn_async(
            grant.tenant_id, self._fixture.agent_id, self._session_id, f"question number {n}", Channel.TEXT
        )
        self._session_id = result.session_id


class DirectTurns:
    """The Strands agent the engine builds (model, prompt, no tools, same history length), in-process."""

    label = "direct Strands agent (in-process)"

    def __init__(self) -> None:
        self._history: Messages = []

    async def turn(self, n: int) -> None:
        from strands import Agent

        from oratio.models import demo_model

        if n % TURNS_PER_SESSION == 0:
            self._history = []
        agent = Agent(
            model=demo_model(), messages=list(self._history), system_prompt=PLAN_PROMPT, callback_handler=None
        )
        reply = ""
        async for event in agent.stream_async(f"question number {n}"):
            if "data" in event:
                reply += str(event["data"])
        self._history += [
            {"role": "user", "content": [{"text": f"question number {n}"}]},
            {"role": "assistant", "content": [{"text": reply}]},
        ]


class Turns(Protocol):
    label: str

    async def turn(self, n: int) -> None: ...


async def interleaved(paths: Sequence[Turns], turns: int, warmup: int) -> list[Latencies]:
    """Turn n of every path, then turn n+1 of every path (rotating who goes first), so drift in the
    machine (other processes, disk flushes) lands on all paths alike instead of on whichever ran last."""
    times: list[list[float]] = [[] for _ in paths]
    order = list(range(len(paths)))
    for n in range(warmup + turns):
        for i in order[n % len(order) :] + order[: n % len(order)]:
            start = time.perf_counter()
            await paths[i].turn(n)
            if n >= warmup:
                times[i].append(time.perf_counter() - start)
    return [Latencies(path.label, measured) for path, measured in zip(paths, times, strict=True)]


async def measure_latencies(
    fixture: Fixture, runtime_base: str, bare_base: str, turns: int, warmup: int
) -> list[Latencies]:
    from oratio.config import load_settings
    from oratio.platform import open_platform

    env = {k: v for k, v in _env(fixture.data_dir).items() if k.startswith("ORATIO_")}
    with open_platform(load_settings(env)) as platform:
        async with (
            httpx.AsyncClient(base_url=runtime_base, timeout=30.0) as runtime_client,
            httpx.AsyncClient(base_url=bare_base, timeout=30.0) as bare_client,
        ):
            paths: list[Turns] = [
                HttpTurns("Oratio runtime turn (HTTP)", runtime_client, fixture),
                EngineTurns(platform, fixture),
                DirectTurns(),
                HttpTurns("bare Starlette JSON endpoint (HTTP)", bare_client, fixture),
            ]
            return await interleaved(paths, turns, warmup)


COUNTED_TURNS = 8


async def store_operations(fixture: Fixture) -> tuple[float, Counter[str]]:
    """Store, event-log and blob operations per continuing turn: key auth plus the engine's turn.

    The real services are wired over the server's own SQLite file and blob directory, with each port
    wrapped in `Counting`; one session is started, then COUNTED_TURNS continuing turns are counted.
    """
    from oratio.config import load_settings
    from oratio.platform import build_services, open_platform
    from oratio.services import Backends
    from schemas import Channel

    env = {k: v for k, v in _env(fixture.data_dir).items() if k.startswith("ORATIO_")}
    settings = load_settings(env)
    tally: Counter[str] = Counter()
    with open_platform(settings) as real:
        b = real.backends
        counting = Backends(
            store=cast("RecordStore", Counting("store", b.store, tally)),
            events=cast("EventLog", Counting("events", b.events, tally)),
            blobs=cast("BlobStore", Counting("blobs", b.blobs, tally)),
            clock=b.clock,
        )
        platform = build_services(settings, counting, real.knowledge._kb)
        try:

            async def turn(session_id: str | None, n: int) -> str:
                grant = platform.keys.authenticate(fixture.secret, fixture.agent_id)
                result = await platform.engine.turn_async(
                    grant.tenant_id, fixture.agent_id, session_id, f"counted question {n}", Channel.TEXT
                )
                return result.session_id

            session_id = await turn(None, 0)
            session_id = await turn(session_id, 1)  # warm: the plan is cached from here on
            tally.clear()
            for n in range(COUNTED_TURNS):
                session_id = await turn(session_id, n + 2)
        finally:
            platform.outbox.close()
    return sum(tally.values()) / COUNTED_TURNS, tally


async def _throughput(
    base: str, fixture: Fixture, sessions: int, seconds: float, *, at_least: int = 0
) -> tuple[float, Latencies]:
    """`sessions` customers talking at once, each turn waiting for the previous reply, for `seconds`.

    Each session has its own HTTP client (one keep-alive connection): one shared httpx pool costs
    the client more CPU per request as connections grow, which on a shared machine would starve the
    server and measure the client. The clients are built before the clock starts and share one SSL
    context (`_client`): 100 clients each loading the CA bundle inside the window measured the
    client's start-up, not the server (the "100 sessions: ~5 turns/s, p50 ~4 s" of issue 16: py-spy
    showed the server idle in epoll meanwhile).
    """
    times: list[float] = []
    clients = [_client(base, 60.0) for _ in range(sessions)]
    stop_at = time.perf_counter() + seconds

    async def session_worker(worker: int, client: httpx.AsyncClient) -> None:
        n = 0
        runtime_id = ""
        while time.perf_counter() < stop_at or n < at_least:
            if n % TURNS_PER_SESSION == 0:
                runtime_id = str(uuid.uuid4())
            headers = {"X-Api-Key": fixture.secret, SESSION_HEADER: runtime_id}
            body = {"agent_id": fixture.agent_id, "message": f"worker {worker} question {n}"}
            start = time.perf_counter()
            response = await client.post("/invocations", json=body, headers=headers)
            if response.status_code != 200:
                raise SystemExit(f"{sessions} sessions: answered {response.status_code}: {response.text}")
            times.append(time.perf_counter() - start)
            n += 1

    try:
        began = time.perf_counter()
        stop_at = began + seconds
        await asyncio.gather(*(session_worker(w, c) for w, c in enumerate(clients)))
        elapsed = time.perf_counter() - began
    finally:
        for client in clients:
            await client.aclose()
    return len(times) / elapsed, Latencies(f"{sessions} sessions", times)


class _RawSession:
    """One keep-alive HTTP/1.1 connection speaking just enough HTTP for these JSON turns.

    httpx costs ~3 ms of CPU per request here, and client and server share the machine's two cores:
    at 10 sessions the bare Starlette endpoint itself tops out near 290 turns/s with httpx, so an
    httpx figure cannot show a server reaching 300. This client costs a few tens of microseconds a
    request, so its figure is the server's (the bare endpoint is measured with it too, as the ceiling).
    """

    def __init__(self, base: str) -> None:
        host, _, port = base.removeprefix("http://").partition(":")
        self._host, self._port = host, int(port)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        lines = [f"POST {path} HTTP/1.1", f"Host: {self._host}:{self._port}", "Content-Type: application/json"]
        lines += [f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self._reader.readexactly(length)

    async def aclose(self) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()


async def _raw_throughput(base: str, fixture: Fixture, sessions: int, seconds: float) -> tuple[float, Latencies]:
    """`_throughput` with `_RawSession` clients: what the server holds when the client costs next to nothing."""
    times: list[float] = []
    clients = [_RawSession(base) for _ in range(sessions)]

    async def session_worker(worker: int, client: _RawSession) -> None:
        n, runtime_id = 0, ""
        while time.perf_counter() < stop_at:
            if n % TURNS_PER_SESSION == 0:
                runtime_id = str(uuid.uuid4())
            headers = {"X-Api-Key": fixture.secret, SESSION_HEADER: runtime_id}
            body = json.dumps({"agent_id": fixture.agent_id, "message": f"worker {worker} question {n}"}).encode()
            start = time.perf_counter()
            status, answer = await client.post("/invocations", body, headers)
            if status != 200:
                raise SystemExit(f"{sessions} sessions (raw client): answered {status}: {answer[:200]!r}")
            times.append(time.perf_counter() - start)
            n += 1

    stop_at = time.perf_counter() + seconds
    try:
        began = time.perf_counter()
        stop_at = began + seconds
        await asyncio.gather(*(session_worker(w, c) for w, c in enumerate(clients)))
        elapsed = time.perf_counter() - began
    finally:
        for client in clients:
            await client.aclose()
    return len(times) / elapsed, Latencies(f"{sessions} sessions (raw client)", times)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used (Linux /proc), to print the server's CPU per turn."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw_levels(fixture: Fixture, seconds: float) -> list[tuple[str, float, Latencies, float]]:
    """10 sessions with the raw client against the bare endpoint and a fresh runtime:
    (label, turns/s, latencies, server CPU ms per turn)."""
    out: list[tuple[str, float, Latencies, float]] = []
    bare_command = [sys.executable, "-m", "bench.runtime_overhead", "--serve-bare", "--host", "127.0.0.1"]
    for label, command, env, ping in (
        ("bare Starlette endpoint", bare_command, dict(os.environ), "/ping"),
        ("Oratio runtime", RUNTIME_COMMAND, _env(fixture.data_dir), "/ping"),
    ):
        with server_process(command, env, ping) as (base, process):
            asyncio.run(_warm(base, fixture) if label == "Oratio runtime" else asyncio.sleep(0))
            before = _cpu_seconds(process.pid)
            rate, latencies = asyncio.run(_raw_throughput(base, fixture, 10, seconds))
            cpu_ms = (_cpu_seconds(process.pid) - before) * 1000 / max(1, len(latencies.seconds))
            out.append((label, rate, latencies, cpu_ms))
    return out


async def _warm(base: str, fixture: Fixture) -> None:
    """A few turns before a measurement: the first turn of a process imports Strands (about a second),
    a cold start the throughput figures are not about."""
    await _throughput(base, fixture, 1, 0.0, at_least=3)


@dataclass(frozen=True)
class Acknowledged:
    session_id: str
    message: str
    reply: str


KILL_AFTER_TURNS_PER_SESSION = 5
"""The kill waits for at least this many acknowledged turns per session (and the load window), so
the check always has acknowledged turns to look for, however slow the machine is."""


async def _load_until_killed(
    base: str, fixture: Fixture, sessions: int, seconds: float, process: subprocess.Popen[bytes]
) -> list[Acknowledged]:
    """`sessions` customers talking; once `seconds` have passed and every session has had a few turns
    answered, the server gets SIGKILL mid-load. Returns every turn the server acknowledged (answered
    200) before it died."""
    acknowledged: list[Acknowledged] = []
    clients = [_client(base, 30.0) for _ in range(sessions)]
    killed = False

    async def killer() -> None:
        nonlocal killed
        deadline = time.perf_counter() + seconds
        # A bench, not a test: a wall-clock load window is the point; bounded by the server's own timeout.
        while time.perf_counter() < deadline or len(acknowledged) < KILL_AFTER_TURNS_PER_SESSION * sessions:
            await asyncio.sleep(0.05)
            if time.perf_counter() > deadline + STARTUP_TIMEOUT:
                break
        killed = True
        process.kill()

    async def session_worker(worker: int, client: httpx.AsyncClient) -> None:
        n, runtime_id = 0, ""
        while True:
            if n % TURNS_PER_SESSION == 0:
                runtime_id = str(uuid.uuid4())
            headers = {"X-Api-Key": fixture.secret, SESSION_HEADER: runtime_id}
            message = f"durable worker {worker} question {n} {uuid.uuid4().hex[:8]}"
            try:
                response = await client.post(
                    "/invocations", json={"agent_id": fixture.agent_id, "message": message}, headers=headers
                )
            except httpx.TransportError:
                if not killed:
                    raise
                return  # the server is gone: this turn was never acknowledged
            if response.status_code != 200:
                raise SystemExit(f"durability load: answered {response.status_code}: {response.text}")
            body = response.json()
            acknowledged.append(Acknowledged(body["session_id"], message, body["reply"]))
            n += 1

    try:
        await asyncio.gather(killer(), *(session_worker(w, c) for w, c in enumerate(clients)))
    finally:
        for client in clients:
            await client.aclose()
    return acknowledged


def durable_after_kill(fixture: Fixture, sessions: int, seconds: float) -> tuple[int, int]:
    """Run `sessions` concurrent conversations, kill -9 the runtime mid-load, reopen the store and look
    for every acknowledged turn (the customer's words and the agent's reply). Returns (acknowledged, found)."""
    from oratio.config import load_settings
    from oratio.platform import open_platform
    from schemas import Principal, Role, Scope

    with server_process(RUNTIME_COMMAND, _env(fixture.data_dir), "/ping") as (base, process):
        asyncio.run(_warm(base, fixture))
        acknowledged = asyncio.run(_load_until_killed(base, fixture, sessions, seconds, process))
        process.wait(timeout=10)
    env = {k: v for k, v in _env(fixture.data_dir).items() if k.startswith("ORATIO_")}
    found = 0
    with open_platform(load_settings(env)) as platform:
        transcripts: dict[str, set[tuple[Role, str]]] = {}
        for ack in acknowledged:
            if ack.session_id not in transcripts:
                tenant_id = platform.keys.authenticate(fixture.secret, fixture.agent_id).tenant_id
                reader = Principal(tenant_id=tenant_id, subject="bench", scopes=frozenset({Scope.SESSIONS_READ}))
                turns = platform.sessions.get(reader, ack.session_id).turns
                transcripts[ack.session_id] = {(t.role, t.text) for t in turns}
            stored = transcripts[ack.session_id]
            found += (Role.CUSTOMER, ack.message) in stored and (Role.AGENT, ack.reply) in stored
    return len(acknowledged), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--turns", type=int, default=None, help="measured sequential turns per path")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per concurrency level")
    parser.add_argument("--data-dir", type=Path, default=None, help="where the runtime's SQLite store lives")
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.host, args.port)
        return
    turns = args.turns or (60 if args.quick else 400)
    seconds = args.seconds or (1.5 if args.quick else 8.0)
    warmup = 10 if args.quick else 30

    scratch = Path(tempfile.mkdtemp(prefix="oratio-bench-")) if args.data_dir is None else args.data_dir
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        fixture = prepare(scratch)
        print(f"runtime overhead: {turns} sequential turns per path (interleaved), {seconds:g}s per concurrency level")
        sync = os.environ.get("ORATIO_SQLITE_SYNCHRONOUS", "normal (the default)")
        print(f"data dir {scratch} (SQLite, synchronous={sync}); {os.cpu_count()} CPUs shared by client and servers\n")
        with bare_server() as bare_base, runtime_server(fixture) as base:
            runtime, engine, direct, bare = asyncio.run(measure_latencies(fixture, base, bare_base, turns, warmup))
        with runtime_server(fixture) as base:  # a fresh process: no history from the latency run
            asyncio.run(_warm(base, fixture))
            levels = [(n, asyncio.run(_throughput(base, fixture, n, seconds))) for n in (1, 10, 100)]
        raw = raw_levels(fixture, seconds)
        acknowledged, found = durable_after_kill(fixture, 10, seconds)
        for measured in (runtime, engine, direct, bare):
            print(measured.line())
        print()
        platform_ms = runtime.pct(50) - direct.pct(50) - bare.pct(50)
        door_ms = runtime.pct(50) - engine.pct(50) - bare.pct(50)
        print(f"{'platform overhead p50':<36} {platform_ms:8.2f} ms  (runtime - direct - bare)")
        print(f"{'  of which the AgentCore door':<36} {door_ms:8.2f} ms  (runtime - engine - bare)")
        for q, name in ((50, "p50"), (99, "p99")):
            print(
                f"{'ratio ' + name:<36} runtime/direct {runtime.pct(q) / direct.pct(q):6.1f}x"
                f"   runtime/bare {runtime.pct(q) / bare.pct(q):6.1f}x"
            )
        print()
        for sessions, (rate, latencies) in levels:
            print(
                f"{sessions:>3} concurrent sessions {rate:10.1f} turns/s"
                f"   p50 {latencies.pct(50):8.2f} ms   p99 {latencies.pct(99):8.2f} ms"
            )
        for label, rate, latencies, cpu_ms in raw:
            print(
                f" 10 sessions, raw client, {label:<24} {rate:8.1f} turns/s   p50 {latencies.pct(50):8.2f} ms"
                f"   server CPU {cpu_ms:5.2f} ms/turn"
            )
        print(
            f"kill -9 during 10 concurrent sessions: {found} of {acknowledged} acknowledged turns found after restart"
            + ("" if found == acknowledged else "   <-- LOST TURNS")
        )
        per_turn, tally = asyncio.run(store_operations(fixture))
        print()
        print(f"{'store operations per continuing turn':<36} {per_turn:8.1f}  (key auth + engine turn; target <= 4)")
        for name, calls in sorted(tally.items()):
            print(f"  {name:<34} {calls / COUNTED_TURNS:8.1f}")
    finally:
        if args.data_dir is None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
