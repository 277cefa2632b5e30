"""The agent runtime: every active agent of every tenant, served under the Bedrock AgentCore contract.

One `BedrockAgentCoreApp` answers `POST /invocations` (the agent named in the body),
`POST /agents/{agent_id}/invocations` (the agent named in the path, for local multi-agent serving),
`GET /ping`, and nothing else. The same object runs as an AgentCore Runtime container
(`python -m oratio_app serve-door runtime`, port 8080) and inside `oratio serve` (mounted at `/runtime`), so what
is tested locally is what AgentCore runs.

Why the AgentCore app and not a plain Starlette route: AgentCore's app owns the contract (its
request context, `/ping` and its busy status, async generators bridged to SSE); re-implementing that
would drift from the service. One thing is changed: Oratio's entrypoint is awaited on the serving
loop rather than on AgentCore's worker loop (`_ServingLoopApp`), because a turn never blocks its
loop and the thread hop was a seventh of a scripted turn; `/ping` still answers while turns wait.
What it does not do, `RuntimeGuard` (ASGI middleware in front of it) does: bound the body (413),
refuse malformed JSON with Oratio's error shape (422 instead of AgentCore's 400), route the
per-agent path, add the session header to SSE replies and turn Starlette's plain-text 404/405
into JSON.

Every refusal is a JSON body `{"error", "message", "field"?}` (an `OratioError` rendered by
`oratio.http_json.error_response`, so every Oratio door answers alike): 401 (+ WWW-Authenticate)
for a missing or bad key, 403 for a key of another agent of the same tenant, 404 for an agent the
key's tenant does not have (another tenant's agent reads the same), 409 for an agent that is not
active or a session that ended, 413/422 for the body, 429 (+ Retry-After) when the key's rate limit
is spent. A failure of Oratio itself is a 500 that says nothing about its cause.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from bedrock_agentcore.runtime import BedrockAgentCoreApp, RequestContext
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from agentcore_apps._one_task import in_one_task
from agentcore_apps.bindings import DurableBindings
from agentcore_apps.context import RuntimeServices
from agentcore_apps.contract import (
    MAX_BODY_BYTES,
    SESSION_HEADER,
    SessionBindings,
    api_key_from,
    parse_invocation,
    resolve_session,
    runtime_session_id,
)
from agentcore_apps.receive import Receivers, is_receive, page_body, parse_receive, receive_session, wait_for_feed
from agentcore_apps.ws import serve_customer
from oratio.errors import InvalidInput, OratioError
from oratio.http_json import PayloadTooLarge, error_response, json_http_errors, parse_json
from oratio.runtime.results import TurnResult
from oratio.services.keys import KeyGrant
from schemas import Channel

logger = logging.getLogger("oratio.runtime.http")

_AGENT_PATH = re.compile(r"^/agents/([^/]+)/invocations/?$")
_SCOPE_AGENT = "oratio.agent_id"
_SCOPE_HEADERS = "oratio.response_headers"
_INTERNAL = {"error": "internal_error", "message": "the agent could not answer this turn; try again"}


def create_runtime_app(
    services: RuntimeServices, *, bindings: SessionBindings | None = None, max_body_bytes: int = MAX_BODY_BYTES
) -> BedrockAgentCoreApp:
    """The runtime app over the services it uses (a `Platform` will do): keys to authenticate,
    the engine to run turns."""
    runtime = _Runtime(services, DurableBindings(bindings or SessionBindings(), services.runtime_sessions))
    app = _ServingLoopApp(
        middleware=[Middleware(RuntimeGuard, max_body_bytes=max_body_bytes)],
        lifespan=_stop_worker_loop_on_exit,
    )
    # Logging is the process's, configured by the composition root (`oratio_app.logs`): AgentCore's
    # records go to its own JSON handler only wherever Oratio configures logging.
    app.entrypoint(runtime.invoke)
    app.websocket(runtime.websocket)
    app.state.receivers = runtime.receivers  # the per-tenant bound on waiting receivers (tests read it)
    app.add_exception_handler(HTTPException, _http_error)
    return app


class _ServingLoopApp(BedrockAgentCoreApp):
    """AgentCore's app, with the async entrypoint awaited on the loop that serves the request.

    AgentCore hands an async handler to a worker loop in a thread of its own, so a handler that
    blocks its loop cannot stall `/ping`. Oratio's handler never blocks a loop (store calls are brief
    SQLite ones or go to worker threads, the model is awaited), and the hop cost every turn two
    cross-thread wake-ups plus a GIL hand-off between two busy loops: ~1.4 ms of a ~10 ms scripted
    turn idle, and under load it capped turns per second (bench/runtime_overhead.py). A streamed
    reply is then an async generator Starlette drains on this loop too, instead of AgentCore's
    thread-pool bridge. `/ping` still answers while turns wait on a model
    (tests/agentcore_apps/test_turns.py, bench/ping_busy.py).
    """

    def _takes_context(self, handler: Any) -> bool:
        # AgentCore inspects the handler's signature on every request (~0.08 ms); Oratio's takes the context.
        return isinstance(getattr(handler, "__self__", None), _Runtime) or bool(super()._takes_context(handler))

    async def _invoke_handler(self, handler: Any, request_context: Any, takes_context: bool, payload: Any) -> Any:
        if not isinstance(getattr(handler, "__self__", None), _Runtime):  # only Oratio's own entrypoint
            return await super()._invoke_handler(handler, request_context, takes_context, payload)
        return await handler(payload, request_context)


class _Runtime:
    def __init__(self, services: RuntimeServices, bindings: DurableBindings) -> None:
        self._services = services
        self._keys = services.keys
        self._engine = services.engine
        self._bindings = bindings
        self.receivers = Receivers(services.settings.receive_waits_per_tenant)

    async def invoke(self, payload: Any, context: RequestContext) -> Response | AsyncIterator[dict[str, Any]]:
        """AgentCore's entrypoint. Runs on the serving loop (`_ServingLoopApp`): nothing here may block it,
        so a key the cache cannot answer is checked in a worker thread, and the engine keeps its store
        calls brief or off the loop."""
        request = context.request
        if not isinstance(request, Request):  # AgentCore failed building its context (it logged why)
            return JSONResponse(_INTERNAL, status_code=500)
        try:
            return await self._invoke(payload, request)
        except OratioError as exc:
            if exc.http_status >= 500:
                logger.error("turn refused by the platform: %s", exc.message)
            return error_response(exc)
        except Exception:
            logger.exception("turn failed")
            return JSONResponse(_INTERNAL, status_code=500)

    async def _invoke(self, payload: Any, request: Request) -> Response | AsyncIterator[dict[str, Any]]:
        secret = api_key_from(request.headers)
        if is_receive(payload):
            return await self._receive(payload, request, secret)
        invocation, agent_id = parse_invocation(payload, request.scope.get(_SCOPE_AGENT))
        # A key verified moments ago is answered from memory on this loop; otherwise a worker thread asks the store.
        grant = self._keys.authenticate_cached(secret, agent_id)
        if grant is None:
            grant = await anyio.to_thread.run_sync(self._authenticate, secret, agent_id)
        header = request.headers.get(SESSION_HEADER)
        await self._bindings.load(grant.tenant_id, agent_id, header)
        session_id = resolve_session(self._bindings.memory, grant.tenant_id, agent_id, header, invocation.session_id)
        stream = invocation.stream if invocation.stream is not None else wants_stream(request.headers.get("accept"))
        turn = (grant.tenant_id, agent_id, session_id, invocation.message, Channel.TEXT, invocation.customer)
        if not stream:
            result = await self._engine.turn_async(*turn)
            await self._bindings.remember(grant.tenant_id, agent_id, header, result.session_id)
            body = result_body(result)
            return JSONResponse(body, headers={SESSION_HEADER: header or body["runtime_session_id"]})
        events = in_one_task(self._engine.stream_turn(*turn))  # one task, one OTel context (see _one_task)
        # Pull the first item before answering: the engine refuses (paused agent, ended session) on
        # the first iteration, and a refusal must be a 4xx status, not an error event in a 200 stream.
        try:
            first = await anext(events)
        except BaseException:
            await _close(events)
            raise
        # AgentCore writes the SSE response itself; the guard adds these headers as it starts.
        extra = {"Cache-Control": "no-store"}
        known = header or (runtime_session_id(session_id) if session_id is not None else None)
        if known is not None:
            extra[SESSION_HEADER] = known
        request.scope[_SCOPE_HEADERS] = extra
        return self._sse(first, events, grant.tenant_id, agent_id, header)

    async def websocket(self, websocket: WebSocket, context: RequestContext) -> None:
        """AgentCore's `/ws`: a customer's conversation with the replies it did not ask for pushed
        (agentcore_apps.ws documents the protocol and its close codes)."""
        await serve_customer(self._services, self._bindings, self.receivers, websocket)

    async def _receive(self, payload: Any, request: Request, secret: str) -> Response:
        """`{"action": "receive", ...}`: the session's customer-visible turns after a cursor, waited for
        (agentcore_apps.receive). Same key rules as a turn; another tenant's or agent's session is 404."""
        receive, agent_id = parse_receive(payload, request.scope.get(_SCOPE_AGENT))
        grant = await self.authenticate(secret, agent_id)
        header = request.headers.get(SESSION_HEADER)
        await self._bindings.load(grant.tenant_id, agent_id, header)
        session_id = receive_session(self._bindings.memory, grant.tenant_id, agent_id, header, receive)
        with self.receivers.slot(grant.tenant_id):
            page = await wait_for_feed(
                self._services, grant.tenant_id, agent_id, session_id, receive.after, receive.wait_seconds
            )
        return JSONResponse(page_body(page), headers={"Cache-Control": "no-store"})

    async def authenticate(self, secret: str, agent_id: str) -> KeyGrant:
        """The key's grant for this agent: from memory on the loop when verified moments ago, else asked
        of the store in a worker thread (KeyService decides 401/403/404 and spends the rate limit)."""
        grant = self._keys.authenticate_cached(secret, agent_id)
        if grant is None:
            grant = await anyio.to_thread.run_sync(self._authenticate, secret, agent_id)
        return grant

    async def _sse(
        self,
        first: str | TurnResult,
        events: AsyncIterator[str | TurnResult],
        tenant_id: str,
        agent_id: str,
        header: str | None,
    ) -> AsyncIterator[dict[str, Any]]:
        """`{"type": "delta", "text"}` events, then one `{"type": "final", ...the JSON reply}`.

        A failure after the stream began can only be reported inside it: `{"type": "error",
        "status", "error", "message"}`, the same body a status-code answer would have had.
        """
        item = first
        try:
            while True:
                if isinstance(item, TurnResult):
                    await self._bindings.remember(tenant_id, agent_id, header, item.session_id)
                    yield {"type": "final", **result_body(item)}
                else:
                    yield {"type": "delta", "text": item}
                try:
                    item = await anext(events)
                except StopAsyncIteration:
                    return
        except OratioError as exc:
            yield {"type": "error", "status": exc.http_status, **exc.to_dict()}
        except Exception:
            logger.exception("streamed turn failed")
            yield {"type": "error", "status": 500, **_INTERNAL}
        finally:
            await _close(events)

    def _authenticate(self, secret: str, agent_id: str) -> KeyGrant:
        # 404 for an agent the key's tenant lacks, 403 for another agent's key: KeyService decides.
        return self._keys.authenticate_for_agent(secret, agent_id)


def wants_stream(accept: str | None) -> bool:
    """SSE when the client accepts `text/event-stream` and not `application/json` (JSON wins a tie)."""
    types = {part.split(";")[0].strip().lower() for part in (accept or "").split(",")}
    return "text/event-stream" in types and "application/json" not in types


async def _close(events: AsyncIterator[Any]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()


def result_body(result: TurnResult) -> dict[str, Any]:
    """The JSON reply of a turn: `{session_id, runtime_session_id, reply, sources, handoff, ended, status}`."""
    body = result.model_dump(mode="json")
    body["runtime_session_id"] = runtime_session_id(result.session_id)
    return body


class RuntimeGuard:
    """ASGI middleware in front of the AgentCore app: body limit, JSON check, per-agent path, SSE headers."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self._app = app
        self._max = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        root = scope.get("root_path", "")
        path: str = scope["path"]
        route = path[len(root) :] if root and path.startswith(root) else path
        matched = _AGENT_PATH.match(route)
        if matched is not None:
            target = root + "/invocations"
            scope = {**scope, "path": target, "raw_path": target.encode(), _SCOPE_AGENT: matched.group(1)}
        if scope["method"] != "POST" or not (matched or route in ("/invocations", "/invocations/")):
            await self._app(scope, receive, send)
            return
        body = await self._read_body(scope, receive, send)
        if body is None:
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def send_with_headers(message: Message) -> None:
            extra: dict[str, str] | None = scope.get(_SCOPE_HEADERS)
            if message["type"] == "http.response.start" and extra:
                headers = [(k, v) for k, v in message.get("headers", []) if k.decode().lower() not in _lower(extra)]
                headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self._app(scope, replay, send_with_headers)

    async def _read_body(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """The whole body, or None after answering 413/422 (nothing past the limit is read)."""
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self._max:
            await _answer(scope, send, error_response(PayloadTooLarge.of(self._max, "send a shorter message")))
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self._max:
                await _answer(scope, send, error_response(PayloadTooLarge.of(self._max, "send a shorter message")))
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = _json_problem(body)
        if problem is not None:
            await _answer(scope, send, error_response(InvalidInput(problem)))
            return None
        return body


def _json_problem(body: bytes) -> str | None:
    """Why the body is not JSON we take (nested too deeply included), or None.

    Checked here so the answer is Oratio's 422, not AgentCore's 400, and so AgentCore's own parse
    never meets a body deep enough to exhaust the interpreter's recursion (a plain-text 500).
    """
    try:
        parse_json(body)
    except InvalidInput as exc:
        return exc.message
    return None


def _lower(headers: dict[str, str]) -> set[str]:
    return {k.lower() for k in headers}


async def _answer(scope: Scope, send: Send, response: Response) -> None:
    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    await response(scope, nothing, send)


_http_error = json_http_errors("no such endpoint: POST /invocations or /agents/{agent_id}/invocations, GET /ping")


@asynccontextmanager
async def _stop_worker_loop_on_exit(app: Any) -> AsyncIterator[None]:
    """Stop AgentCore's worker loop at shutdown, if anything started it, so a stopped server leaves no idle
    thread behind (Oratio's entrypoint does not use it: `_ServingLoopApp`)."""
    yield
    loop = getattr(app, "_worker_loop", None)
    if loop is not None and loop.is_running():
        loop.call_soon_threadsafe(loop.stop)
