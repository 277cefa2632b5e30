"""MCP tool registrations made once per test session: `tool_registrations_once` (the root conftest turns it on).

`build_server` registers every Oratio tool, and the SDK's `Tool.from_function` builds a pydantic model of
each signature and two JSON schemas from it: ~0.3 s of CPU per server, paid by every test that builds one
(every MCP client fixture, every `create_app`). The tools are closures over the server's context, so each
server has new function objects, but what the SDK derives from them (argument model, schemas, hints) depends
only on their code and signature. Here the first registration of a given (code, signature, options) is the
SDK's own; later ones are that Tool with the new function, and a copy of its parameters schema.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from mcp.server.mcpserver.tools.base import Tool


@contextmanager
def tool_registrations_once() -> Iterator[None]:
    """While open, `Tool.from_function` derives a tool's metadata once per (code, signature, options)."""
    original = Tool.from_function
    made: dict[tuple[Any, ...], Tool] = {}

    def from_function(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Tool:
        code = getattr(fn, "__code__", None)
        if code is None or args:  # not a plain function, or a call shape this cache does not know
            return original(fn, *args, **kwargs)
        options = tuple(sorted((name, repr(value)) for name, value in kwargs.items()))
        key = (fn.__module__, fn.__qualname__, code, str(inspect.signature(fn)), options)
        first = made.get(key)
        if first is None:
            made[key] = first = original(fn, **kwargs)
        return first.model_copy(update={"fn": fn, "parameters": copy.deepcopy(first.parameters)})

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Tool, "from_function", from_function)
        yield
