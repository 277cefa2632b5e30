"""A tenant's MCP server settings cannot reach our own network or start programs.

Private, loopback, link-local and mapped addresses are refused before any byte is sent (the same
address policy as webhooks); the connection goes to the address that was vetted, whatever the name
resolves to later; redirects are not followed; a stdio server is only ever one the operator
registered, started with a minimal environment; what a server may send back is bounded.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from pydantic import ValidationError
from starlette.types import Receive, Scope, Send

from oratio.actions import ToolOutcome, ToolRequest
from oratio.actions.mcp_client import McpToolRunner, model_tool_name
from oratio.actions.mcp_connect import PinnedTransport
from oratio.actions.mcp_errors import McpRefused
from oratio.config import McpStdioServer
from oratio.notify.address_policy import Target, WebhookPolicy, WebhookRefused
from schemas import McpServerTool, McpToolSnapshot, McpTransport, ToolCallStatus
from tests.net import uvicorn_in_thread
from tests.support.mcp_test_server import STDIO_COMMAND, issue_certificate, serving_http

pytestmark = pytest.mark.anyio

TENANT = "t-acme"
BOUND_S = 20.0


class Recorder:
    """An ASGI app that records every request it gets and answers `status` (with `location` if set)."""

    def __init__(self, status: int = 200, location: str | None = None) -> None:
        self.hits: list[tuple[str, str]] = []
        self.status = status
        self.location = location

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.hits.append((scope["method"], dict(scope["headers"]).get(b"host", b"").decode()))
        headers = [(b"content-type", b"application/json")]
        if self.location:
            headers.append((b"location", self.location.encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, int]]:
    app = Recorder()
    with uvicorn_in_thread(lambda _port: app) as port:
        yield app, port


def definition(url: str, **changes: Any) -> McpServerTool:
    fields: dict[str, Any] = {"name": "orders", "url": url, "allowed_tools": ["find_order"], "timeout_seconds": 5}
    return McpServerTool.model_validate(fields | changes)


DEFAULT_POLICY = WebhookPolicy()
"""What an operator gets without configuring anything: public addresses only."""


def runner(policy: WebhookPolicy = DEFAULT_POLICY, resolve: Any = None, **stdio: McpStdioServer) -> McpToolRunner:
    extra = {} if resolve is None else {"resolve": resolve}
    return McpToolRunner(secrets=None, policy=policy, stdio_servers=stdio, **extra)


async def call(run: McpToolRunner, server: McpServerTool, tool: str = "find_order", **arguments: Any) -> ToolOutcome:
    snapshot = McpToolSnapshot(server=server.name, tool=tool, name=model_tool_name(server.name, tool))
    with anyio.fail_after(BOUND_S):
        return await run.run(ToolRequest(TENANT, "a-1", None, snapshot, arguments, server))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "0.0.0.0", "[::1]"])
async def test_a_loopback_url_is_refused_and_never_contacted(recorder: tuple[Recorder, int], host: str) -> None:
    app, port = recorder
    server = definition(f"http://{host}:{port}/mcp")
    outcome = await call(runner(), server)
    assert outcome.status is ToolCallStatus.REFUSED
    assert "private or reserved" in outcome.content["error"]
    with anyio.fail_after(BOUND_S), pytest.raises(McpRefused):
        await runner().discover(TENANT, server)
    assert app.hits == []


@pytest.mark.parametrize("address", ["10.0.0.5", "169.254.169.254", "192.168.1.1", "100.64.0.1", "fd00::1"])
async def test_a_name_that_resolves_to_a_private_address_is_refused(address: str) -> None:
    outcome = await call(runner(resolve=lambda host, port: [address]), definition("https://mcp.example.com/mcp"))
    assert outcome.status is ToolCallStatus.REFUSED
    assert "mcp.example.com" in outcome.content["error"]


async def test_every_request_goes_to_the_vetted_address_whatever_dns_says_later() -> None:
    token = secrets.token_urlsafe(16)
    answers: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        # First answer: the allow-listed internal host; any later answer would point elsewhere.
        answers.append(host)
        return ["127.0.0.1"] if len(answers) == 1 else ["10.66.66.66"]

    class Token:
        def resolve(self, tenant_id: str, name: str) -> str:
            return token

    with serving_http(token, allow_hosts=["orders.internal"]) as port:
        run = McpToolRunner(
            secrets=Token(),
            policy=WebhookPolicy.of(False, "orders.internal"),
            stdio_servers={},
            resolve=rebinding,
        )
        server = definition(f"http://orders.internal:{port}/mcp", bearer_secret="ORDERS_TOKEN")
        outcome = await call(run, server, order_id="A1")
    # Several HTTP requests (handshake, call) went out to the name's first answer (nothing listens on
    # 10.66.66.66 here): the name was resolved once, and every request used the vetted address.
    assert outcome.status is ToolCallStatus.OK, outcome.content
    assert answers == ["orders.internal"]


async def test_redirects_are_not_followed() -> None:
    elsewhere = Recorder()
    with uvicorn_in_thread(lambda _port: elsewhere) as other:
        redirecting = Recorder(status=307, location=f"http://127.0.0.1:{other}/mcp")
        with uvicorn_in_thread(lambda _port: redirecting) as port:
            outcome = await call(runner(WebhookPolicy(allow_private=True)), definition(f"http://127.0.0.1:{port}/mcp"))
    assert outcome.status is ToolCallStatus.ERROR
    assert redirecting.hits and elsewhere.hits == []


async def test_the_pinned_transport_refuses_any_other_origin() -> None:
    target = Target(scheme="http", host="orders.internal", port=8080, path="/mcp", address="127.0.0.1")
    transport = PinnedTransport(target, max_bytes=1000)
    for url in ("http://evil.example:8080/mcp", "http://orders.internal:8081/mcp", "https://orders.internal:8080/"):
        with pytest.raises(WebhookRefused):
            await transport.handle_async_request(httpx2.Request("POST", url))
    await transport.aclose()


async def test_a_tenant_cannot_name_an_unregistered_stdio_server() -> None:
    server = McpServerTool(name="local", transport=McpTransport.STDIO, server="shell", allowed_tools=["find_order"])
    run = runner(orders=McpStdioServer(command=STDIO_COMMAND))
    outcome = await call(run, server)
    assert outcome.status is ToolCallStatus.REFUSED
    assert "no MCP server named 'shell' is registered" in outcome.content["error"]
    with anyio.fail_after(BOUND_S), pytest.raises(McpRefused):
        await run.discover(TENANT, server)


def test_a_tenant_cannot_give_a_command() -> None:
    for extra in ({"command": ["sh", "-c", "id"]}, {"args": ["-c", "id"]}, {"env": {"LD_PRELOAD": "x"}}):
        with pytest.raises(ValidationError):
            McpServerTool.model_validate(
                {"name": "local", "transport": "stdio", "server": "orders", "allowed_tools": ["a"]} | extra
            )
    with pytest.raises(ValidationError):  # a registered name, never a path or a command line
        McpServerTool(name="local", transport=McpTransport.STDIO, server="/bin/sh -c id", allowed_tools=["a"])


async def test_a_stdio_server_does_not_inherit_the_platforms_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORATIO_JWT_SECRET", "x" * 40)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-for-tools")
    server = McpServerTool(
        name="local", transport=McpTransport.STDIO, server="orders", allowed_tools=["env_names"], timeout_seconds=20
    )
    run = runner(orders=McpStdioServer(command=STDIO_COMMAND, env={"ORDERS_REGION": "eu"}))
    outcome = await call(run, server, "env_names")
    assert outcome.status is ToolCallStatus.OK
    names = json.dumps(outcome.content)
    assert "ORDERS_REGION" in names and "PATH" in names
    assert "ORATIO_JWT_SECRET" not in names and "AWS_SECRET_ACCESS_KEY" not in names


async def test_stdio_processes_are_capped_and_a_hang_is_cut() -> None:
    server = McpServerTool(
        name="local",
        transport=McpTransport.STDIO,
        server="orders",
        allowed_tools=["hang", "find_order"],
        timeout_seconds=1,
    )
    run = McpToolRunner(
        secrets=None,
        policy=DEFAULT_POLICY,
        stdio_servers={"orders": McpStdioServer(command=STDIO_COMMAND)},
        stdio_max_processes=1,
    )
    outcomes: list[ToolOutcome] = []

    async def hanging() -> None:
        outcomes.append(await call(run, server, "hang"))

    patient = server.model_copy(update={"timeout_seconds": 20.0})
    async with anyio.create_task_group() as tg:
        tg.start_soon(hanging)
        await anyio.wait_all_tasks_blocked()  # the hanging call holds the one process slot
        refused = await call(run, patient, "find_order", order_id="A1")
    assert refused.status is ToolCallStatus.REFUSED
    assert "try again shortly" in refused.content["error"]
    [hung] = outcomes
    assert hung.status is ToolCallStatus.TIMEOUT  # cut at the timeout, its process killed, its slot given back:
    assert (await call(run, patient, "find_order", order_id="A1")).status is ToolCallStatus.OK


async def test_a_stdio_server_that_hangs_is_killed_and_reaped(tmp_path: Path) -> None:
    # 8 s: room for the server process to start (about 1 s here) and reach the tool, which then hangs.
    server = McpServerTool(
        name="local", transport=McpTransport.STDIO, server="orders", allowed_tools=["hang"], timeout_seconds=8
    )
    pid_file = tmp_path / "pid"
    outcome = await call(runner(orders=McpStdioServer(command=STDIO_COMMAND)), server, "hang", pid_file=str(pid_file))
    assert outcome.status is ToolCallStatus.TIMEOUT
    with pytest.raises(ProcessLookupError):  # killed and reaped: not even a zombie is left
        os.kill(int(pid_file.read_text()), 0)


async def test_a_stdio_line_over_the_cap_ends_the_call(tmp_path: Path) -> None:
    server = McpServerTool(
        name="local",
        transport=McpTransport.STDIO,
        server="orders",
        allowed_tools=["big"],
        timeout_seconds=20,
        max_response_bytes=1000,
    )
    outcome = await call(runner(orders=McpStdioServer(command=STDIO_COMMAND)), server, "big", size=2_000_000)
    assert outcome.status is ToolCallStatus.ERROR
    assert "far over 1000 bytes" in outcome.content["error"]


async def test_https_goes_to_the_vetted_address_and_checks_the_certificate_against_the_name(tmp_path: Path) -> None:
    ca, cert, key = issue_certificate(tmp_path, "orders.internal")
    token = secrets.token_urlsafe(16)

    class Token:
        def resolve(self, tenant_id: str, name: str) -> str:
            return token

    run = McpToolRunner(
        secrets=Token(),
        policy=WebhookPolicy.of(False, "orders.internal,billing.internal"),
        stdio_servers={},
        tls=ssl.create_default_context(cafile=str(ca)),
        resolve=lambda host, port: ["127.0.0.1"],
    )
    with serving_http(token, allow_hosts=["orders.internal", "billing.internal"], tls=(cert, key)) as port:
        good = definition(f"https://orders.internal:{port}/mcp", bearer_secret="ORDERS_TOKEN")
        ok = await call(run, good, order_id="A1")
        # Same address, another name: the certificate does not name it, so nothing is sent.
        wrong = definition(f"https://billing.internal:{port}/mcp", bearer_secret="ORDERS_TOKEN")
        refused = await call(run, wrong, order_id="A1")
    assert ok.status is ToolCallStatus.OK, ok.content
    assert refused.status is ToolCallStatus.ERROR


async def test_the_bearer_secret_is_in_no_log_record(caplog: pytest.LogCaptureFixture) -> None:
    token = secrets.token_urlsafe(24)

    class Token:
        def resolve(self, tenant_id: str, name: str) -> str:
            return token

    run = McpToolRunner(secrets=Token(), policy=WebhookPolicy(allow_private=True), stdio_servers={})
    caplog.set_level(logging.DEBUG)  # every logger, httpx2/httpcore2 and mcp included
    with serving_http(token) as port:
        server = definition(
            f"http://127.0.0.1:{port}/mcp", bearer_secret="ORDERS_TOKEN", allowed_tools=["find_order", "fail"]
        )
        with anyio.fail_after(BOUND_S):
            await run.discover(TENANT, server)
        outcomes = [await call(run, server, order_id="A1"), await call(run, server, "fail")]
    assert [o.status for o in outcomes] == [ToolCallStatus.OK, ToolCallStatus.ERROR]
    assert {r.name.split(".")[0] for r in caplog.records} >= {"httpcore2", "httpx2"}  # the client was heard
    for record in caplog.records:
        assert token not in record.getMessage() and token not in str(record.__dict__)
