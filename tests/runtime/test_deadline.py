"""`agent_run.Deadline`: one timer bounds a whole streamed run (test_failures.py covers a hung model end to end)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import anyio
import pytest

from oratio.runtime.agent_run import Deadline

pytestmark = pytest.mark.anyio

BOUND_S = 5.0


async def _events(count: int, then_hang: bool = False) -> AsyncGenerator[dict[str, Any], None]:
    for n in range(count):
        yield {"data": str(n)}
    if then_hang:
        await asyncio.Event().wait()


async def test_a_stream_that_hangs_ends_in_timeout_error_and_leaves_the_task_uncancelled() -> None:
    task = asyncio.current_task()
    assert task is not None
    events = _events(2, then_hang=True)
    deadline = Deadline(asyncio.get_running_loop().time() + 0.01)
    seen = []
    with anyio.fail_after(BOUND_S):
        with pytest.raises(TimeoutError):
            while True:
                seen.append(await deadline.next(events))
    deadline.close()
    await events.aclose()
    assert seen == [{"data": "0"}, {"data": "1"}]
    assert task.cancelling() == 0  # nothing left to cancel whatever the caller awaits next
    await asyncio.sleep(0)  # and it is not cancelled when it next waits


async def test_a_deadline_passing_while_the_caller_holds_the_stream_refuses_the_next_event() -> None:
    events = _events(3)
    loop = asyncio.get_running_loop()
    due = loop.time()
    deadline = Deadline(due)
    assert await deadline.next(events) == {"data": "0"}
    later = asyncio.Event()
    loop.call_at(due + 0.001, later.set)
    with anyio.fail_after(BOUND_S):
        await later.wait()  # the caller does something else; the deadline passes meanwhile, outside the stream
    assert deadline.expired
    with pytest.raises(TimeoutError):
        await deadline.next(events)
    deadline.close()
    await events.aclose()


async def test_a_stream_that_ends_in_time_just_ends() -> None:
    events = _events(2)
    deadline = Deadline(asyncio.get_running_loop().time() + 60)
    got = [await deadline.next(events), await deadline.next(events)]
    with pytest.raises(StopAsyncIteration):
        await deadline.next(events)
    deadline.close()
    assert got == [{"data": "0"}, {"data": "1"}]


async def test_an_outer_cancellation_stays_a_cancellation() -> None:
    started = asyncio.Event()

    async def stream_forever() -> None:
        events = _events(0, then_hang=True)
        deadline = Deadline(asyncio.get_running_loop().time() + 60)
        started.set()
        try:
            await deadline.next(events)
        finally:
            deadline.close()
            await events.aclose()

    with anyio.fail_after(BOUND_S):
        task = asyncio.create_task(stream_forever())
        await started.wait()
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
