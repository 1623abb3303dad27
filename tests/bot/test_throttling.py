from middlewares.throttling import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill_at_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate_per_s=2.0, burst=3, clock=clock)
    assert [buckets.take(1)[0] for _ in range(3)] == [True, True, True]
    assert buckets.take(1) == (False, True)  # first excess: warn once
    assert buckets.take(1) == (False, False)  # later excess: silent
    clock.now += 0.5  # one token back at 2/s
    assert buckets.take(1) == (True, False)
    assert buckets.take(1) == (False, False)  # still the same burst: no second warning


def test_users_are_independent() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate_per_s=1.0, burst=1, clock=clock)
    assert buckets.take(1)[0]
    assert not buckets.take(1)[0]
    assert buckets.take(2)[0]


def test_warning_again_after_recovery() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate_per_s=1.0, burst=2, clock=clock)
    buckets.take(1), buckets.take(1)
    assert buckets.take(1) == (False, True)
    clock.now += 10  # fully refilled
    buckets.take(1), buckets.take(1)
    assert buckets.take(1) == (False, True)


def test_memory_is_bounded() -> None:
    buckets = TokenBuckets(rate_per_s=1.0, burst=1, clock=Clock(), max_keys=100)
    for user in range(1000):
        buckets.take(user)
    assert len(buckets._buckets) == 100
