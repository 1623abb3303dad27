"""The trading loop job: closed bars from the feed -> `SymbolRunner` per symbol.

Thin: the logic lives in services/trading_loop.py. A bar that fails to apply is retried (never
skipped), with backoff and an ops alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from services.ops_alerts import OpsAlerts
from services.trading_loop import SymbolRunner
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
        self.processed = 0

    async def start(self) -> None:
        for symbol in self.runners:
            self._tasks.append(asyncio.create_task(self._run(symbol), name=f"loop-{symbol}"))

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Stop between bars: a loop waiting for its feed is cancelled at once, one applying a
        bar finishes it first (cancelling inside a database transaction could leave it open)."""
        self._stopping = True
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
        runner, feed = self.runners[symbol], self.feeds[symbol]
        state = await runner.load_state()
        while not self._stopping:
            bars = await feed.next_closed_bars(symbol)
            if not bars:
                await asyncio.sleep(self.poll_s)
                continue
            seen = [b for b in bars if state.last_bar_time and b.time <= state.last_bar_time]
            if seen:  # bars applied before a restart: rebuild memory only
                runner.replay(seen)
            self._applying.add(symbol)
            try:
                for bar in bars[len(seen) :]:
                    if self._stopping:
                        break  # the feed will hand the rest again after a restart
                    await self._apply(symbol, runner, bar)
            finally:
                self._applying.discard(symbol)

    async def _apply(self, symbol: str, runner: SymbolRunner, bar: Bar) -> None:
        for attempt, delay in enumerate((0.0, *RETRY_DELAYS_S, *([RETRY_DELAYS_S[-1]] * 1000))):
            if attempt and self._stopping:
                return  # not applied: the bar comes again after the restart
            await asyncio.sleep(delay)
            try:
                await runner.process(bar)
            except Exception as exc:
                log.exception(
                    "trading loop: bar failed", extra={"symbol": symbol, "bar": str(bar.time)}
                )
                await self.alerts.alert(
                    f"loop:{symbol}:{type(exc).__name__}",
                    f"⚠️ Trading loop {symbol}: bar {bar.time:%Y-%m-%d %H:%M} failed "
                    f"(attempt {attempt + 1}): {type(exc).__name__}: {exc}",
                )
                continue
            self.processed += 1
            if self.on_bar is not None:
                self.on_bar(symbol, bar)
            return
