"""Rate limits, injected faults and statistics of the emulated Bot API.

Rate limits are token buckets (off by default), modelled on Telegram's published guidance:
about 30 messages/s overall, 1 message/s per private chat and 20 messages/min per group or
channel. Each bucket starts full; its capacity is the burst allowance: `burst` (default 3)
messages for a private chat, one second's worth (30) overall and one minute's worth (20) per
group. Sends and edits both consume a token; a refused call consumes nothing and is answered
with 429 and `retry_after` = whole seconds until the emptiest bucket has a token again (>= 1).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from tgemu.errors import ApiError, default_description, retry_after


@dataclass
class LimitConfig:
    enabled: bool = False
    global_per_s: float = 30.0
    per_chat_per_s: float = 1.0
    per_group_per_min: float = 20.0
    burst: int = 3


@dataclass
class _Bucket:
    rate_per_s: float
    capacity: float
    tokens: float
    stamp: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate_per_s)
        self.stamp = now

    def wait_s(self) -> float:
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate_per_s


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = LimitConfig()
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def reset(self) -> None:
        self.config = LimitConfig()
        self._buckets.clear()

    def configure(self, **changes: Any) -> LimitConfig:
        self.config = LimitConfig(**{**asdict(self.config), **changes})
        self._buckets.clear()
        return self.config

    def _bucket(self, key: str, rate_per_s: float, capacity: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None or bucket.rate_per_s != rate_per_s:
            bucket = _Bucket(rate_per_s, capacity, capacity, self._clock())
            self._buckets[key] = bucket
        return bucket

    def acquire(self, chat_id: int, is_group: bool) -> None:
        """Take one token from the global and the chat bucket, or raise ApiError 429."""
        cfg = self.config
        if not cfg.enabled:
            return
        if is_group:
            rate = cfg.per_group_per_min / 60
            chat = self._bucket(f"chat:{chat_id}", rate, max(cfg.per_group_per_min, 1))
        else:
            chat = self._bucket(f"chat:{chat_id}", cfg.per_chat_per_s, max(cfg.burst, 1))
        overall = self._bucket("global", cfg.global_per_s, max(cfg.global_per_s, 1))
        now = self._clock()
        buckets = (overall, chat)
        for bucket in buckets:
            bucket.refill(now)
        wait = max(bucket.wait_s() for bucket in buckets)
        if wait > 0:
            raise retry_after(max(1, math.ceil(wait)))
        for bucket in buckets:
            bucket.tokens -= 1


@dataclass
class Fault:
    method: str  # lower-case Bot API method name or "*"
    error_code: int
    times: int = 1  # < 0: until cleared
    chat_id: int | str | None = None
    retry_after: int | None = None
    description: str | None = None

    def matches(self, method: str, chat_id: Any) -> bool:
        if self.times == 0 or self.method not in ("*", method):
            return False
        return self.chat_id is None or str(self.chat_id) == str(chat_id)

    def error(self) -> ApiError:
        retry = self.retry_after if self.error_code == 429 else None
        if self.error_code == 429 and retry is None:
            retry = 1
        text = self.description or default_description(self.error_code, retry)
        return ApiError(self.error_code, text, retry_after=retry)

    def control(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FaultInjector:
    faults: list[Fault] = field(default_factory=list)
    latency_ms: int = 0
    latency_methods: set[str] = field(default_factory=set)  # empty: every method

    def take(self, method: str, chat_id: Any) -> ApiError | None:
        for fault in self.faults:
            if fault.matches(method, chat_id):
                if fault.times > 0:
                    fault.times -= 1
                return fault.error()
        return None

    def latency_s(self, method: str) -> float:
        if not self.latency_ms or (self.latency_methods and method not in self.latency_methods):
            return 0.0
        return self.latency_ms / 1000


@dataclass
class Stats:
    methods: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0
    faults_injected: int = 0
    updates_queued: int = 0
    updates_dropped: int = 0
    updates_delivered: int = 0
    webhook_attempts: int = 0
    webhook_failures: int = 0

    def control(self) -> dict[str, Any]:
        return {
            "methods": dict(self.methods),
            "errors": {str(code): n for code, n in self.errors.items()},
            "retry_after_given": self.errors.get(429, 0),
            "rate_limited": self.rate_limited,
            "faults_injected": self.faults_injected,
            "updates_queued": self.updates_queued,
            "updates_dropped": self.updates_dropped,
            "updates_delivered": self.updates_delivered,
            "webhook_attempts": self.webhook_attempts,
            "webhook_failures": self.webhook_failures,
        }
