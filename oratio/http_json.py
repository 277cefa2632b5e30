"""JSON in and out of every HTTP and WebSocket door: bounded parsing, error bodies, close reasons.

Door-neutral (no door imports it back), so the MCP app, the runtime, the dashboard and the voice
bridge share one answer to hostile input:

* `parse_json`: a tenant's JSON, nested at most `MAX_JSON_DEPTH` levels. Python's parser recurses
  once per level, so a body of a few KB of `[` raised RecursionError, which every door turned into
  a plain-text 500. Here that is an `InvalidInput` (422 JSON / close 1008) like any other bad JSON.
* `error_response`: an `OratioError` as its JSON body, with Retry-After on 429 and WWW-Authenticate
  on 401.
* `close_reason`: a WebSocket close reason cut to the protocol's 123 bytes of UTF-8 on a character
  boundary. A longer reason (easily reached by echoing a non-ASCII field name) makes the server's
  close fail, and the client sees the connection drop without any close frame.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse

from oratio.errors import InvalidInput, OratioError, RateLimited, Unauthenticated

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
    if isinstance(exc, RateLimited):
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
