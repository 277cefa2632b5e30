"""How often and how many at once an agent's tools may be called: per tool, per tenant.

A model in a loop (or a customer who found a way to make it loop) must not turn an agent into a
traffic generator against the admin's API, nor let one tenant's slow endpoint hold every worker.
Three bounds, each answered with a refusal the model can relay ("too many requests, try in a
minute"), never with a wait that would stall the turn:

* calls per minute per tool (tenant, agent, tool): a token bucket, `calls_per_minute` at once,
  refilled continuously;
* calls in flight per tenant;
* calls in flight per tool.

The counts live in this process (a deployment of N processes allows N times as much); platform-wide
limits belong with the shared rate store (issue 23).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from oratio.auth.rate_limit import TokenBucketLimiter
from oratio.errors import RateLimited


@dataclass(frozen=True)
class ToolLimitSettings:
    calls_per_minute: float = 60.0
    concurrency_per_tenant: int = 8
    concurrency_per_tool: int = 4


class ToolLease:
    """One admitted call; `release` (or leaving the `with` block) frees its concurrency slots once."""

    def __init__(self, limits: ToolLimits, tenant_key: str, tool_key: str) -> None:
        self._limits = limits
        self._keys = (tenant_key, tool_key)
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
    """Admits a call or says why not (`admit` returns a lease or a refusal message). Thread-safe."""

    def __init__(self, settings: ToolLimitSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._rate = TokenBucketLimiter(
            rate_per_minute=settings.calls_per_minute, burst=max(1, math.floor(settings.calls_per_minute)), clock=clock
        )
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    def admit(self, tenant_id: str, agent_id: str, tool: str) -> ToolLease | str:
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
            try:
                self._rate.check(tool_key)
            except RateLimited as limited:
                wait = max(1, math.ceil(limited.retry_after or 1))
                return (
                    f"{tool} may be called at most {self._settings.calls_per_minute:g} times a minute; "
                    f"ask the customer to try again in {wait} seconds"
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


__all__ = ["ToolLease", "ToolLimitSettings", "ToolLimits"]
