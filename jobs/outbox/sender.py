"""The outbox sender: the only code that sends anything to Telegram.

One loop claims due notifications in small batches (what the global token bucket can send
within `horizon_s`, one per chat, chats still cooling down excluded), marks them SENDING in one
UPDATE and starts one task per message. Each task waits for its turn, calls the Bot API and
settles the outcome:

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

`Sender` holds the claim loop and each message's attempt, and composes its collaborators:
`Pacer` (Telegram's limits, `jobs.outbox.pacing`), `Delivery` (the Bot API calls,
`jobs.outbox.delivery`), `ResultClassifier` (exception -> verdict, `jobs.outbox.verdicts`) and
`ResultWriter` (results into the queue, `jobs.outbox.results`). `Sender.build` wires them.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from aiogram import Bot

from core import clock
from jobs.outbox.buckets import SenderLimits
from jobs.outbox.delivery import Delivered, Delivery
from jobs.outbox.pacing import LoopTime, Pacer, Ticket, TimeSource
from jobs.outbox.results import ExhaustedHook, ResultWriter
from jobs.outbox.shield import Shield
from jobs.outbox.verdicts import ResultClassifier, Verdict
from services import business_metrics
from services.outbox import audience as outbox_audience
from services.outbox import notifications
from services.outbox.notifications import Claimed, SentResult

log = logging.getLogger(__name__)


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


class Sender:
    """Drains the outbox within Telegram's limits. `start()`, `wake()`, `stop()`."""

    def __init__(
        self,
        config: SenderConfig,
        *,
        pacer: Pacer,
        delivery: Delivery,
        classifier: ResultClassifier,
        writer: ResultWriter,
        shield: Shield,
        clock: TimeSource,
    ) -> None:
        self.config = config
        self.counters: Counter[str] = Counter()
        self.recovered = 0  # rows found SENDING at start: the possible duplicates of a crash
        self._pacer = pacer
        self._delivery = delivery
        self._classifier = classifier
        self._writer = writer
        self._shield = shield  # the queue operations of all of them, awaited by stop/abort
        self._time = clock
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._in_flight: dict[int, asyncio.Task[None]] = {}  # chat id -> its one send
        self._last_cycle = -math.inf
        self._loops: list[asyncio.Task[None]] = []

    @classmethod
    def build(
        cls,
        bot: Bot,
        config: SenderConfig | None = None,
        *,
        on_exhausted: ExhaustedHook | None = None,
        clock: TimeSource | None = None,
        rng: Callable[[], float] = random.random,
    ) -> Sender:
        """A sender for `bot` with the collaborators its config describes."""
        cfg = config or SenderConfig()
        clock = clock or LoopTime()
        shield = Shield()
        writer = ResultWriter(
            shield,
            clock.monotonic,
            max_attempts=cfg.max_attempts,
            backoff_base_s=cfg.backoff_base_s,
            backoff_cap_s=cfg.backoff_cap_s,
            on_exhausted=on_exhausted,
            rng=rng,
        )
        return cls(
            cfg,
            pacer=Pacer(cfg.limits, clock, horizon_s=cfg.horizon_s),
            delivery=Delivery(bot, shield),
            classifier=ResultClassifier(),
            writer=writer,
            shield=shield,
            clock=clock,
        )

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
        self._pacer.stop()
        self._wake.set()
        if self._loops:
            await asyncio.wait([self._loops[0]], timeout=timeout_s)
        tasks = list(self._in_flight.values())
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
        await self._writer.flush()
        await self._cancel(self._loops + list(self._in_flight.values()))
        await self._shield.join()

    async def abort(self) -> int:
        """Die like a killed process: cancel everything, write nothing. Returns sends cut."""
        cut = len(self._in_flight)
        await self._cancel(self._loops + list(self._in_flight.values()))
        await self._shield.join()  # a kill is between writes
        self._writer.discard()
        return cut

    @staticmethod
    async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

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
                self._last_cycle = self._time.monotonic() + self.config.poll_s
            await self._rest(started)

    async def _cycle(self) -> int:
        self._wake.clear()  # anything queued from here on is seen by this claim or wakes the next
        cfg = self.config
        self._last_cycle = self._time.monotonic()
        free = min(cfg.max_in_flight - len(self._in_flight), cfg.claim_batch)
        budget = self._pacer.budget(free)
        if budget <= 0:
            return 0
        exclude = self._pacer.cooling().keys() | self._in_flight.keys()
        due = await self._shield.run(notifications.claim_due(_utcnow(), budget, exclude))
        picked: dict[int, Claimed] = {}
        for item in due:
            picked.setdefault(item.chat_id, item)
        if not picked:
            return 0
        screened = await self._shield.run(outbox_audience.screen(list(picked.values())))
        self.counters["screened_out"] += screened.skipped
        self.counters["swapped"] += screened.swapped + screened.deferred
        if not screened.send:
            self._wake.set()  # the chats' next rows may be due: claim again at once
            return 0
        await self._shield.run(notifications.mark_sending([item.id for item in screened.send]))
        for item in screened.send:
            task = asyncio.create_task(self._send(item, self._pacer.ticket()))
            self._in_flight[item.chat_id] = task
        return len(picked)

    async def _rest(self, started: int) -> None:
        """Sleep until there may be work: a wake, a due retry, a cooled chat, a token, a poll."""
        cfg = self.config
        if started:
            await self._time.sleep(cfg.cycle_s, self._stopping)
            return
        now = self._time.monotonic()
        moments = [now + cfg.poll_s, self._writer.next_retry(), *self._pacer.moments()]
        deadline = min((m for m in moments if m > now), default=now)
        await self._time.sleep(deadline - now, self._wake)
        pause = self._last_cycle + cfg.cycle_s - self._time.monotonic()
        await self._time.sleep(pause, self._stopping)

    async def _flush_loop(self) -> None:
        while True:
            await self._time.sleep(self.config.flush_s)
            if await self._writer.flush():
                self._wake.set()  # notifications depending on these may be due now

    # -- one message ----------------------------------------------------------------------------
    async def _send(self, item: Claimed, ticket: Ticket | None) -> None:
        try:
            await self._attempt(item, ticket)
        except Exception as exc:
            log.exception("outbox: could not settle a notification", extra={"id": item.id})
            await self._writer.requeue_after_bug(item, exc)
        finally:
            self._in_flight.pop(item.chat_id, None)
            self._wake.set()

    async def _attempt(self, item: Claimed, ticket: Ticket | None) -> None:
        while True:
            ticket = await self._pacer.pace(item.chat_id, ticket)
            if ticket is None:  # stopping during a 429 pause: back to the queue
                await self._writer.requeue_paused(item, self._pacer.pause_left_s())
                return
            outcome = await self._call(item)
            ticket = None
            if isinstance(outcome, Delivered):
                self._sent(item, outcome)
                return
            judged = self._classifier.judge(outcome)
            if judged.verdict is Verdict.RETRY_AFTER:
                self._throttled(judged.retry_after, item)
                continue
            if judged.verdict is Verdict.SENT:
                self._sent(item, Delivered(item.target_message_id))
                return
            self.counters[await self._writer.settle(item, judged)] += 1
            return

    async def _call(self, item: Claimed) -> Delivered | Exception:
        """One Bot API call; the pacer learns when Telegram answered."""
        try:
            return await self._delivery(item)
        except Exception as exc:
            return exc
        finally:
            self._pacer.answered(item.chat_id)

    def _sent(self, item: Claimed, delivered: Delivered) -> None:
        self.counters["sent"] += 1
        self._writer.sent(SentResult(item.id, delivered.message_id, _utcnow()))

    def _throttled(self, retry_after: int, item: Claimed) -> None:
        self.counters["throttled_429"] += 1
        log.warning(
            "outbox: rate limited, pausing all sends",
            extra={"retry_after": retry_after, "chat_id": item.chat_id},
        )
        self._pacer.pause(retry_after)
        business_metrics.message_result("rate_limited")


def _utcnow() -> datetime:
    return clock.now()
