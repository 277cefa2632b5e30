"""JSON in and out of every HTTP and WebSocket door: bounded parsing, error bodies, close reasons.

Door-neutral (no door imports it back), so the MCP app, the runtime, the dashboard and the voice
bridge share one answer to hostile input:

* `parse_json`: a tenant's JSON, nested at most `MAX_JSON_DEPTH` levels. Python's parser recurses
  once per level, so a body of a few KB of `[` raised RecursionError, which every door turned into
  a plain-text 500. Here that is an `InvalidInput` (422 JSON / close 1008) like any other bad JSON.
* `error_response`: an `OratioError` as its JSON body, with Retry-After on 429 and on a busy session's
  409, and WWW-Authenticate on 401.
* `bearer_token`, `admin_principal`, `handles_errors`, `json_http_errors`: the admin bearer token,
  OratioError -> JSON for a route, and Starlette's own 404/405 as JSON (moved here from
  `oratio_app.web` so that doors need not import the module that assembles them).
* `close_reason`: a WebSocket close reason cut to the protocol's 123 bytes of UTF-8 on a character
  boundary. A longer reason (easily reached by echoing a non-ASCII field name) makes the server's
  close fail, and the client sees the connection drop without any close frame.
* `Closing`, `receive_text`, `close_websocket`, `recheck_admin`: a WebSocket door's bounded read of
  one text frame, its close with a reason, and the periodic re-check of an admin's token (the
  dashboard's live stream and the voice bridge's listen-in do these alike, and carried a copy each).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import anyio.to_thread
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from oratio.errors import InvalidInput, OratioError, RetryLater, Unauthenticated

if TYPE_CHECKING:
    from oratio.services.access import AccessService
    from schemas import Principal

MAX_JSON_DEPTH = 64
"""Deepest nesting (objects and arrays) accepted in a tenant's JSON; Oratio's own messages use < 10."""

CLOSE_REASON_MAX_BYTES = 123
"""RFC 6455 §5.5: a close frame's payload is at most 125 bytes, 2 of them the code."""


class PayloadTooLarge(OratioError):
    """A request body over a door's limit (413); nothing past the limit was read."""

    code = "payload_too_large"
    http_status = 413

    @classmethod
    def of(cls, limit: int, advice: str) -> PayloadTooLarge:
        size = f"{limit // 1024} KiB" if limit < 1024 * 1024 else f"{limit / (1024 * 1024):.1f} MiB"
        return cls(f"the request body is larger than {limit} bytes ({size}); {advice}")


class JsonTooDeep(InvalidInput):
    """The JSON is well-formed but nests deeper than the limit."""


def parse_json(data: bytes | str, *, max_depth: int = MAX_JSON_DEPTH, what: str = "the request body") -> Any:
    """`data` as JSON, or InvalidInput saying why not (not UTF-8, not JSON, nested too deeply).

    Linear in the size of `data`: one parse (whose recursion the interpreter bounds), then one
    walk over the parsed values with an explicit stack that stops at the first value too deep.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text)
    except UnicodeDecodeError:
        raise InvalidInput(f"{what} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{what} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise JsonTooDeep(_too_deep(what, max_depth)) from None
    except ValueError:  # after JSONDecodeError (a subclass): an integer past Python's 4,300-digit conversion limit
        raise InvalidInput(f"{what} has a number with too many digits") from None
    if json_depth(value, stop_after=max_depth) > max_depth:
        raise JsonTooDeep(_too_deep(what, max_depth))
    return value


def json_depth(value: Any, *, stop_after: int) -> int:
    """How deeply `value` nests (a scalar is 0, `[]` is 1), counting no further than `stop_after + 1`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > stop_after:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth) for child in children if isinstance(child, dict | list))
    return deepest


def _too_deep(what: str, max_depth: int) -> str:
    return f"{what} nests objects/arrays more than {max_depth} levels deep"


def error_response(exc: OratioError) -> JSONResponse:
    """The JSON answer for a refusal: `{"error", "message", ...}` with its status and headers."""
    headers: dict[str, str] = {}
    if isinstance(exc, RetryLater):
        headers["Retry-After"] = exc.retry_after_header
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{exc.message}"'
    return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)


def close_reason(reason: str, max_bytes: int = CLOSE_REASON_MAX_BYTES) -> str:
    """`reason` cut to at most `max_bytes` of UTF-8, never inside a character (an ellipsis marks a cut)."""
    encoded = reason.encode("utf-8")
    if len(encoded) <= max_bytes:
        return reason
    ellipsis = "…".encode()
    cut = encoded[: max_bytes - len(ellipsis)]
    return cut.decode("utf-8", errors="ignore") + "…"


class Closing(Exception):
    """Ends a WebSocket with a close code and a reason (already cut to fit a close frame)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = close_reason(reason)

    @classmethod
    def of(cls, exc: OratioError) -> Closing:
        """The close for a refusal: 4000 + its HTTP status, its message as the reason."""
        return cls(4000 + exc.http_status, exc.message)


async def receive_text(websocket: WebSocket, *, max_chars: int, binary_advice: str) -> str:
    """The next text frame, at most `max_chars` characters.

    WebSocketDisconnect when the client has gone; Closing (4422) for a binary frame (`binary_advice`
    says what to send instead) or a longer one, so a client cannot make the door hold or parse more.
    """
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(int(message.get("code", 1000)))
    text = message.get("text")
    if text is None:
        raise Closing.of(InvalidInput(binary_advice))
    if len(text) > max_chars:
        raise Closing.of(InvalidInput(f"messages are limited to {max_chars} characters"))
    return str(text)


async def close_websocket(
    websocket: WebSocket, code: int, reason: str, *, within_s: float, log: logging.Logger, what: str
) -> None:
    """Close with `code` and `reason`, giving up after `within_s` (a client that reads nothing cannot
    hold the close) and saying nothing when the client has already gone."""
    log.info("code=%d reason=%s | %s closed", code, reason, what)
    with anyio.move_on_after(within_s):
        try:
            await websocket.close(code, close_reason(reason))
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass


def bearer_token(request: Request) -> str:
    """The token of an `Authorization: Bearer ...` header, or Unauthenticated."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send an admin token as 'Authorization: Bearer <token>'")
    return token.strip()


class AdminAccess(Protocol):
    """What `admin_principal` needs of a door's services: the admin-token check (a `Platform` has it)."""

    @property
    def access(self) -> AccessService: ...


async def admin_principal(platform: AdminAccess, request: Request) -> Principal:
    """The admin a request's bearer token names (401 without one, 403/401 for a bad one)."""
    token = bearer_token(request)
    return await anyio.to_thread.run_sync(platform.access.admin_principal, token)


async def recheck_admin(platform: AdminAccess, token: str) -> None:
    """Closing (4401) once `token` no longer opens the door: expired, revoked, its admin disabled.

    A long-lived admin socket checks its token again now and then; a refusal that is not about the
    token (rate limited, the store briefly unavailable) keeps the socket open until the next check.
    """
    try:
        await anyio.to_thread.run_sync(platform.access.admin_principal, token)
    except Unauthenticated as exc:
        raise Closing.of(exc) from None
    except OratioError:
        return


def json_http_errors(not_found: str) -> Callable[[Request, Exception], Awaitable[Response]]:
    """A Starlette exception handler answering its own 404/405 as JSON, like every other Oratio refusal.

    `not_found` tells the caller which endpoints the app does serve.
    """

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        message = {404: not_found, 405: f"{request.method} is not allowed here"}.get(exc.status_code, str(exc.detail))
        return JSONResponse({"error": code, "message": message}, status_code=exc.status_code, headers=exc.headers)

    return handler


Handler = Callable[[Request], Awaitable[Response]]


def handles_errors(handler: Handler) -> Handler:
    """`handler`, answering any OratioError it raises with that error's JSON body."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except OratioError as exc:
            return error_response(exc)

    return wrapped
