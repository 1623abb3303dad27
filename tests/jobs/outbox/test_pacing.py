"""The sender's pacing rules against the emulator's rate limiter, on a simulated clock.

Requests take random time to reach "Telegram" and to be answered; the rules the sender uses
(a global reservation held until the answer, a chat's token taken at the answer) must never
meet a 429 from a server bucket with the same rates, however the delays fall.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from dataclasses import dataclass, field

import pytest

from jobs.outbox.transport import ChatLimiter, SenderLimits, TokenBucket
from tgemu.errors import ApiError
from tgemu.limits import RateLimiter

RATE = 50.0
PER_CHAT = 5.0


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Simulation:
    rng: random.Random
    max_delay_s: float
    clock: Clock = field(default_factory=Clock)
    events: list[tuple[float, int, str, int]] = field(default_factory=list)
    seq: itertools.count[int] = field(default_factory=itertools.count)
    refused: int = 0
    answered: int = 0

    def __post_init__(self) -> None:
        self.server = RateLimiter(clock=self.clock)
        self.server.configure(enabled=True, global_per_s=RATE, per_chat_per_s=PER_CHAT, burst=1)
        limits = SenderLimits(
            global_per_s=RATE, global_burst=RATE * 0.9, per_chat_per_s=PER_CHAT, per_chat_burst=1
        )
        self.bucket = TokenBucket(RATE, limits.global_burst, 0.0, tokens=0.0)
        self.chats = ChatLimiter(limits)

    def at(self, when: float, kind: str, chat: int) -> None:
        heapq.heappush(self.events, (when, next(self.seq), kind, chat))

    def delay(self) -> float:
        return self.rng.uniform(0.0005, self.max_delay_s)

    def run(self, queue: list[int], horizon_s: float = 0.05, max_in_flight: int = 64) -> float:
        busy: set[int] = set()
        self.at(0.0, "claim", 0)
        while self.events:
            now, _, kind, chat = heapq.heappop(self.events)
            self.clock.now = now
            if kind == "claim":
                budget = min(
                    max_in_flight - len(busy), math.floor(self.bucket.tokens_at(now + horizon_s))
                )
                for candidate in list(queue):
                    if budget <= 0:
                        break
                    if candidate in busy or self.chats.wait_s(candidate, now) > 0:
                        continue
                    queue.remove(candidate)
                    busy.add(candidate)
                    budget -= 1
                    self.at(
                        now + self.bucket.reserve(now) + self.delay() / 10, "depart", candidate
                    )
                if queue or busy:
                    self.at(now + 0.005, "claim", 0)
            elif kind == "depart":
                if (wait := self.chats.wait_s(chat, now)) > 0:
                    self.at(now + wait, "depart", chat)
                else:
                    self.at(now + self.delay(), "arrive", chat)
            elif kind == "arrive":
                try:
                    self.server.acquire(chat, is_group=False)
                except ApiError:
                    self.refused += 1
                self.at(now + self.delay(), "answer", chat)
            else:
                self.bucket.release(now)
                self.chats.take(chat, now)
                busy.discard(chat)
                self.answered += 1
        return self.clock.now


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("max_delay_s", [0.002, 0.3])
def test_random_latency_never_meets_a_429(seed: int, max_delay_s: float) -> None:
    rng = random.Random(seed)
    queue = [rng.randrange(60) for _ in range(600)]  # several messages for most chats
    sim = Simulation(rng, max_delay_s)
    elapsed = sim.run(queue)
    assert (sim.refused, sim.answered) == (0, 600)
    assert elapsed < 600 / RATE * 1.25 + 2 * max_delay_s  # and still close to the rate


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


def test_groups_have_a_per_minute_bucket_too() -> None:
    chats = ChatLimiter(SenderLimits(per_chat_per_s=1.0, per_group_per_min=20.0, group_burst=2))
    for second in (0.0, 1.0):
        assert chats.wait_s(-100, second) == 0.0
        chats.take(-100, second)
    assert chats.wait_s(-100, 2.0) == pytest.approx(1.0)  # 20/min: one every 3 s
    assert chats.cooling(2.0) == {-100: pytest.approx(1.0)}
    assert chats.cooling(100.0) == {}
