"""What the sender records about each message: `ResultWriter`.

Sent results are buffered and written in one transaction per flush (SENDING until then);
an error is settled at once by its verdict: the chat unreachable (its queue skipped), a
permanent failure, a retry with backoff, or retries exhausted (FAILED and an ops alert).
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from core import clock
from jobs.outbox.shield import Shield
from jobs.outbox.verdicts import Judgement, Verdict, describe
from services import business_metrics
from services.outbox import notifications
from services.outbox.notifications import Claimed, SentResult

log = logging.getLogger("jobs.outbox.sender")  # the sender's one logger, whichever module logs
ExhaustedHook = Callable[[Claimed, str], Awaitable[Any]]


class ResultWriter:
    """Writes results to the queue and counts them in `business_metrics` once written.

    `retry_times` are the monotonic times the retries it scheduled fall due (a heap), so the
    sender knows when to look at the queue again.
    """

    def __init__(
        self,
        shield: Shield,
        clock: Callable[[], float],
        *,
        max_attempts: int = 8,
        backoff_base_s: float = 1.0,
        backoff_cap_s: float = 300.0,
        on_exhausted: ExhaustedHook | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.on_exhausted = on_exhausted
        self._shield = shield
        self._clock = clock
        self._rng = rng
        self._sent: list[SentResult] = []
        self.retry_times: list[float] = []

    def backoff_s(self, attempt: int) -> float:
        """base * 2^(attempt-1), capped, times a jitter factor in [0.5, 1.0) ("equal jitter")."""
        delay = min(self.backoff_cap_s, self.backoff_base_s * 2.0 ** max(0, attempt - 1))
        return delay * (0.5 + self._rng() / 2)

    def next_retry(self) -> float:
        """When the earliest retry still ahead falls due (inf: none)."""
        now = self._clock()
        while self.retry_times and self.retry_times[0] <= now:
            heapq.heappop(self.retry_times)
        return self.retry_times[0] if self.retry_times else float("inf")

    # -- sent ---------------------------------------------------------------------------------
    def sent(self, result: SentResult) -> None:
        """Buffer a delivery; `flush()` writes it."""
        self._sent.append(result)

    async def flush(self) -> int:
        """Write buffered results in one transaction; on failure keep them for the next try.
        Returns how many were written."""
        if not self._sent:
            return 0
        batch, self._sent = self._sent, []
        try:
            await self._shield.run(notifications.mark_sent(batch))
        except Exception:
            log.exception("outbox: could not record sent notifications; will retry")
            self._sent[:0] = batch
            return 0
        business_metrics.message_result("sent", len(batch))
        return len(batch)

    def discard(self) -> None:
        """Forget what was not written (a killed process loses its buffer)."""
        self._sent.clear()

    # -- errors -------------------------------------------------------------------------------
    async def settle(self, item: Claimed, judged: Judgement) -> str:
        """Record a failed call by its verdict (not SENT or RETRY_AFTER); returns the result
        counted: unreachable, failed, exhausted or retried."""
        error = judged.error
        extra = {"id": item.id, "chat_id": item.chat_id, "kind": item.kind, "error": error}
        if judged.verdict is Verdict.UNREACHABLE:
            skipped = await self._shield.run(
                notifications.chat_unreachable(item.id, item.chat_id, item.user_id, error)
            )
            business_metrics.message_result("unreachable")
            log.info("outbox: chat unreachable, queue skipped", extra=extra | {"n": skipped})
            return "unreachable"
        if judged.verdict is Verdict.PERMANENT:
            await self._shield.run(notifications.mark_failed(item.id, error))
            business_metrics.message_result("failed")
            log.warning("outbox: rejected by Telegram", extra=extra)
            return "failed"
        if item.attempts >= self.max_attempts:
            await self._exhausted(item, error, extra)
            return "exhausted"
        delay = self.backoff_s(item.attempts)
        await self._shield.run(
            notifications.schedule_retry(item.id, _utcnow() + timedelta(seconds=delay), error)
        )
        business_metrics.message_result("retried")
        heapq.heappush(self.retry_times, self._clock() + delay)
        log.info("outbox: will retry", extra=extra | {"delay_s": round(delay, 3)})
        return "retried"

    async def _exhausted(self, item: Claimed, error: str, extra: dict[str, Any]) -> None:
        failure = f"gave up after {item.attempts}: {error}"
        await self._shield.run(notifications.mark_failed(item.id, failure))
        business_metrics.message_result("exhausted")
        log.error("outbox: retries exhausted", extra=extra)
        if self.on_exhausted is not None:
            try:
                await self.on_exhausted(item, error)
            except Exception:
                log.exception("outbox: the exhausted-retries hook failed", extra=extra)

    async def requeue_after_bug(self, item: Claimed, exc: Exception) -> None:
        """Best effort: back to PENDING with backoff; if the database is down too, the row
        stays SENDING until the next start recovers it."""
        at = _utcnow() + timedelta(seconds=self.backoff_s(item.attempts))
        business_metrics.message_result("error")
        with contextlib.suppress(Exception):
            await self._shield.run(notifications.schedule_retry(item.id, at, describe(exc)))

    async def requeue_paused(self, item: Claimed, pause_s: float) -> None:
        """Stopping during a 429 pause: back to the queue after it, not a failed attempt."""
        retry = notifications.schedule_retry(
            item.id,
            _utcnow() + timedelta(seconds=pause_s),
            "stopped during a rate-limit pause",
            count_attempt=False,
        )
        await self._shield.run(retry)


def _utcnow() -> datetime:
    return clock.now()
