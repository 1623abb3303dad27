"""The token buckets the pacer is built on."""

from __future__ import annotations

import pytest

from jobs.outbox.buckets import ChatLimiter, SenderLimits, TokenBucket


def test_reservations_leave_one_interval_apart_once_empty() -> None:
    bucket = TokenBucket(10.0, 2, now=0.0)
    waits = [bucket.reserve(0.0) for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.0, 0.1, 0.2])
    assert bucket.tokens_at(0.0) == pytest.approx(-2.0)


def test_outstanding_reservations_hold_capacity_until_released() -> None:
    bucket = TokenBucket(10.0, 3, now=0.0)
    for _ in range(3):
        bucket.reserve(0.0)
    assert bucket.tokens_at(10.0) == 0.0  # refills only up to capacity - outstanding
    assert not bucket.has_room()
    bucket.release(10.0)
    assert bucket.has_room()
    assert bucket.tokens_at(10.0) == 0.0  # releasing adds no tokens by itself...
    assert bucket.tokens_at(10.1) == pytest.approx(1.0)  # ...it lets the bucket refill


def test_drain_pauses_the_bucket() -> None:
    bucket = TokenBucket(10.0, 5, now=0.0)
    bucket.drain(until=3.0)
    assert bucket.wait_s(1.0) == pytest.approx(2.1)


@pytest.mark.parametrize(("rate", "capacity"), [(0.0, 1), (-1.0, 5), (10.0, 0.5)])
def test_a_bucket_that_could_never_send_is_refused(rate: float, capacity: float) -> None:
    with pytest.raises(ValueError, match="rate_per_s > 0"):
        TokenBucket(rate, capacity, now=0.0)


def test_groups_have_a_per_minute_bucket_too() -> None:
    chats = ChatLimiter(SenderLimits(per_chat_per_s=1.0, per_group_per_min=20.0, group_burst=2))
    for second in (0.0, 1.0):
        assert chats.wait_s(-100, second) == 0.0
        chats.take(-100, second)
    assert chats.wait_s(-100, 2.0) == pytest.approx(1.0)  # 20/min: one every 3 s
    assert chats.cooling(2.0) == {-100: pytest.approx(1.0)}
    assert chats.cooling(100.0) == {}
