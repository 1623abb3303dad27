"""The sender's result handling: sent results buffered and written in batches, errors settled
by their verdict (unreachable chat, permanent failure, retry with backoff, retries exhausted),
and a send that crashed put back in the queue. A mixin of `jobs.outbox.sender.Sender`, whose
`__init__` sets the state declared here.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from core import clock
from jobs.outbox.transport import Verdict, describe
from services import business_metrics
from services.outbox import notifications
from services.outbox.notifications import Claimed, SentResult

if TYPE_CHECKING:
    from jobs.outbox.sender import SenderConfig

log = logging.getLogger("jobs.outbox.sender")  # the sender's one logger, whichever module logs
T = TypeVar("T")
ExhaustedHook = Callable[[Claimed, str], Awaitable[Any]]


class ResultsMixin:
    """What `Sender` does with an outcome: `_settle_error`, `_requeue_after_bug`, `_flush`."""

    config: SenderConfig
    counters: Counter[str]
    on_exhausted: ExhaustedHook | None
    _clock: Callable[[], float]
    _rng: Callable[[], float]
    _wake: asyncio.Event
    _results: list[SentResult]
    _retries: list[float]

    if TYPE_CHECKING:

        async def _db(self, operation: Awaitable[T]) -> T: ...

    async def _requeue_after_bug(self, item: Claimed, exc: Exception) -> None:
        """Best effort: back to PENDING with backoff; if the database is down too, the row
        stays SENDING until the next start recovers it."""
        at = _utcnow() + timedelta(seconds=self.backoff_s(item.attempts))
        business_metrics.message_result("error")
        with contextlib.suppress(Exception):
            await self._db(notifications.schedule_retry(item.id, at, describe(exc)))

    async def _settle_error(self, item: Claimed, exc: Exception, verdict: Verdict) -> None:
        error = describe(exc)
        extra = {"id": item.id, "chat_id": item.chat_id, "kind": item.kind, "error": error}
        if verdict is Verdict.UNREACHABLE:
            self.counters["unreachable"] += 1
            skipped = await self._db(
                notifications.chat_unreachable(item.id, item.chat_id, item.user_id, error)
            )
            business_metrics.message_result("unreachable")
            log.info("outbox: chat unreachable, queue skipped", extra=extra | {"n": skipped})
        elif verdict is Verdict.PERMANENT:
            self.counters["failed"] += 1
            await self._db(notifications.mark_failed(item.id, error))
            business_metrics.message_result("failed")
            log.warning("outbox: rejected by Telegram", extra=extra)
        elif item.attempts >= self.config.max_attempts:
            self.counters["exhausted"] += 1
            await self._db(
                notifications.mark_failed(item.id, f"gave up after {item.attempts}: {error}")
            )
            business_metrics.message_result("exhausted")
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
            business_metrics.message_result("retried")
            heapq.heappush(self._retries, self._clock() + delay)
            log.info("outbox: will retry", extra=extra | {"delay_s": round(delay, 3)})

    def backoff_s(self, attempt: int) -> float:
        """base * 2^(attempt-1), capped, times a jitter factor in [0.5, 1.0) ("equal jitter")."""
        cfg = self.config
        delay = min(cfg.backoff_cap_s, cfg.backoff_base_s * 2.0 ** max(0, attempt - 1))
        return delay * (0.5 + self._rng() / 2)

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
        business_metrics.message_result("sent", len(batch))
        self._wake.set()  # notifications depending on these may be due now


def _utcnow() -> datetime:
    return clock.now()
