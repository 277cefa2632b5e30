"""Iterate an async generator from one task of its own, whoever consumes it and from where.

AgentCore's app runs the handler coroutine in one task and drains the async generator it returns
in another (its SSE bridge), and the runtime reads the first item in the handler, to answer a
refusal with a status code. So a turn's generator was resumed in two tasks, that is two
contextvars contexts. The agent (strands) opens OpenTelemetry spans inside that generator, and a
span attached in one context cannot be detached in another: every streamed turn logged
"Failed to detach context" with a traceback. Driving the generator from a single task keeps every
attach and detach in the same context; the consumer only reads a queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TypeVar

T = TypeVar("T")


class _End:
    """The source is exhausted (or failed with `error`)."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


async def in_one_task(source: AsyncIterator[T]) -> AsyncGenerator[T, None]:
    """`source`'s items, produced by one task on the running loop; closing this closes `source`.

    The queue holds one item, so the producer runs at most one item ahead of the reader (the
    same back-pressure as iterating `source` directly). An exception of `source` is raised here.
    """
    items: asyncio.Queue[T | _End] = asyncio.Queue(maxsize=1)

    async def produce() -> None:
        try:
            async for item in source:
                await items.put(item)
        except Exception as exc:
            await items.put(_End(exc))
            return
        finally:
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()
        await items.put(_End())

    task = asyncio.get_running_loop().create_task(produce())
    try:
        while True:
            item = await items.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        # A reader that stops early (a client gone) ends the producer; its own `finally` closes
        # `source`. Not awaited: this may run inside the reader's cancellation, which must go on.
        task.cancel()
