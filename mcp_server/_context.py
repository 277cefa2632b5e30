"""What every tool module gets: the platform, the caller's principal, and error translation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import anyio.to_thread
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import ValidationError

from mcp_server._principal import PrincipalSource
from oratio.errors import OratioError
from oratio.platform import Platform
from schemas import Principal

T = TypeVar("T")


@dataclass(frozen=True)
class ToolContext:
    platform: Platform
    principals: PrincipalSource

    def principal(self) -> Principal:
        principal = self.principals.current()
        if principal is None:
            raise ToolError("not authenticated: connect with an admin token")
        return principal

    async def call(self, fn: Callable[[], T]) -> T:
        """Run a (blocking) service call in a worker thread, with core errors as tool errors."""
        with tool_errors():
            return await anyio.to_thread.run_sync(fn)


@contextmanager
def tool_errors() -> Iterator[None]:
    """Core and validation errors become MCP tool errors whose text a model can act on.

    Anything else is a bug: the SDK reports it as a bare failure and logs the traceback.
    """
    try:
        yield
    except OratioError as exc:
        raise ToolError(f"{exc.code}: {exc.message}") from None
    except ValidationError as exc:
        raise ToolError(f"invalid_input: {describe_validation_error(exc)}") from None


def describe_validation_error(exc: ValidationError, most: int = 5) -> str:
    """`field.path: message; ...` for the first few problems, without echoing the input values."""
    problems = []
    for error in exc.errors()[:most]:
        where = ".".join(str(part) for part in error["loc"]) or "input"
        problems.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - most
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")
