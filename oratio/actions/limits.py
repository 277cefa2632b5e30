"""How often and how many at once an agent's tools may be called: per tool, per tenant.

A model in a loop (or a customer who found a way to make it loop) must not turn an agent into a
traffic generator against the admin's API, nor let one tenant's slow endpoint hold every worker.
Three bounds, each answered with a refusal the model can relay ("too many requests, try in a
minute"), never with a wait that would stall the turn:

* calls per minute per tool (tenant, agent, tool): a token bucket, `calls_per_minute` at once,
  refilled continuously;
* calls in flight per tenant;
* calls in flight per tool.

The rate is a `RateLimiter` handed in by the platform: per process by default, or the store-backed
limiter every replica shares (ORATIO_RATE_LIMIT_STATE=store, scope `tool_calls`), so N replicas admit the
configured calls per minute, not N times them. The concurrency counts stay in this process: a slot
counted in the store would outlive a replica killed mid-call until a TTL, and a TTL shorter than the
longest call would let a slow call's slot be taken while it still runs (docs/shared-limits-and-duties.md
gives the bound across N replicas: N times each concurrency setting).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from oratio.auth.rate_limit import RateLimiter, TokenBucketLimiter, check_on_loop
from oratio.errors import RateLimited


@dataclass(frozen=True)
class ToolLimitSettings:
    calls_per_minute: float = 60.0
    concurrency_per_tenant: int = 8
    concurrency_per_tool: int = 4


def burst(settings: ToolLimitSettings) -> int:
    """A tool's burst: a minute's calls at once (at least one)."""
    return max(1, math.floor(settings.calls_per_minute))


class ToolLease:
    """One admitted call; `release` (or leaving the `with` block) frees its concurrency slots once."""

    def __init__(self, limits: ToolLimits, tenant_key: str, tool_key: str) -> None:
        self._limits = limits
        self._keys = (tenant_key, tool_key)
        self.tool_key = tool_key
        """The (tenant, agent, tool) key the call's rate is counted under."""
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._limits._release(*self._keys)

    def __enter__(self) -> ToolLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class ToolLimits:
    """Admits a call or says why not (`admit` returns a lease or a refusal message). Thread-safe.

    `rate` replaces the per-process bucket of `calls_per_minute` (the platform passes the shared one when
    ORATIO_RATE_LIMIT_STATE=store); it must have the same rate and a burst of `burst(settings)`.
    """

    def __init__(
        self,
        settings: ToolLimitSettings,
        clock: Callable[[], float] = time.monotonic,
        *,
        rate: RateLimiter | None = None,
    ) -> None:
        self._settings = settings
        self._rate = rate or TokenBucketLimiter(
            rate_per_minute=settings.calls_per_minute, burst=burst(settings), clock=clock
        )
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    async def admit_on_loop(self, tenant_id: str, agent_id: str, tool: str) -> ToolLease | str:
        """`admit` from an event loop: the concurrency slots in place, the rate check where it may block
        (in place for a brief limiter, in a worker thread for one shared in DynamoDB)."""
        admitted = self._reserve(tenant_id, agent_id, tool)
        if isinstance(admitted, str):
            return admitted
        try:
            await check_on_loop(self._rate, admitted.tool_key)
        except BaseException as failed:
            return self._refuse(admitted, tool, failed)
        return admitted

    def admit(self, tenant_id: str, agent_id: str, tool: str) -> ToolLease | str:
        admitted = self._reserve(tenant_id, agent_id, tool)
        if isinstance(admitted, str):
            return admitted
        try:
            self._rate.check(admitted.tool_key)
        except BaseException as failed:
            return self._refuse(admitted, tool, failed)
        return admitted

    def _refuse(self, admitted: ToolLease, tool: str, failed: BaseException) -> str:
        """The slots back whatever stopped the rate check; over the rate is a refusal to tell the model, anything
        else (the shared limiter's store down, a cancellation) goes on up."""
        admitted.release()
        if not isinstance(failed, RateLimited):
            raise failed
        wait = max(1, math.ceil(failed.retry_after or 1))
        return (
            f"{tool} may be called at most {self._settings.calls_per_minute:g} times a minute; "
            f"ask the customer to try again in {wait} seconds"
        )

    def _reserve(self, tenant_id: str, agent_id: str, tool: str) -> ToolLease | str:
        """The call's concurrency slots, taken (a lease) or refused (why); the rate is checked after, outside
        the lock, since a shared limiter's check is a store round trip."""
        tenant_key, tool_key = f"t\x1f{tenant_id}", f"a\x1f{tenant_id}\x1f{agent_id}\x1f{tool}"
        with self._lock:
            if self._in_flight.get(tenant_key, 0) >= self._settings.concurrency_per_tenant:
                return (
                    f"too many tool calls are running at once ({self._settings.concurrency_per_tenant}); "
                    "ask the customer to wait a moment and try again"
                )
            if self._in_flight.get(tool_key, 0) >= self._settings.concurrency_per_tool:
                return (
                    f"{tool} is already running {self._settings.concurrency_per_tool} calls; "
                    "ask the customer to wait a moment and try again"
                )
            self._in_flight[tenant_key] = self._in_flight.get(tenant_key, 0) + 1
            self._in_flight[tool_key] = self._in_flight.get(tool_key, 0) + 1
        return ToolLease(self, tenant_key, tool_key)

    def in_flight(self, tenant_id: str) -> int:
        with self._lock:
            return self._in_flight.get(f"t\x1f{tenant_id}", 0)

    def _release(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                left = self._in_flight.get(key, 0) - 1
                if left > 0:
                    self._in_flight[key] = left
                else:
                    self._in_flight.pop(key, None)  # idle keys hold no memory


__all__ = ["ToolLease", "ToolLimitSettings", "ToolLimits", "burst"]
