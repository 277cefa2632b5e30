"""Per-tool rate and per-tenant / per-tool concurrency: over a limit is a refusal that says what to do."""

from __future__ import annotations

from oratio.actions.limits import ToolLease, ToolLimits, ToolLimitSettings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def admitted(result: ToolLease | str) -> ToolLease:
    assert isinstance(result, ToolLease), result
    return result


def test_a_tool_gets_its_calls_per_minute_then_a_refusal_then_refills() -> None:
    clock = Clock()
    limits = ToolLimits(ToolLimitSettings(calls_per_minute=3), clock)
    for _ in range(3):
        admitted(limits.admit("t1", "a1", "lookup_order")).release()
    refusal = limits.admit("t1", "a1", "lookup_order")
    assert refusal == "lookup_order may be called at most 3 times a minute; ask the customer to try again in 20 seconds"
    admitted(limits.admit("t1", "a1", "start_return")).release()  # another tool has its own allowance
    admitted(limits.admit("t2", "a1", "lookup_order")).release()  # and another tenant
    clock.now += 20
    admitted(limits.admit("t1", "a1", "lookup_order")).release()


def test_concurrency_is_bounded_per_tenant_and_per_tool_and_freed_on_release() -> None:
    limits = ToolLimits(ToolLimitSettings(concurrency_per_tenant=3, concurrency_per_tool=2))
    first, second = admitted(limits.admit("t1", "a1", "x")), admitted(limits.admit("t1", "a1", "x"))
    assert "already running 2 calls" in str(limits.admit("t1", "a1", "x"))
    third = admitted(limits.admit("t1", "a1", "y"))
    assert "too many tool calls are running at once (3)" in str(limits.admit("t1", "a1", "z"))
    admitted(limits.admit("t2", "a1", "x")).release()  # other tenants are not held up
    assert limits.in_flight("t1") == 3
    first.release()
    first.release()  # idempotent: a double release frees one slot, not two
    assert limits.in_flight("t1") == 2
    with admitted(limits.admit("t1", "a1", "x")):
        assert limits.in_flight("t1") == 3
    second.release()
    third.release()
    assert limits.in_flight("t1") == 0 and limits._in_flight == {}
