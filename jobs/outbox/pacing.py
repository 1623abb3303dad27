"""The sender's rate limiting: tickets on the global token bucket, each chat's turn, the
claim budget, and the global pause after a 429. A mixin of `jobs.outbox.sender.Sender`, whose
`__init__` sets the state declared here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobs.outbox.transport import ChatLimiter, TokenBucket
from services.outbox.notifications import Claimed

if TYPE_CHECKING:
    from jobs.outbox.sender import SenderConfig

log = logging.getLogger("jobs.outbox.sender")  # the sender's one logger, whichever module logs


@dataclass(frozen=True, slots=True)
class Ticket:
    at: float  # monotonic time the global token may be used
    generation: int  # the pause generation it was taken in; a newer pause voids it


class PacingMixin:
    """When `Sender` may claim and send: `_budget`, `_pace`, `_pause`, `_sleep`."""

    config: SenderConfig
    counters: Counter[str]
    _clock: Callable[[], float]
    _global: TokenBucket
    _chats: ChatLimiter
    _stopping: asyncio.Event
    _generation: int
    _paused_until: float
    _in_flight: dict[int, asyncio.Task[None]]

    def _budget(self, now: float) -> int:
        cfg = self.config
        if now < self._paused_until:
            return 0
        free = min(cfg.max_in_flight - len(self._in_flight), cfg.claim_batch)
        return min(free, math.floor(self._global.tokens_at(now + cfg.horizon_s)))

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0 and not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _pace(self, chat_id: int, ticket: Ticket | None) -> Ticket | None:
        """Wait for a global token and the chat's turn; None if stopping during a 429 pause."""
        while True:
            if ticket is None:
                while self._clock() < self._paused_until:
                    if self._stopping.is_set():
                        return None
                    await self._sleep(self._paused_until - self._clock())
                while not self._global.has_room():  # noqa: ASYNC110 - rare, after a 429 only
                    await asyncio.sleep(1 / self._global.rate_per_s)
                now = self._clock()
                ticket = Ticket(now + self._global.reserve(now), self._generation)
            now = self._clock()
            if (wait := max(ticket.at - now, self._chats.wait_s(chat_id, now))) > 0:
                await asyncio.sleep(wait)
            if ticket.generation == self._generation:
                return ticket
            # A 429 pause began meanwhile: queue again behind it.
            self._global.release(self._clock())
            ticket = None

    def _pause(self, retry_after: int, item: Claimed) -> None:
        self.counters["throttled_429"] += 1
        until = self._clock() + retry_after
        log.warning(
            "outbox: rate limited, pausing all sends",
            extra={"retry_after": retry_after, "chat_id": item.chat_id},
        )
        if until > self._paused_until:
            self._paused_until = until
            self._generation += 1
            self._global.drain(until)
