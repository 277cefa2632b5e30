"""How every Oratio tool is registered: a title, all four behaviour hints, and a clean description.

An assistant shows the title to the admin and decides from the hints whether to ask before a call
(a destructive one) or retry freely (an idempotent one); a hint left out is read as its cautious
default, so every tool states all four. The description is the function's docstring, dedented
(`inspect.cleandoc`): the SDK sends a docstring as written, with its source indentation.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

F = TypeVar("F", bound=Callable[..., Any])


def reads(title: str) -> ToolAnnotations:
    """A tool that only reads the caller's records: safe to call at any time, any number of times."""
    return ToolAnnotations(
        title=title, readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False
    )


def writes(title: str, *, destructive: bool, idempotent: bool, open_world: bool = False) -> ToolAnnotations:
    """A tool that changes records. `open_world`: it sends the caller's data to a model provider."""
    return ToolAnnotations(
        title=title,
        readOnlyHint=False,
        destructiveHint=destructive,
        idempotentHint=idempotent,
        openWorldHint=open_world,
    )


def tool(server: MCPServer, annotations: ToolAnnotations) -> Callable[[F], F]:
    """Register the decorated function as a tool with these hints, its title and its dedented docstring."""

    def register(fn: F) -> F:
        if not fn.__doc__ or annotations.title is None:
            raise TypeError(f"tool {fn.__name__} needs a docstring and a title")
        server.add_tool(fn, title=annotations.title, description=inspect.cleandoc(fn.__doc__), annotations=annotations)
        return fn

    return register
