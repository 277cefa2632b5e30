"""Calling the tools of an admin's MCP server, and discovering them when an agent is built.

`McpToolRunner.run` is the `ToolRunner` for `McpToolSnapshot` requests: it connects to the
request's server (`mcp_connect.open_client`: address policy, pinned address, bearer secret read at
call time, stdio only by operator-registered name), calls the tool by its name on the server with
the arguments as given (the ActionRunner has validated them), and turns what comes back into what
the model reads. The whole call, connection included, is cut from outside at min(server timeout,
time left in the turn), so a server that hangs, trickles or misbehaves costs a TIMEOUT or ERROR
outcome, never an exception and never a hung turn.

Connection reuse: one connection per call. It is the simplest thing that is always right (no
session to go stale, no state shared between tenants, the bearer secret and the address re-read
every call) and costs a handshake per call over HTTP on top of the tool's own latency
(`bench/mcp_overhead.py` prints the figure). A stdio server is a process started per call, which
costs far more; an operator who needs that path to be fast should run the server over HTTP instead.

`discover` lists a server's tools for the AgentCreator and keeps the admin's allow-list, so what
the plan snapshots (`AgentPlan.mcp_tools`) is what was reviewed.
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.types import (
    AudioContent,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
    Tool,
)

from oratio.actions import SecretResolver, ToolOutcome, ToolRequest
from oratio.actions.mcp_connect import EraMemo, caused_by, open_client, read_bearer
from oratio.actions.mcp_errors import McpRefused, McpUnavailable, ResponseTooLarge
from oratio.actions.schema_check import check_tool_schema
from oratio.config import McpStdioServer, Settings
from oratio.errors import InvalidInput
from oratio.notify.address_policy import Resolver, WebhookPolicy, safe_origin, system_resolver
from schemas import McpServerTool, McpToolSnapshot, McpTransport, ToolCallStatus
from schemas.tools import RESERVED_TOOL_NAMES, SCHEMA_JSON_MAX, check_json_size

logger = logging.getLogger(__name__)

LISTED_TOOLS_MAX = 1000
"""Tools read from one server's tools/list before giving up on finding the allowed ones."""
LIST_PAGES_MAX = 20
DISCOVERY_MAX_BYTES = 4_000_000
"""What one tools/list conversation may bring back, all pages together."""
DESCRIPTION_MAX = 2000
SUMMARY_MAX = 500
NAME_MAX = 48
_NOT_NAME = re.compile(r"[^a-z0-9_]+")
_UNDERSCORES = re.compile(r"_{2,}")


def model_tool_name(server: str, tool: str) -> str:
    """`{server}_{tool}` as the model may see it (TOOL_NAME_PATTERN): lowercase, [a-z0-9_], at most 48."""
    name = _UNDERSCORES.sub("_", _NOT_NAME.sub("_", f"{server}_{tool}".lower()))
    return name[:NAME_MAX].rstrip("_")


class McpToolRunner:
    """Runs MCP tool calls and discovers MCP tools; one connection per call (see the module docstring)."""

    def __init__(
        self,
        *,
        secrets: SecretResolver | None,
        policy: WebhookPolicy,
        stdio_servers: Mapping[str, McpStdioServer],
        stdio_max_processes: int = 8,
        tls: ssl.SSLContext | None = None,
        resolve: Resolver = system_resolver,
    ) -> None:
        """`tls`: whom to trust for https servers (default: the system's CAs, or SSL_CERT_FILE); tests
        and private CAs pass their own. `resolve` is the name resolver the address policy checks."""
        self._secrets = secrets
        self._policy = policy
        self._stdio = dict(stdio_servers)
        # A thread semaphore, never waited on: it works whichever event loop the call runs on, and a
        # call beyond the cap is refused at once rather than queued past the turn's deadline.
        self._stdio_slots = threading.BoundedSemaphore(stdio_max_processes)
        self._resolve = resolve
        self._tls = tls if tls is not None else httpx2.create_ssl_context()
        """One TLS context (certificates checked against the server's name) for every connection."""
        self._memo = EraMemo()

    def _open(self, server: McpServerTool, bearer: str | None, max_bytes: int) -> Any:
        return open_client(
            server,
            bearer=bearer,
            policy=self._policy,
            stdio_servers=self._stdio,
            max_bytes=max_bytes,
            tls=self._tls,
            memo=self._memo,
            resolve=self._resolve,
        )

    @contextmanager
    def _process_slot(self, server: McpServerTool) -> Iterator[bool]:
        """For a stdio server: whether a process may start now (held until the call ends). HTTP: always."""
        if server.transport is not McpTransport.STDIO:
            yield True
            return
        if not self._stdio_slots.acquire(blocking=False):
            yield False
            return
        try:
            yield True
        finally:
            self._stdio_slots.release()

    async def run(self, request: ToolRequest) -> ToolOutcome:
        started = time.perf_counter()
        tool, server = request.tool, request.server
        if not isinstance(tool, McpToolSnapshot) or server is None or server.name != tool.server:
            return _outcome(ToolCallStatus.REFUSED, "this is not an MCP tool of this agent", started)
        with self._process_slot(server) as free:
            if not free:
                return _outcome(ToolCallStatus.REFUSED, "too many tool calls are running; try again shortly", started)
            return await self._run(request, tool, server, started)

    async def _run(
        self, request: ToolRequest, tool: McpToolSnapshot, server: McpServerTool, started: float
    ) -> ToolOutcome:
        limit = server.timeout_seconds
        if request.deadline_s is not None:
            limit = max(0.0, min(limit, request.deadline_s))
        where = _where(server)
        bearer: str | None = None
        result: CallToolResult | None = None
        try:
            with anyio.move_on_after(limit):
                bearer = read_bearer(self._secrets, request.tenant_id, server)
                async with self._open(server, bearer, server.max_response_bytes) as client:
                    result = await client.call_tool(tool.tool, dict(request.arguments))
        except McpRefused as exc:
            return _outcome(ToolCallStatus.REFUSED, exc.message, started)
        except McpUnavailable as exc:
            return _outcome(ToolCallStatus.ERROR, exc.message, started)
        except Exception as exc:  # boundary: a tenant's server must never break the turn; outcomes are data
            if caused_by(exc, ResponseTooLarge):
                return _outcome(
                    ToolCallStatus.ERROR,
                    f"the tool's answer was far over {server.max_response_bytes} bytes; ask for less",
                    started,
                )
            logger.info(
                "tenant_id=%s tool=%s server=%s error=%s | MCP call failed",
                request.tenant_id,
                tool.name,
                where,
                type(exc).__name__,
            )
            return _outcome(ToolCallStatus.ERROR, "the tool's server could not be reached or answered badly", started)
        if result is None:
            # Cut at the deadline. Whether the tool acted is unknown, so nothing invites a blind retry.
            logger.info("tenant_id=%s tool=%s server=%s | MCP call timed out", request.tenant_id, tool.name, where)
            return _outcome(
                ToolCallStatus.TIMEOUT,
                f"the tool did not answer within {limit:g} seconds; whether it did anything is unknown",
                started,
            )
        # An answer that came before the deadline counts even if closing the connection ran over it.
        return _result_outcome(result, server.max_response_bytes, started, bearer)

    async def discover(self, tenant_id: str, server: McpServerTool) -> list[McpToolSnapshot]:
        """The server's allowed tools as the plan keeps them.

        Raises InvalidInput (naming the tool or setting at fault), McpRefused, or McpUnavailable.
        """
        try:
            with self._process_slot(server) as free, anyio.fail_after(server.timeout_seconds):
                if not free:
                    raise McpUnavailable("too many local MCP servers are running; try again shortly")
                bearer = read_bearer(self._secrets, tenant_id, server)
                async with self._open(server, bearer, DISCOVERY_MAX_BYTES) as client:
                    listed = await _list_allowed(client, set(server.allowed_tools))
        except TimeoutError:
            raise McpUnavailable(
                f"the MCP server {_where(server)} did not list its tools within {server.timeout_seconds:g} seconds"
            ) from None
        except (InvalidInput, McpUnavailable):
            raise
        except Exception as exc:  # boundary: any failure of the tenant's server is one clear error to the admin
            logger.info(
                "tenant_id=%s server=%s error=%s | MCP discovery failed", tenant_id, _where(server), type(exc).__name__
            )
            raise McpUnavailable(f"the MCP server {_where(server)} could not be reached or answered badly") from None
        return snapshots(server, listed)


async def _list_allowed(client: Client, allowed: set[str]) -> dict[str, Tool]:
    """tools/list, page by page, until every allowed tool is seen; bounded in pages and tools."""
    found: dict[str, Tool] = {}
    cursor: str | None = None
    seen = 0
    for _ in range(LIST_PAGES_MAX):
        page = await client.list_tools(cursor=cursor)
        for tool in page.tools:
            seen += 1
            if tool.name in allowed and tool.name not in found:
                found[tool.name] = tool
        cursor = page.next_cursor
        if cursor is None or len(found) == len(allowed) or seen >= LISTED_TOOLS_MAX:
            break
    return found


def snapshots(server: McpServerTool, listed: Mapping[str, Tool]) -> list[McpToolSnapshot]:
    """The allowed tools, named for the model, checked; the first problem is an InvalidInput naming it."""
    missing = [name for name in server.allowed_tools if name not in listed]
    if missing:
        raise InvalidInput(
            f"the MCP server '{server.name}' has no tool named {', '.join(repr(m) for m in missing)[:300]} "
            f"(among the first {LISTED_TOOLS_MAX} it lists); fix allowed_tools",
            field="allowed_tools",
        )
    result: list[McpToolSnapshot] = []
    names: dict[str, str] = {}
    for tool_name in server.allowed_tools:
        tool = listed[tool_name]
        name = model_tool_name(server.name, tool_name)
        if name in names:
            raise InvalidInput(
                f"the MCP tools {names[name]!r} and {tool_name!r} of '{server.name}' would both be called '{name}'; "
                "allow only one of them",
                field="allowed_tools",
            )
        if name in RESERVED_TOOL_NAMES:
            raise InvalidInput(f"the MCP tool {tool_name!r} would be called '{name}', a built-in tool's name")
        names[name] = tool_name
        schema = tool.input_schema
        try:
            if not isinstance(schema, dict) or schema.get("type") != "object":
                raise ValueError('its input schema is not {"type": "object", ...}')
            check_json_size(schema, limit=SCHEMA_JSON_MAX, what="its input schema")
        except ValueError as exc:
            raise InvalidInput(f"the MCP tool {tool_name!r} of '{server.name}' cannot be used: {exc}") from None
        # Draft 2020-12 with RE2 patterns and local refs only, like an admin's own HTTP tool (InvalidInput names it).
        check_tool_schema(schema, f"{server.name}.{tool_name}.inputSchema")
        description = (tool.description or tool.title or "")[:DESCRIPTION_MAX]
        result.append(
            McpToolSnapshot(
                server=server.name,
                tool=tool_name,
                name=name,
                description=description,
                parameters=schema,
                write=tool_name not in server.read_only_tools,
            )
        )
    return result


def _text_of(block: object) -> str:
    if isinstance(block, TextContent):
        return block.text
    if isinstance(block, EmbeddedResource) and isinstance(block.resource, TextResourceContents):
        return block.resource.text
    if isinstance(block, ResourceLink):
        return f"[a link the tool returned: {block.uri}]"
    if isinstance(block, ImageContent | AudioContent):
        return "[an image or audio the tool returned is not shown]"
    return "[content the tool returned is not shown]"


def _result_outcome(result: CallToolResult, cap: int, started: float, secret: str | None) -> ToolOutcome:
    """What the model reads. A server that echoes our bearer token back gets it masked, not passed on."""
    text = _scrub("\n".join(_text_of(block) for block in result.content), secret)
    if result.is_error:
        return _outcome(ToolCallStatus.ERROR, f"the tool reported an error: {_cut(text, cap)[0]}", started)
    body: Any = result.structured_content if result.structured_content is not None else text
    serialized = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, default=str)
    scrubbed = _scrub(serialized, secret)
    if scrubbed != serialized:
        body = serialized = scrubbed
    shown, was_cut = _cut(serialized, cap)
    content: Any = body
    if was_cut:
        content = {
            "result": shown,
            "note": f"The result was cut at {cap} bytes. Ask for something narrower if you need the rest.",
        }
    return ToolOutcome(ToolCallStatus.OK, content, _summary(serialized), _elapsed(started))


def _scrub(text: str, secret: str | None) -> str:
    """`secret` masked, as sent and as JSON would escape it."""
    if not secret:
        return text
    for form in {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}:
        text = text.replace(form, "[redacted]")
    return text


def _cut(text: str, cap: int) -> tuple[str, bool]:
    raw = text.encode()
    if len(raw) <= cap:
        return text, False
    return raw[:cap].decode(errors="ignore"), True


def _summary(text: str) -> str:
    flat = " ".join(text[: SUMMARY_MAX * 4].split())
    return flat if len(flat) <= SUMMARY_MAX else flat[: SUMMARY_MAX - 1] + "…"


def _outcome(status: ToolCallStatus, error: str, started: float) -> ToolOutcome:
    return ToolOutcome(status, {"error": error}, _summary(error), _elapsed(started))


def _elapsed(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _where(server: McpServerTool) -> str:
    if server.transport is McpTransport.STDIO:
        return f"stdio:{server.server}"
    return safe_origin(server.url or "")


def build_mcp_runner(settings: Settings, secrets: SecretResolver | None) -> McpToolRunner:
    """The MCP runner the ActionRunner dispatches `kind="mcp"` tools to (and the creator discovers with)."""
    return McpToolRunner(
        secrets=secrets,
        policy=WebhookPolicy.of(settings.webhook_allow_private, settings.webhook_allowed_hosts),
        stdio_servers=settings.mcp_stdio_servers or {},
        stdio_max_processes=settings.mcp_stdio_max_processes,
    )
