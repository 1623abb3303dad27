"""The trading loop job: closed bars from the feed -> `SymbolRunner` per symbol.

Thin: the logic lives in services/signals/trading_loop.py. Each symbol runs in its own task. A bar that
fails to apply is retried (never skipped), with backoff and an ops alert (rate-limited); as the
runner rewinds its strategy after a failure, the retry heals once the fault is gone. A failing
feed is retried the same way. Neither ever holds up the other symbols.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from services.ops_alerts import OpsAlerts
from services.signals.trading_loop import SymbolRunner
from services.text.formatting import Duration, Phrase, phrase
from services.text.i18n import msgid as _
from trading.candles import Bar
from trading.feeds import MarketDataFeed

log = logging.getLogger(__name__)
RETRY_DELAYS_S = (1.0, 5.0, 15.0, 60.0)


class TradingLoop:
    def __init__(
        self,
        runners: dict[str, SymbolRunner],
        feeds: dict[str, MarketDataFeed],
        alerts: OpsAlerts,
        *,
        poll_s: float = 5.0,
        on_bar: Callable[[str, Bar], None] | None = None,
    ) -> None:
        self.runners = runners
        self.feeds = feeds
        self.alerts = alerts
        self.poll_s = poll_s
        self.on_bar = on_bar
        self._tasks: list[asyncio.Task[None]] = []
        self._applying: set[str] = set()  # symbols in the middle of a bar's transactions
        self._stopping = False
        self._stop = asyncio.Event()  # ends retry waits at once
        self.processed = 0

    async def start(self) -> None:
        for symbol in self.runners:
            self._tasks.append(asyncio.create_task(self._run(symbol), name=f"loop-{symbol}"))

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Stop between bars: a loop waiting for its feed is cancelled at once, one applying a
        bar finishes it first (cancelling inside a database transaction could leave it open)."""
        self._stopping = True
        self._stop.set()
        waiting = [
            t for t, s in zip(self._tasks, self.runners, strict=True) if s not in self._applying
        ]
        for task in waiting:
            task.cancel()
        done, pending = (
            await asyncio.wait(self._tasks, timeout=timeout_s) if self._tasks else ((), ())
        )
        for task in pending:  # a bar stuck for `timeout_s`: give up on it
            task.cancel()
        for task in (*done, *pending):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _run(self, symbol: str) -> None:
        """One symbol's loop, in its own task: a failing feed, state row or bar holds up only
        this symbol; every failure is logged and alerted (rate-limited), then retried."""
        runner, feed = self.runners[symbol], self.feeds[symbol]
        done: datetime | None = None  # the last bar applied before this process started
        started, failures = False, 0
        while not self._stopping:
            try:
                if not started:
                    done, started = (await runner.load_state()).last_bar_time, True
                bars = await feed.next_closed_bars(symbol)
                seen = [b for b in bars if done and b.time <= done]
                if seen:  # bars applied before a restart: rebuild memory only
                    runner.replay(seen)
            except Exception as exc:
                failures += 1
                await self._report(symbol, phrase(_("ops.loop_read_failed")), exc, failures)
                await self._backoff(failures)
                continue
            failures = 0
            if not bars:
                await asyncio.sleep(self.poll_s)
                continue
            for bar in bars[len(seen) :]:
                if self._stopping:
                    break  # the feed will hand the rest again after a restart
                await self._apply(symbol, runner, bar)

    async def _apply(self, symbol: str, runner: SymbolRunner, bar: Bar) -> None:
        """Apply `bar` until it succeeds: never skipped (later bars build on it), and every
        attempt is fresh (the runner rewinds its strategy after a failure), so a transient
        fault heals by itself. While it keeps failing, the other symbols go on."""
        attempt = 0
        while not self._stopping:
            self._applying.add(symbol)  # stop() lets this finish: it is inside transactions
            try:
                await runner.process(bar)
            except Exception as exc:
                attempt += 1
                failed = phrase(_("ops.loop_bar_failed"), bar=bar.time)
                await self._report(symbol, failed, exc, attempt)
            else:
                self.processed += 1
                if self.on_bar is not None:
                    self.on_bar(symbol, bar)
                return
            finally:
                self._applying.discard(symbol)
            await self._backoff(attempt)  # stop() ends this wait at once

    async def _report(self, symbol: str, what: Phrase, exc: Exception, attempt: int) -> None:
        """Log (the traceback on the first failure, one line after) and alert the owners;
        the alert is keyed by symbol and error type, so OpsAlerts sends it once per interval."""
        extra = {"symbol": symbol, "what": what.key, "attempt": attempt}
        if attempt == 1:
            log.error("trading loop: %s failed", what.key, extra=extra, exc_info=exc)
        else:
            log.warning("trading loop: %s still failing: %r", what.key, exc, extra=extra)
        delay = Duration(timedelta(seconds=_delay_s(attempt)), "second")
        text = Phrase(what.key, (*what.params, ("symbol", symbol), ("attempt", attempt),
                                 ("error_type", type(exc).__name__), ("error", str(exc)),
                                 ("delay", delay)))  # fmt: skip
        await self.alerts.alert(f"loop:{symbol}:{type(exc).__name__}", text)

    async def _backoff(self, attempt: int) -> None:
        """Wait before the next attempt; stop() ends the wait at once."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_delay_s(attempt)):
                await self._stop.wait()


def _delay_s(attempt: int) -> float:
    """The wait after the `attempt`-th failure in a row (1, 5, 15, then every 60 s)."""
    return RETRY_DELAYS_S[min(attempt, len(RETRY_DELAYS_S)) - 1] if attempt else 0.0
