"""Token-bucket rate limiting on a fake clock: burst, refusal with retry_after, refill, eviction."""

from __future__ import annotations

import threading

import pytest

from oratio.auth.rate_limit import RateLimiter, TokenBucketLimiter
from oratio.errors import ConfigError, RateLimited


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _refusal(limiter: TokenBucketLimiter, key: str) -> RateLimited:
    with pytest.raises(RateLimited) as info:
        limiter.check(key)
    return info.value


def test_is_a_rate_limiter() -> None:
    limiter: RateLimiter = TokenBucketLimiter(60, 1, FakeClock())
    limiter.check("k")


def test_burst_then_refusal_with_exact_retry_after() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(rate_per_minute=60, burst=3, clock=clock)
    for _ in range(3):
        limiter.check("k")
    refused = _refusal(limiter, "k")
    assert refused.retry_after == pytest.approx(1.0)
    assert refused.message == "rate limit of 60 requests per minute exceeded; retry in 1 s"
    assert refused.retry_after_header == "1"
    assert refused.http_status == 429


def test_retry_after_counts_down_and_refusals_consume_nothing() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(rate_per_minute=30, burst=1, clock=clock)
    limiter.check("k")
    assert _refusal(limiter, "k").retry_after == pytest.approx(2.0)
    assert "retry in 2 s" in _refusal(limiter, "k").message
    clock.advance(0.5)
    assert _refusal(limiter, "k").retry_after == pytest.approx(1.5)
    clock.advance(1.5)
    limiter.check("k")


def test_refill_over_time_is_capped_at_burst() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(rate_per_minute=60, burst=2, clock=clock)
    limiter.check("k")
    limiter.check("k")
    clock.advance(1.0)
    limiter.check("k")
    _refusal(limiter, "k")
    clock.advance(3600)
    limiter.check("k")
    limiter.check("k")
    _refusal(limiter, "k")


@pytest.mark.parametrize("rate", [7, 0.5, 1000, 13.3])
def test_waiting_exactly_retry_after_is_enough(rate: float) -> None:
    clock = FakeClock(start=123456.789)
    limiter = TokenBucketLimiter(rate_per_minute=rate, burst=1, clock=clock)
    for _ in range(20):
        limiter.check("k")
        refused = _refusal(limiter, "k")
        assert refused.retry_after == pytest.approx(60 / rate)
        clock.advance(refused.retry_after)


def test_fractional_rate_in_message() -> None:
    limiter = TokenBucketLimiter(rate_per_minute=0.5, burst=1, clock=FakeClock())
    limiter.check("k")
    assert _refusal(limiter, "k").message == "rate limit of 0.5 requests per minute exceeded; retry in 120 s"


def test_keys_are_independent() -> None:
    limiter = TokenBucketLimiter(rate_per_minute=60, burst=1, clock=FakeClock())
    limiter.check("tenant-a")
    _refusal(limiter, "tenant-a")
    limiter.check("tenant-b")
    _refusal(limiter, "tenant-b")


def test_clock_stepping_back_does_not_break_the_bucket() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(rate_per_minute=60, burst=1, clock=clock)
    limiter.check("k")
    clock.advance(-10)
    assert _refusal(limiter, "k").retry_after == pytest.approx(1.0)


def test_idle_full_buckets_are_evicted() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(rate_per_minute=60, burst=5, clock=clock)
    for index in range(100):
        limiter.check(f"k{index}")
    assert len(limiter) == 100
    clock.advance(0.9)  # each used one token of five; a second refills it
    limiter.check("fresh")
    assert len(limiter) == 101
    clock.advance(0.1)
    limiter.check("fresh")
    assert len(limiter) == 1


def test_buckets_that_are_not_full_are_kept() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(rate_per_minute=60, burst=5, clock=clock)
    for _ in range(5):
        limiter.check("busy")
    clock.advance(2.0)
    limiter.check("other")
    assert len(limiter) == 2
    clock.advance(2.9)
    limiter.check("other")
    assert len(limiter) == 2
    clock.advance(0.2)
    limiter.check("other")
    assert len(limiter) == 1


def test_max_keys_evicts_the_least_recently_used() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(rate_per_minute=1, burst=1, clock=clock, max_keys=3)
    for key in ("a", "b", "c"):
        limiter.check(key)
    _refusal(limiter, "a")  # touching "a" makes "b" the least recently used
    limiter.check("d")
    assert len(limiter) == 3
    _refusal(limiter, "a")
    _refusal(limiter, "c")
    limiter.check("b")  # evicted, so it starts again with a full bucket


def test_concurrent_checks_allow_exactly_burst() -> None:
    burst, threads = 10, 64
    limiter = TokenBucketLimiter(rate_per_minute=1, burst=burst, clock=FakeClock())
    barrier = threading.Barrier(threads)
    allowed: list[bool] = []
    allowed_lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        try:
            limiter.check("shared")
            outcome = True
        except RateLimited:
            outcome = False
        with allowed_lock:
            allowed.append(outcome)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=10)
    assert len(allowed) == threads
    assert allowed.count(True) == burst


@pytest.mark.parametrize(
    ("rate", "burst", "max_keys"),
    [(0, 1, 10), (-1, 1, 10), (float("inf"), 1, 10), (float("nan"), 1, 10), (60, 0, 10), (60, 1, 0)],
)
def test_bad_configuration_is_a_config_error(rate: float, burst: int, max_keys: int) -> None:
    with pytest.raises(ConfigError):
        TokenBucketLimiter(rate, burst, FakeClock(), max_keys=max_keys)
