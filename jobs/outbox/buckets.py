"""Token buckets for Telegram's limits: about 30 messages/s overall, 1 message/s per chat and
20 messages/min per group or channel (negative chat ids). `jobs.outbox.pacing.Pacer` decides
with them when the sender may claim and send.
"""

from __future__ import annotations

from dataclasses import dataclass


class TokenBucket:
    """A token bucket handing out reservations that count until released.

    `reserve()` takes a token now or later (tokens may go negative: reservations then leave
    exactly 1/rate apart). A reservation also holds a unit of capacity until `release()`, i.e.
    until Telegram has answered, so the bucket never refills behind the back of requests still
    on their way: however late they arrive, a server bucket with the same rate and at least
    our capacity has a token for each of them.
    """

    def __init__(
        self, rate_per_s: float, capacity: float, now: float, tokens: float | None = None
    ) -> None:
        if rate_per_s <= 0 or capacity < 1:
            msg = f"need rate_per_s > 0 and capacity >= 1, got {rate_per_s}, {capacity}"
            raise ValueError(msg)
        self.rate_per_s = rate_per_s
        self.capacity = float(capacity)
        self.tokens = float(capacity if tokens is None else tokens)  # default: full
        self.stamp = now
        self.outstanding = 0  # reservations not released yet

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            limit = self.capacity - self.outstanding
            self.tokens = min(limit, self.tokens + (now - self.stamp) * self.rate_per_s)
            self.stamp = now

    def tokens_at(self, when: float) -> float:
        """Tokens at `when` if nothing more is reserved (negative: reservations queued)."""
        if when < self.stamp:
            return min(self.tokens, 0.0)
        limit = self.capacity - self.outstanding
        return min(limit, self.tokens + (when - self.stamp) * self.rate_per_s)

    def wait_s(self, now: float) -> float:
        """Seconds until a token is free (0: now)."""
        self._refill(now)
        lag = max(0.0, self.stamp - now)
        return lag + max(0.0, (1.0 - self.tokens) / self.rate_per_s)

    def reserve(self, now: float) -> float:
        """Take a token and hold capacity until `release()`; returns the wait before using it."""
        wait = self.wait_s(now)
        self.tokens -= 1.0
        self.outstanding += 1
        return wait

    def release(self, now: float) -> None:
        """The reserved request was answered (or given up): its capacity may refill from now."""
        self._refill(now)  # what accrued until now was capped with it still outstanding
        self.outstanding = max(0, self.outstanding - 1)

    def has_room(self) -> bool:
        """False while every unit of capacity is held by an unanswered request."""
        return self.capacity - self.outstanding >= 1

    def take(self, now: float) -> None:
        """Consume a token at once, without holding capacity (may go negative)."""
        self._refill(now)
        self.tokens -= 1.0

    def drain(self, until: float) -> None:
        """Empty the bucket until `until` (a 429 pause)."""
        self.tokens = 0.0
        self.stamp = max(self.stamp, until)

    def full(self, now: float) -> bool:
        """True when the bucket is back at capacity (nothing to remember about it)."""
        self._refill(now)
        return self.tokens >= self.capacity


@dataclass(frozen=True, slots=True)
class SenderLimits:
    """Telegram's limits as token buckets (rates and bursts); tests and benchmarks scale them."""

    global_per_s: float = 30.0
    global_burst: float = 20.0
    per_chat_per_s: float = 1.0
    per_chat_burst: float = 1.0
    per_group_per_min: float = 20.0
    group_burst: float = 10.0


class ChatLimiter:
    """Per-chat buckets: 1/s for every chat, and 20/min on top for groups and channels.

    A chat's token is taken when Telegram answers (the sender has one request per chat in
    flight), so consecutive messages reach Telegram at least 1/rate apart whatever the latency.
    """

    def __init__(self, limits: SenderLimits) -> None:
        self.limits = limits
        self._chats: dict[int, tuple[TokenBucket, ...]] = {}

    def _buckets(self, chat_id: int, now: float) -> tuple[TokenBucket, ...]:
        buckets = self._chats.get(chat_id)
        if buckets is None:
            lim = self.limits
            buckets = (TokenBucket(lim.per_chat_per_s, lim.per_chat_burst, now),)
            if chat_id < 0:
                buckets += (TokenBucket(lim.per_group_per_min / 60.0, lim.group_burst, now),)
            self._chats[chat_id] = buckets
        return buckets

    def wait_s(self, chat_id: int, now: float) -> float:
        """Seconds until the chat may be sent to."""
        buckets = self._chats.get(chat_id, ())
        return max((b.wait_s(now) for b in buckets), default=0.0)

    def take(self, chat_id: int, now: float) -> None:
        """Telegram answered a request to this chat."""
        for bucket in self._buckets(chat_id, now):
            bucket.take(now)

    def cooling(self, now: float) -> dict[int, float]:
        """Chats that cannot send yet -> seconds to wait; forgets chats whose buckets are full."""
        waits: dict[int, float] = {}
        for chat_id in list(self._chats):
            wait = self.wait_s(chat_id, now)
            if wait > 0:
                waits[chat_id] = wait
            elif all(b.full(now) for b in self._chats[chat_id]):
                del self._chats[chat_id]
        return waits
