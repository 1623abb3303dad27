"""The outbox sender: the only code that sends anything to Telegram.

One loop claims due notifications in small batches (what the global token bucket can send
within `horizon_s`, one per chat, chats still cooling down excluded), marks them SENDING in one
UPDATE and starts one task per message. Each task waits for its tokens, calls the Bot API
through `bot.transport` and settles the outcome:

- sent: buffered, written in one transaction every `flush_s` (SENDING until then);
- 429: all sending pauses for `retry_after`, the message is retried (not a failed attempt);
- 403: the chat is unreachable: its user is marked blocked_bot, its queue skipped;
- 400: FAILED with Telegram's description, never retried ("not modified" counts as sent);
- network, 5xx, timeouts: retried with exponential backoff and jitter, FAILED after
  `max_attempts` with an ops alert (`on_exhausted`).

Start-up puts rows left SENDING by a crash back to PENDING (`recovered`): at-least-once, with
duplicates bounded by the messages in flight at the crash. `stop()` is graceful: no new claims,
in-flight sends finish, results are flushed; a graceful stop never duplicates.
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
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter
from aiogram.types import FSInputFile

from bot.transport import (
    ChatLimiter,
    Delivered,
    SenderLimits,
    TokenBucket,
    Verdict,
    classify,
    deliver,
    describe,
)
from services import notifications
from services.notifications import Claimed, SentResult

log = logging.getLogger(__name__)
T = TypeVar("T")
ExhaustedHook = Callable[[Claimed, str], Awaitable[Any]]


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


@dataclass(frozen=True, slots=True)
class _Ticket:
    at: float  # monotonic time the global token may be used
    generation: int  # the pause generation it was taken in; a newer pause voids it


class Sender:
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

    def _budget(self, now: float) -> int:
        cfg = self.config
        if now < self._paused_until:
            return 0
        free = min(cfg.max_in_flight - len(self._in_flight), cfg.claim_batch)
        return min(free, math.floor(self._global.tokens_at(now + cfg.horizon_s)))

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
        await self._db(notifications.mark_sending([item.id for item in picked.values()]))
        now = self._clock()
        for item in picked.values():
            ticket = _Ticket(now + self._global.reserve(now), self._generation)
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

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0 and not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    # -- one message ----------------------------------------------------------------------------
    async def _send(self, item: Claimed, ticket: _Ticket | None) -> None:
        try:
            await self._attempt(item, ticket)
        except Exception as exc:
            log.exception("outbox: could not settle a notification", extra={"id": item.id})
            await self._requeue_after_bug(item, exc)
        finally:
            self._in_flight.pop(item.chat_id, None)
            self._wake.set()

    async def _attempt(self, item: Claimed, ticket: _Ticket | None) -> None:
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

    async def _requeue_after_bug(self, item: Claimed, exc: Exception) -> None:
        """Best effort: back to PENDING with backoff; if the database is down too, the row
        stays SENDING until the next start recovers it."""
        at = _utcnow() + timedelta(seconds=self.backoff_s(item.attempts))
        with contextlib.suppress(Exception):
            await self._db(notifications.schedule_retry(item.id, at, describe(exc)))

    async def _pace(self, chat_id: int, ticket: _Ticket | None) -> _Ticket | None:
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
                ticket = _Ticket(now + self._global.reserve(now), self._generation)
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

    async def _deliver(self, item: Claimed) -> Delivered:
        source = item.payload.get("photo") or {}
        if item.payload["method"] == "send_photo" and "chart_id" in source:
            return await self._deliver_chart(item, int(source["chart_id"]))
        return await deliver(
            self.bot,
            item.chat_id,
            item.payload,
            reply_to=item.reply_to_message_id,
            target=item.target_message_id,
        )

    async def _deliver_chart(self, item: Claimed, chart_id: int) -> Delivered:
        """Upload a chart once; concurrent sends of it wait for the first upload's file_id."""
        if (file_id := self._chart_ids.get(chart_id)) is None:
            lock = self._chart_locks.setdefault(chart_id, asyncio.Lock())
            async with lock:
                if (file_id := self._chart_ids.get(chart_id)) is None:
                    chart = await self._db(notifications.chart_ref(chart_id))
                    if chart.file_id is None:
                        delivered = await self._send_photo(item, FSInputFile(chart.path))
                        if delivered.photo_file_id:
                            self._chart_ids[chart_id] = delivered.photo_file_id
                            await self._remember_chart(chart_id, delivered.photo_file_id)
                        return delivered
                    file_id = self._chart_ids[chart_id] = chart.file_id
        return await self._send_photo(item, file_id)

    async def _remember_chart(self, chart_id: int, file_id: str) -> None:
        """The photo is delivered whatever happens here: a failure must not cause a resend."""
        try:
            await self._db(notifications.remember_chart_file_id(chart_id, file_id))
        except Exception:
            log.warning("outbox: could not store a chart's file_id", exc_info=True)

    async def _send_photo(self, item: Claimed, photo: FSInputFile | str) -> Delivered:
        return await deliver(
            self.bot, item.chat_id, item.payload, reply_to=item.reply_to_message_id, photo=photo
        )

    async def _settle_error(self, item: Claimed, exc: Exception, verdict: Verdict) -> None:
        error = describe(exc)
        extra = {"id": item.id, "chat_id": item.chat_id, "kind": item.kind, "error": error}
        if verdict is Verdict.UNREACHABLE:
            self.counters["unreachable"] += 1
            skipped = await self._db(
                notifications.chat_unreachable(item.id, item.chat_id, item.user_id, error)
            )
            log.info("outbox: chat unreachable, queue skipped", extra=extra | {"n": skipped})
        elif verdict is Verdict.PERMANENT:
            self.counters["failed"] += 1
            await self._db(notifications.mark_failed(item.id, error))
            log.warning("outbox: rejected by Telegram", extra=extra)
        elif item.attempts >= self.config.max_attempts:
            self.counters["exhausted"] += 1
            await self._db(
                notifications.mark_failed(item.id, f"gave up after {item.attempts}: {error}")
            )
            log.error("outbox: retries exhausted", extra=extra)
            if self.on_exhausted is not None:
                try:
                    await self.on_exhausted(item, error)
                except Exception:
                    log.exception("outbox: the exhausted-retries hook failed", extra=extra)
        else:
            self.counters["retried"] += 1
            delay = self.backoff_s(item.attempts)
            await self._db(
                notifications.schedule_retry(item.id, _utcnow() + timedelta(seconds=delay), error)
            )
            heapq.heappush(self._retries, self._clock() + delay)
            log.info("outbox: will retry", extra=extra | {"delay_s": round(delay, 3)})

    def backoff_s(self, attempt: int) -> float:
        """base * 2^(attempt-1), capped, times a jitter factor in [0.5, 1.0) ("equal jitter")."""
        cfg = self.config
        delay = min(cfg.backoff_cap_s, cfg.backoff_base_s * 2.0 ** max(0, attempt - 1))
        return delay * (0.5 + self._rng() / 2)

    # -- bookkeeping ----------------------------------------------------------------------------
    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.flush_s)
            await self._flush()

    async def _flush(self) -> None:
        """Write buffered results in one transaction; on failure keep them for the next try."""
        if not self._results:
            return
        batch, self._results = self._results, []
        try:
            await self._db(notifications.mark_sent(batch))
        except Exception:
            log.exception("outbox: could not record sent notifications; will retry")
            self._results[:0] = batch
            return
        self._wake.set()  # notifications depending on these may be due now


def _utcnow() -> datetime:
    return datetime.now(UTC)
