"""When the sender may claim and send: `Pacer`, over the buckets of `jobs.outbox.buckets`.

The pacer owns the global token bucket, each chat's buckets, and the global pause after a
429. It reads time and sleeps only through an injected `TimeSource`, so a test drives it on
simulated time without sleeping.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from typing import Protocol

from jobs.outbox.buckets import ChatLimiter, SenderLimits, TokenBucket


class TimeSource(Protocol):
    """Monotonic seconds and sleeping on them."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float, until: asyncio.Event | None = None) -> None:
        """Sleep `seconds`, or less if `until` is set meanwhile (at once if it is set)."""


class LoopTime:
    """The real `TimeSource`: `time.monotonic` and asyncio's timers."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float, until: asyncio.Event | None = None) -> None:
        if until is None:
            await asyncio.sleep(seconds)
        elif seconds > 0 and not until.is_set():
            try:
                await asyncio.wait_for(until.wait(), timeout=seconds)
            except TimeoutError:
                return


@dataclass(frozen=True, slots=True)
class Ticket:
    at: float  # monotonic time the global token may be used
    generation: int  # the pause generation it was taken in; a newer pause voids it


class Pacer:
    """Telegram's limits for the sender: how much to claim, when each message may go.

    A message's life: `ticket()` when it is claimed (a global reservation), `pace()` before
    the call (its ticket's time and its chat's turn), `answered()` when Telegram answered
    (the reservation ends, the chat's token is taken). `pause()` after a 429 stops everyone
    for `retry_after` and voids the tickets taken before it.
    """

    def __init__(self, limits: SenderLimits, clock: TimeSource, *, horizon_s: float = 0.1) -> None:
        self.limits = limits
        self.horizon_s = horizon_s  # claim what the global bucket can send within this
        self._time = clock
        now = clock.monotonic()
        # Empty at start: after a quick restart Telegram may still count our last second.
        self._global = TokenBucket(limits.global_per_s, limits.global_burst, now, tokens=0.0)
        self._chats = ChatLimiter(limits)
        self._generation = 0
        self._paused_until = 0.0
        self._next_chat = math.inf  # when the first cooling chat may send again
        self._stopping = asyncio.Event()

    # -- claiming ---------------------------------------------------------------------------
    def budget(self, free: int) -> int:
        """How many of `free` send slots to claim now: none during a pause, else what the
        global bucket can send within the horizon."""
        now = self._time.monotonic()
        if now < self._paused_until:
            return 0
        return min(free, math.floor(self._global.tokens_at(now + self.horizon_s)))

    def cooling(self) -> dict[int, float]:
        """Chats that may not be sent to yet -> seconds to wait (not to be claimed)."""
        now = self._time.monotonic()
        waits = self._chats.cooling(now)
        self._next_chat = now + min(waits.values(), default=math.inf)
        return waits

    def ticket(self) -> Ticket:
        """A global reservation for a claimed message."""
        now = self._time.monotonic()
        return Ticket(now + self._global.reserve(now), self._generation)

    def moments(self) -> list[float]:
        """Monotonic times when more may be claimed: the pause's end, the first cooled chat
        (as of the last `cooling()`), the next global token if none is left."""
        now = self._time.monotonic()
        moments = [self._next_chat, self._paused_until]
        if self._global.tokens_at(now) < 1:
            moments.append(now + self._global.wait_s(now))
        return moments

    # -- sending ----------------------------------------------------------------------------
    async def pace(self, chat_id: int, ticket: Ticket | None) -> Ticket | None:
        """Wait for a global token and the chat's turn; None if stopping during a 429 pause.

        `ticket` is the one taken at the claim, or None for a retry after a 429.
        """
        clock = self._time
        while True:
            if ticket is None:
                while clock.monotonic() < self._paused_until:
                    if self._stopping.is_set():
                        return None
                    await clock.sleep(self._paused_until - clock.monotonic(), self._stopping)
                while not self._global.has_room():  # rare, after a 429 only
                    await clock.sleep(1 / self._global.rate_per_s)
                ticket = self.ticket()
            now = clock.monotonic()
            if (wait := max(ticket.at - now, self._chats.wait_s(chat_id, now))) > 0:
                await clock.sleep(wait)
            if ticket.generation == self._generation:
                return ticket
            # A 429 pause began meanwhile: queue again behind it.
            self._global.release(clock.monotonic())
            ticket = None

    def answered(self, chat_id: int) -> None:
        """Telegram answered (or the call failed): the reservation ends, the chat's turn is
        used."""
        now = self._time.monotonic()
        self._global.release(now)
        self._chats.take(chat_id, now)

    def pause(self, retry_after: float) -> None:
        """A 429: nothing is sent for `retry_after` seconds; tickets taken until now are void."""
        until = self._time.monotonic() + retry_after
        if until > self._paused_until:
            self._paused_until = until
            self._generation += 1
            self._global.drain(until)

    def pause_left_s(self) -> float:
        """Seconds until the current 429 pause ends (0: none)."""
        return max(0.0, self._paused_until - self._time.monotonic())

    def stop(self) -> None:
        """Stop waiting out pauses: `pace()` returns None during one from now on."""
        self._stopping.set()
