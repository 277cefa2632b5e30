"""What the agent page's route modules share: the admin of a request, its path ids and JSON body, checked.

The same rules as `dashboard.api` (whose helpers are private to it): authenticate first, so a bad token
is a 401 whatever else is wrong; every path id and body is validated with explicit limits and a bad
one is a 422 naming the field; bodies are read up to a bound, never buffered whole; blocking service
calls run in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request

from dashboard.credentials import SignInAccess, request_principal
from oratio.errors import InvalidInput
from oratio.http_json import PayloadTooLarge, parse_json
from schemas import Identifier, Principal

__all__ = ["body", "dump", "path_id", "path_int", "principal", "run"]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
_identifier: TypeAdapter[str] = TypeAdapter(Identifier)


async def principal(access: SignInAccess, request: Request, public_url: str | None) -> Principal:
    """The admin of the bearer token or the signed-in person (CSRF-checked on every write)."""
    return await request_principal(access, request, public_url)


async def run(call: Callable[[], T]) -> T:
    return await anyio.to_thread.run_sync(call)


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


def path_id(request: Request, name: str) -> str:
    value = str(request.path_params[name])
    try:
        return _identifier.validate_python(value)
    except ValidationError:
        raise InvalidInput(f"'{value[:80]}' is not a valid id", field=name) from None


def path_int(request: Request, name: str, *, maximum: int = 1_000_000) -> int:
    """A positive whole number from the path (a version): 422 for anything else, never a 500."""
    value = str(request.path_params[name])
    if not value.isascii() or not value.isdigit() or len(value) > 7 or not 1 <= int(value) <= maximum:
        raise InvalidInput(f"'{value[:20]}' is not a version number (1 to {maximum})", field=name)
    return int(value)


async def body(request: Request, model: type[M], max_bytes: int) -> M:
    """The request's JSON as `model`, read up to `max_bytes` (a larger body is refused, not buffered)."""
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > max_bytes:
            raise PayloadTooLarge.of(max_bytes, "this request takes a small JSON body")
    data = parse_json(bytes(raw)) if raw else {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise InvalidInput(f"{field or 'input'}: {first['msg']}", field=field) from None
