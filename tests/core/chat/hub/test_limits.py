"""Rate, slots and the wrong-passphrase throttle, on a clock the test moves."""

from __future__ import annotations

import pytest

from core.chat.hub.limits import FailureThrottle, IpSlots, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=20, burst=10, clock=clock)
    assert [bucket.take() for _ in range(11)] == [True] * 10 + [False]
    clock.now += 0.05  # one frame's worth at 20/s
    assert bucket.take()
    assert not bucket.take()
    clock.now += 10  # idle: refills to the burst, no further
    assert sum(bucket.take() for _ in range(30)) == 10


def test_bucket_sustains_exactly_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=20, burst=1, clock=clock)
    allowed = 0
    for _ in range(200):  # 10 s of attempts at 20 per second
        clock.now += 0.05
        allowed += bucket.take()
    assert allowed == 200
    for _ in range(200):  # 5 s of attempts at 40 per second
        clock.now += 0.025
        allowed += bucket.take()
    assert allowed == 300


def test_bucket_says_how_long_until_the_next_token() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=20, burst=2, clock=clock)
    assert bucket.delay() == 0.0
    assert bucket.take()
    assert bucket.take()
    assert bucket.delay() == pytest.approx(0.05)
    assert bucket.delay() == pytest.approx(0.05)  # asking spends nothing
    clock.now += 0.03
    assert bucket.delay() == pytest.approx(0.02)
    clock.now += 0.02
    assert bucket.delay() == 0.0
    assert bucket.take()


def test_slots_per_address() -> None:
    slots = IpSlots(2)
    assert slots.acquire("a")
    assert slots.acquire("a")
    assert not slots.acquire("a")
    assert slots.acquire("b")
    slots.release("a")
    assert slots.acquire("a")
    assert slots.total() == 3
    for _ in range(3):
        slots.release("a")
    assert slots.count("a") == 0  # never negative


def test_throttle_forgets_after_a_minute() -> None:
    clock = FakeClock()
    throttle = FailureThrottle(3, clock=clock)
    for _ in range(3):
        assert not throttle.blocked("a")
        throttle.failed("a")
    assert throttle.blocked("a")
    assert not throttle.blocked("b")
    clock.now += 61
    assert not throttle.blocked("a")
