"""Opening a connection to an admin's MCP server: where it may go, what it may send back, who may start one.

Streamable HTTP servers are a tenant's URL, called from inside our network, so the same address
policy as webhooks applies (`oratio.notify.address_policy`). The URL is resolved and vetted once per
connection; every request of that connection then goes to the very address that was vetted
(`PinnedTransport`: the URL's host is swapped for the address, the original host stays in the Host
header and is the TLS server name, so the certificate is still checked against the name). A DNS
answer that changes after the check (rebinding) cannot move the connection; a request to any other
origin is refused in the transport; redirects are not followed (an MCP endpoint has no reason to
redirect, and a 3xx ends the call as an error). Proxies from the environment are ignored, since a
proxy would connect to the name on our behalf. The bytes a server may send back are capped.

stdio servers are programs, which only the operator may choose: a tenant names one the operator
registered (ORATIO_MCP_STDIO_SERVERS), never a command; `mcp_stdio` starts it per call with a
minimal environment, a line cap, and a kill at the deadline.
"""

from __future__ import annotations

import ssl
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio.to_thread
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import DiscoverResult

from oratio.actions import SecretResolver
from oratio.actions.mcp_errors import McpRefused, McpUnavailable, ResponseTooLarge
from oratio.actions.mcp_stdio import stdio_transport
from oratio.config import McpStdioServer
from oratio.errors import NotFound
from oratio.notify.address_policy import (
    Resolver,
    Target,
    WebhookPolicy,
    WebhookRefused,
    check_url,
    safe_origin,
    system_resolver,
)
from schemas import McpServerTool, McpTransport

RESPONSE_OVERHEAD_BYTES = 64_000
"""Room for the JSON-RPC envelope and the handshake beside a result of `max_response_bytes`."""
RESPONSE_BUDGET_FACTOR = 4
"""A result travels twice (text and structured content), JSON-escaped: read up to 4x the cap, then cut it."""


class EraMemo:
    """How each server last negotiated (modern version + its discover result, or legacy), so the next
    connection skips the `server/discover` probe: one round trip less per call. Bounded, oldest out;
    plain data, so it is safe to share across event loops. A connection that fails forgets its entry.
    """

    def __init__(self, size: int = 1000) -> None:
        self._size = size
        self._known: OrderedDict[str, tuple[str, DiscoverResult | None]] = OrderedDict()
        self._lock = threading.Lock()  # event loops in several threads (AgentCore's worker loop) share it

    def get(self, key: str) -> tuple[str, DiscoverResult | None]:
        with self._lock:
            return self._known.get(key, ("auto", None))

    def learn(self, key: str, client: Client) -> None:
        """What a connection negotiated in "auto" mode."""
        discovered = client.session.discover_result
        self.remember(key, ("legacy", None) if discovered is None else (client.protocol_version, discovered))

    def remember(self, key: str, era: tuple[str, DiscoverResult | None]) -> None:
        with self._lock:
            self._known[key] = era
            self._known.move_to_end(key)
            while len(self._known) > self._size:
                self._known.popitem(last=False)

    def forget(self, key: str) -> None:
        with self._lock:
            self._known.pop(key, None)


class _CappedStream(httpx2.AsyncByteStream):
    """A response body that stops once the connection's byte budget is spent."""

    def __init__(self, inner: httpx2.AsyncByteStream, budget: _Budget) -> None:
        self._inner = inner
        self._budget = budget

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._budget.spend(len(chunk))
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class _Budget:
    def __init__(self, limit: int) -> None:
        self.left = limit

    def spend(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise ResponseTooLarge("the MCP server sent more data than one call may bring back")


class PinnedTransport(httpx2.AsyncBaseTransport):
    """Sends every request to the vetted `target` address, and nowhere else; caps the bytes read back."""

    def __init__(self, target: Target, *, max_bytes: int, tls: ssl.SSLContext | None = None) -> None:
        self._target = target
        self._budget = _Budget(max_bytes)
        # Building a TLS context reads the CA bundle (~100 ms): callers share one (`tls`).
        self._inner = httpx2.AsyncHTTPTransport(
            verify=tls if tls is not None else httpx2.create_ssl_context(), trust_env=False, retries=0
        )

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        if (url.scheme, url.host.lower().strip("[]"), port) != (
            self._target.scheme,
            self._target.host.lower(),
            self._target.port,
        ):
            raise WebhookRefused(
                f"the MCP server tried to send us to {safe_origin(str(url))}; only its own URL is used"
            )
        extensions = dict(request.extensions)
        if url.scheme == "https":
            extensions["sni_hostname"] = self._target.host
        pinned = httpx2.Request(
            request.method,
            url.copy_with(host=self._target.address),
            headers=request.headers,  # keeps the original Host header
            stream=request.stream,
            extensions=extensions,
        )
        response = await self._inner.handle_async_request(pinned)
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        response.stream = _CappedStream(response.stream, self._budget)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


async def vet_url(url: str, policy: WebhookPolicy, resolve: Resolver = system_resolver) -> Target:
    """Resolve and check an MCP server URL (in a thread: resolution blocks). Raises McpRefused."""
    try:
        return await anyio.to_thread.run_sync(check_url, url, policy, resolve)
    except WebhookRefused as exc:
        raise McpRefused(exc.message.replace("webhook", "MCP server")) from None
    except OSError:
        raise McpUnavailable(f"the MCP server {safe_origin(url)} could not be resolved") from None


@asynccontextmanager
async def open_client(
    server: McpServerTool,
    *,
    bearer: str | None,
    policy: WebhookPolicy,
    stdio_servers: Mapping[str, McpStdioServer],
    max_bytes: int,
    tls: ssl.SSLContext | None = None,
    memo: EraMemo | None = None,
    resolve: Resolver = system_resolver,
) -> AsyncIterator[Client]:
    """A connected `mcp.Client` for `server`, closed on exit. Raises McpRefused before connecting.

    `bearer` (from `read_bearer`) goes in the Authorization header of every request; `max_bytes` is the
    result cap, from which the bytes an HTTP server may send over this connection are bounded. The
    caller bounds the time.
    """
    if server.transport is McpTransport.STDIO:
        spec = stdio_servers.get(server.server or "")
        if spec is None:
            raise McpRefused(f"no MCP server named '{server.server}' is registered by the operator")
        budget = RESPONSE_BUDGET_FACTOR * max_bytes + RESPONSE_OVERHEAD_BYTES
        pipes = stdio_transport(spec.command, dict(spec.env), max_line_bytes=budget)
        async with _connected(pipes, f"stdio:{server.server}", memo) as client:
            yield client
        return

    assert server.url is not None  # McpServerTool guarantees it for http
    headers: dict[str, Any] = {} if bearer is None else {"Authorization": f"Bearer {bearer}"}
    target = await vet_url(server.url, policy, resolve)
    transport = PinnedTransport(target, max_bytes=RESPONSE_BUDGET_FACTOR * max_bytes + RESPONSE_OVERHEAD_BYTES, tls=tls)
    timeout = httpx2.Timeout(server.timeout_seconds)
    async with (
        httpx2.AsyncClient(
            transport=transport, headers=headers, timeout=timeout, follow_redirects=False, trust_env=False
        ) as http,
        _connected(streamable_http_client(server.url, http_client=http), server.url, memo) as client,
    ):
        yield client


@asynccontextmanager
async def _connected(
    transport: AbstractAsyncContextManager[Any], key: str, memo: EraMemo | None
) -> AsyncIterator[Client]:
    mode, prior = memo.get(key) if memo is not None else ("auto", None)
    try:
        async with Client(transport, cache=None, mode=mode, prior_discover=prior) as client:
            if memo is not None and mode == "auto":
                memo.learn(key, client)
            yield client
    except BaseException:
        if memo is not None:
            memo.forget(key)
        raise


def caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether `kind` is anywhere in `exc`'s groups or causes (the mcp client wraps transport errors)."""
    stack, seen = [exc], 0
    while stack and seen < 100:
        item = stack.pop()
        seen += 1
        if isinstance(item, kind):
            return True
        if isinstance(item, BaseExceptionGroup):
            stack.extend(item.exceptions)
        stack.extend(e for e in (item.__cause__, item.__context__) if e is not None)
    return False


def read_bearer(secrets: SecretResolver | None, tenant_id: str, server: McpServerTool) -> str | None:
    """The server's bearer token, read now (a rotated secret is used from the next call on). Raises McpRefused."""
    if server.bearer_secret is None:
        return None
    if secrets is None:
        raise McpRefused("secrets are not available on this platform, so the MCP server's token cannot be read")
    try:
        return secrets.resolve(tenant_id, server.bearer_secret)
    except NotFound:
        raise McpRefused(
            f"the secret {server.bearer_secret} the MCP server needs is not set; an admin must set it"
        ) from None
