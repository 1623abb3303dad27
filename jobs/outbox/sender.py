"""The outbox sender: the only code that sends anything to Telegram.

One loop claims due notifications in small batches (what the global token bucket can send
within `horizon_s`, one per chat, chats still cooling down excluded), marks them SENDING in one
UPDATE and starts one task per message. Each task waits for its tokens, calls the Bot API
through `jobs.outbox.transport` and settles the outcome:

- sent: buffered, written in one transaction every `flush_s` (SENDING until then);
- 429: all sending pauses for `retry_after`, the message is retried (not a failed attempt);
- 403: the chat is unreachable: its user is marked blocked_bot, its queue skipped;
- 400: FAILED with Telegram's description, never retried ("not modified" counts as sent);
- network, 5xx, timeouts: retried with exponential backoff and jitter, FAILED after
  `max_attempts` with an ops alert (`on_exhausted`).

Just before sending, each claimed batch is screened against its recipients' entitlement now
(`services.outbox.audience`): a row whose audience no longer holds is swapped for what the
user gets now, or SKIPPED with the reason recorded.

Start-up puts rows left SENDING by a crash back to PENDING (`recovered`): at-least-once, with
duplicates bounded by the messages in flight at the crash. `stop()` is graceful: no new claims,
in-flight sends finish, results are flushed; a graceful stop never duplicates.

The claim loop and each message's attempt are here; rate limiting is in `jobs.outbox.pacing`,
the Bot API calls in `jobs.outbox.delivery`, result handling in `jobs.outbox.results` (mixins
of `Sender`).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter

from core import clock
from jobs.outbox.delivery import DeliveryMixin
from jobs.outbox.pacing import PacingMixin, Ticket
from jobs.outbox.results import ExhaustedHook, ResultsMixin
from jobs.outbox.transport import (
    ChatLimiter,
    Delivered,
    SenderLimits,
    TokenBucket,
    Verdict,
    classify,
)
from services import business_metrics
from services.outbox import audience as outbox_audience
from services.outbox import notifications
from services.outbox.notifications import Claimed, SentResult

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SenderConfig:
    limits: SenderLimits = field(default_factory=SenderLimits)
    max_in_flight: int = 64
    claim_batch: int = 16  # most rows claimed per cycle: a burst ramps up instead of stampeding
    poll_s: float = 0.5  # idle re-check when nobody calls wake()
    cycle_s: float = 0.02  # least time between two claims
    horizon_s: float = 0.1  # claim what the global bucket can send within this
    flush_s: float = 0.05  # how often sent results are written
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 300.0
    max_attempts: int = 8


class Sender(PacingMixin, DeliveryMixin, ResultsMixin):
    """Drains the outbox within Telegram's limits. `start()`, `wake()`, `stop()`."""

    def __init__(
        self,
        bot: Bot,
        config: SenderConfig | None = None,
        *,
        on_exhausted: ExhaustedHook | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.bot = bot
        self.config = config or SenderConfig()
        self.on_exhausted = on_exhausted
        self.counters: Counter[str] = Counter()
        self.recovered = 0  # rows found SENDING at start: the possible duplicates of a crash
        self._clock = clock
        self._rng = rng
        now = clock()
        limits = self.config.limits
        # Empty at start: after a quick restart Telegram may still count our last second.
        self._global = TokenBucket(limits.global_per_s, limits.global_burst, now, tokens=0.0)
        self._chats = ChatLimiter(limits)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._generation = 0
        self._paused_until = 0.0
        self._in_flight: dict[int, asyncio.Task[None]] = {}  # chat id -> its one send
        self._results: list[SentResult] = []
        self._chart_ids: dict[int, str] = {}
        self._chart_locks: dict[int, asyncio.Lock] = {}
        self._retries: list[float] = []  # heap: monotonic times our scheduled retries fall due
        self._next_chat = math.inf  # when the first cooling chat may send again
        self._last_cycle = -math.inf
        self._loops: list[asyncio.Task[None]] = []
        self._writes: set[asyncio.Future[Any]] = set()

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        """Recover rows a crash left SENDING, then start the claim and flush loops."""
        self.recovered = await notifications.recover_in_flight()
        if self.recovered:
            log.warning("outbox: re-queued in-flight rows", extra={"count": self.recovered})
        self._loops = [
            asyncio.create_task(self._run(), name="outbox-claim"),
            asyncio.create_task(self._flush_loop(), name="outbox-flush"),
        ]

    def wake(self) -> None:
        """Something was queued: claim now instead of at the next poll."""
        self._wake.set()

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Graceful: stop claiming, let in-flight sends finish, write every result."""
        self._stopping.set()
        self._wake.set()
        if self._loops:
            await asyncio.wait([self._loops[0]], timeout=timeout_s)
        tasks = list(self._in_flight.values())
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
        await self._flush()
        await self._cancel(self._loops + list(self._in_flight.values()))
        await asyncio.gather(*self._writes, return_exceptions=True)

    async def abort(self) -> int:
        """Die like a killed process: cancel everything, write nothing. Returns sends cut."""
        cut = len(self._in_flight)
        await self._cancel(self._loops + list(self._in_flight.values()))
        await asyncio.gather(*self._writes, return_exceptions=True)  # a kill is between writes
        self._results.clear()
        return cut

    @staticmethod
    async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _db(self, operation: Awaitable[T]) -> T:
        """Run a queue operation to completion even if this task is cancelled.

        Cancelling Tortoise inside `in_transaction().__aenter__` leaks SQLite's connection
        lock (every later query hangs), and a half-settled send would stay SENDING; so the
        operation runs in its own task, and `stop`/`abort` wait for those tasks.
        """
        task = asyncio.ensure_future(operation)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        return await asyncio.shield(task)

    @property
    def in_flight(self) -> int:
        """Sends started and not settled yet (one per chat at most)."""
        return len(self._in_flight)

    # -- the claim loop -----------------------------------------------------------------------
    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                started = await self._cycle()
            except Exception:
                log.exception("outbox: claim failed; retrying at the next poll")
                started = 0
                self._last_cycle = self._clock() + self.config.poll_s
            await self._rest(started)

    async def _cycle(self) -> int:
        self._wake.clear()  # anything queued from here on is seen by this claim or wakes the next
        now = self._clock()
        self._last_cycle = now
        budget = self._budget(now)
        if budget <= 0:
            return 0
        cooling = self._chats.cooling(now)
        self._next_chat = now + min(cooling.values(), default=math.inf)
        exclude = cooling.keys() | self._in_flight.keys()
        due = await self._db(notifications.claim_due(_utcnow(), budget, exclude))
        picked: dict[int, Claimed] = {}
        for item in due:
            picked.setdefault(item.chat_id, item)
        if not picked:
            return 0
        screened = await self._db(outbox_audience.screen(list(picked.values())))
        self.counters["screened_out"] += screened.skipped
        self.counters["swapped"] += screened.swapped + screened.deferred
        if not screened.send:
            self._wake.set()  # the chats' next rows may be due: claim again at once
            return 0
        await self._db(notifications.mark_sending([item.id for item in screened.send]))
        now = self._clock()
        for item in screened.send:
            ticket = Ticket(now + self._global.reserve(now), self._generation)
            task = asyncio.create_task(self._send(item, ticket))
            self._in_flight[item.chat_id] = task
        return len(picked)

    async def _rest(self, started: int) -> None:
        """Sleep until there may be work: a wake, a due retry, a cooled chat, a token, a poll."""
        cfg = self.config
        now = self._clock()
        if started:
            await self._sleep(cfg.cycle_s)
            return
        while self._retries and self._retries[0] <= now:
            heapq.heappop(self._retries)
        next_retry = self._retries[0] if self._retries else math.inf
        moments = [now + cfg.poll_s, next_retry, self._next_chat, self._paused_until]
        if self._global.tokens_at(now) < 1:
            moments.append(now + self._global.wait_s(now))
        deadline = min((m for m in moments if m > now), default=now)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=deadline - now)
        await self._sleep(self._last_cycle + cfg.cycle_s - self._clock())

    # -- one message ----------------------------------------------------------------------------
    async def _send(self, item: Claimed, ticket: Ticket | None) -> None:
        try:
            await self._attempt(item, ticket)
        except Exception as exc:
            log.exception("outbox: could not settle a notification", extra={"id": item.id})
            await self._requeue_after_bug(item, exc)
        finally:
            self._in_flight.pop(item.chat_id, None)
            self._wake.set()

    async def _attempt(self, item: Claimed, ticket: Ticket | None) -> None:
        while True:
            ticket = await self._pace(item.chat_id, ticket)
            if ticket is None:  # stopping during a 429 pause: back to the queue
                pause_s = max(0.0, self._paused_until - self._clock())
                retry = notifications.schedule_retry(
                    item.id,
                    _utcnow() + timedelta(seconds=pause_s),
                    "stopped during a rate-limit pause",
                    count_attempt=False,
                )
                await self._db(retry)
                return
            outcome = await self._call(item)
            ticket = None
            if isinstance(outcome, TelegramRetryAfter):
                self._pause(outcome.retry_after, item)
                business_metrics.message_result("rate_limited")
                continue
            if isinstance(outcome, Exception):
                verdict = classify(outcome)
                if verdict is not Verdict.SENT:
                    await self._settle_error(item, outcome, verdict)
                    return
                outcome = Delivered(item.target_message_id)
            self.counters["sent"] += 1
            self._results.append(SentResult(item.id, outcome.message_id, _utcnow()))
            return

    async def _call(self, item: Claimed) -> Delivered | Exception:
        """One Bot API call; its global reservation ends and the chat's token is taken here."""
        try:
            return await self._deliver(item)
        except Exception as exc:
            return exc
        finally:
            now = self._clock()
            self._global.release(now)
            self._chats.take(item.chat_id, now)


def _utcnow() -> datetime:
    return clock.now()
