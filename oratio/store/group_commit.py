"""Group commit: concurrent writes under one key are committed together, by one of the waiting callers.

Why: the DynamoDB event log gives each tenant's events their order with one head counter item per
tenant, and every append is a transaction that moves it. Appends of one tenant therefore run one at a
time, each a round trip (read the head, then the transaction), and writers that collide retry. Under
load that single item caps a tenant's event throughput at about one event per round trip. Batching the
appends waiting at that moment into one transaction (the head moves by k, k events are put) keeps every
guarantee of the log (seqs contiguous, a batch visible all at once, so "seen N" still means nothing
below N appears later) and turns the cap into up to `max_batch` events per round trip.

How: the first caller for a key becomes the leader. It takes up to `max_batch` waiting items (its own
first), commits them, hands each caller its result, and promotes the next waiting caller (if any) to
lead the next batch, so no thread commits other callers' work forever. Items of one caller are
submitted one after the other, so a session's events keep their order: a batch keeps submission order.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
U = TypeVar("U")


@dataclass
class _Slot(Generic[T, U]):
    item: T
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    result: U | None = None
    error: Exception | None = None


class GroupCommit(Generic[T, U]):
    """`submit(key, item)` returns `commit(key, items)`'s result for `item`, items of one key batched."""

    def __init__(self, commit: Callable[[str, list[T]], list[U]], max_batch: int) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._commit = commit
        self._max = max_batch
        self._lock = threading.Lock()
        self._queues: dict[str, deque[_Slot[T, U]]] = {}
        self.batches = 0
        """Commits made (for tests and benchmarks: fewer than items means batching happened)."""

    def submit(self, key: str, item: T) -> U:
        slot: _Slot[T, U] = _Slot(item)
        with self._lock:
            queue = self._queues.get(key)
            if queue is None:
                queue = self._queues[key] = deque()
                slot.lead = True  # nobody is committing this key: we do
            queue.append(slot)
        if not slot.lead:
            slot.done.wait()  # served by a leader, or promoted to lead the next batch
        if slot.lead:
            self._lead(key)
        if slot.error is not None:
            raise slot.error
        assert slot.result is not None
        return slot.result

    def _lead(self, key: str) -> None:
        with self._lock:
            queue = self._queues[key]
            batch = [queue.popleft() for _ in range(min(self._max, len(queue)))]
        try:
            results = self._commit(key, [slot.item for slot in batch])
        except Exception as exc:  # every caller of the batch gets the commit's error, raised in its own thread
            for slot in batch:
                slot.error = exc
        else:
            for slot, result in zip(batch, results, strict=True):
                slot.result = result
        with self._lock:
            self.batches += 1
            if queue:
                queue[0].lead = True
                queue[0].done.set()
            else:
                del self._queues[key]
        for slot in batch:
            slot.lead = False
            slot.done.set()


__all__ = ["GroupCommit"]
