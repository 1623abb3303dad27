"""Market-data feeds: where the trading loop gets its CLOSED bars from.

One interface, :class:`MarketDataFeed`: ``await feed.next_closed_bars(symbol)`` returns the bars
of ``symbol`` that closed since the previous call, oldest first, each bar exactly once, and an
empty list when nothing new has closed. A forming bar is never returned (STRATEGY.md "Inputs").
The loop polls it (a scheduler job per bar close, or a loop around the paced replay feed).
"""

from __future__ import annotations

import asyncio
import math
import time as _time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from trading.brokers.mt5_codes import error_from_last_error, timeframe_name
from trading.candles import Bar, Candles, to_unix_s, utc_from_unix_s

__all__ = ["CsvReplayFeed", "MarketDataFeed", "Mt5Feed", "PushFeed", "ReplayPacer"]


@runtime_checkable
class MarketDataFeed(Protocol):
    async def next_closed_bars(self, symbol: str) -> list[Bar]:
        """Bars of ``symbol`` closed since the last call, oldest first; ``[]`` when none."""
        ...


class ReplayPacer(Protocol):
    """Decides when a replayed bar is released (e.g. :class:`trading.replay.ReplayController`:
    pause, step, speed, a hold around a fresh signal)."""

    async def wait_for_bar(self, index: int) -> None:
        """Return once bar ``index`` (0 = the first after the history) may be released."""
        ...

    def released(self, symbol: str, bar: Bar) -> None:
        """``bar`` of ``symbol`` was just released (the newest of a batch)."""
        ...


class CsvReplayFeed:
    """Replays a :class:`Candles` series (sandbox mode, demos, tests).

    Unpaced (``interval_s=None``): each call releases the next ``batch`` bars. Paced: bar ``k``
    (counting after the ``history_bars`` released by the first call) is due at
    ``t0 + k * interval_s`` on ``clock`` (``t0`` = the first call); a call sleeps until at least
    one bar is due and returns every due bar (it catches up when the caller was slow).
    With a ``pacer`` instead, the first call releases the history and each later call one bar,
    when the pacer lets it go.
    ``now`` is the close time of the last released bar: the replay's notion of the present.
    """

    def __init__(
        self,
        candles: Candles,
        *,
        interval_s: float | None = None,
        batch: int = 1,
        history_bars: int = 0,
        clock: Callable[[], float] = _time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        pacer: ReplayPacer | None = None,
    ) -> None:
        if batch < 1 or history_bars < 0 or (interval_s is not None and interval_s <= 0):
            msg = "need batch >= 1, history_bars >= 0 and interval_s > 0 (or None for unpaced)"
            raise ValueError(msg)
        if pacer is not None and interval_s is not None:
            msg = "give interval_s or a pacer, not both (the pacer owns the pace)"
            raise ValueError(msg)
        self.pacer = pacer
        self.candles = candles
        self.interval_s = interval_s
        self.batch = batch
        self.history_bars = min(history_bars, len(candles))
        self._clock = clock
        self._sleep = sleep
        self._t0: float | None = None
        self._released = 0

    @property
    def exhausted(self) -> bool:
        return self._released >= len(self.candles)

    @property
    def now(self) -> datetime | None:
        """Close time of the last released bar; None before the first release."""
        if self._released == 0:
            return None
        return self.candles.close_time_utc(self._released - 1)

    async def next_closed_bars(self, symbol: str) -> list[Bar]:
        if symbol != self.candles.symbol:
            msg = (
                f"this replay feed plays {self.candles.symbol}, not {symbol}; build one per symbol"
            )
            raise ValueError(msg)
        if self.exhausted:
            return []
        if self.pacer is not None:
            return await self._paced_by(self.pacer, symbol)
        if self.interval_s is None:
            first = self.history_bars if self._released == 0 else 0
            return self._release(self._released + first + self.batch)
        if self._t0 is None:
            self._t0 = self._clock()
        due = self._due(self.interval_s, self._t0)
        while due <= self._released:
            wait_s = self._t0 + (self._released - self.history_bars) * self.interval_s
            await self._sleep(max(0.0, wait_s - self._clock()))
            due = self._due(self.interval_s, self._t0)
        return self._release(due)

    async def _paced_by(self, pacer: ReplayPacer, symbol: str) -> list[Bar]:
        if self._released == 0 and self.history_bars:
            bars = self._release(self.history_bars)
        else:
            await pacer.wait_for_bar(self._released - self.history_bars)
            bars = self._release(self._released + 1)
        pacer.released(symbol, bars[-1])
        return bars

    def _due(self, interval_s: float, t0: float) -> int:
        paced = math.floor((self._clock() - t0) / interval_s) + 1
        return self.history_bars + paced

    def _release(self, upto: int) -> list[Bar]:
        upto = min(upto, len(self.candles))
        bars = [self.candles.bar(i) for i in range(self._released, upto)]
        self._released = upto
        return bars


class Mt5Feed:
    """Closed bars from a MetaTrader 5 terminal (the ``MetaTrader5`` module or a fake of it).

    ``copy_rates_from_pos(symbol, timeframe, 1, count)``: starting at position 1 skips position
    0, the bar still forming. The first call per symbol returns up to ``history_bars`` bars
    (indicator warm-up), later calls only bars newer than the last one returned (polling
    ``poll_bars`` back, enough for any realistic pause). MT5 stamps bars in the trade
    server's time zone: ``utc = server_time - server_utc_offset_s``.
    """

    def __init__(
        self,
        mt5: Any,
        *,
        timeframe_s: int = 3600,
        history_bars: int = 500,
        poll_bars: int = 50,
        server_utc_offset_s: int = 0,
    ) -> None:
        self._mt5 = mt5
        self.timeframe_s = timeframe_s
        self._timeframe = getattr(mt5, timeframe_name(timeframe_s))
        self.history_bars = history_bars
        self.poll_bars = poll_bars
        self.server_utc_offset_s = server_utc_offset_s
        self._last_s: dict[str, int] = {}

    async def next_closed_bars(self, symbol: str) -> list[Bar]:
        last_s = self._last_s.get(symbol)
        count = self.history_bars if last_s is None else self.poll_bars
        rates = await asyncio.to_thread(
            self._mt5.copy_rates_from_pos, symbol, self._timeframe, 1, count
        )
        if rates is None:
            raise error_from_last_error(self._mt5.last_error(), f"copy_rates_from_pos({symbol})")
        bars = []
        for row in rates:
            time_s = int(row["time"]) - self.server_utc_offset_s
            if last_s is None or time_s > last_s:
                bars.append(
                    Bar(
                        utc_from_unix_s(time_s),
                        float(row["open"]),
                        float(row["high"]),
                        float(row["low"]),
                        float(row["close"]),
                        float(row["tick_volume"]),
                    )
                )
        if bars:
            self._last_s[symbol] = to_unix_s(bars[-1].time)
        return bars


class PushFeed:
    """Bars pushed by an Expert Advisor (over HTTP, wired elsewhere) via :meth:`push`.

    Pushed bars are kept per symbol by open time (a re-push of the same time replaces it:
    the EA's latest word wins); bars at or before the last one returned are dropped as
    duplicates. A bar is only returned once closed, ``time + timeframe_s <= clock()``: an EA
    that pushes its forming bar does no harm, it is held back until it closes.
    """

    def __init__(
        self, *, timeframe_s: int = 3600, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.timeframe_s = timeframe_s
        self._clock = clock or (lambda: datetime.now(UTC))
        self._pending: dict[str, dict[int, Bar]] = {}
        self._last_s: dict[str, int] = {}

    def push(self, symbol: str, bars: Iterable[Bar]) -> int:
        """Store bars (any order); returns how many were accepted (not already emitted)."""
        pending = self._pending.setdefault(symbol, {})
        last_s = self._last_s.get(symbol)
        accepted = 0
        for bar in bars:
            time_s = to_unix_s(bar.time)
            if last_s is None or time_s > last_s:
                pending[time_s] = bar
                accepted += 1
        return accepted

    async def next_closed_bars(self, symbol: str) -> list[Bar]:
        pending = self._pending.get(symbol)
        if not pending:
            return []
        now_s = to_unix_s(self._clock())
        ready = sorted(t for t in pending if t + self.timeframe_s <= now_s)
        bars = [pending.pop(t) for t in ready]
        if bars:
            self._last_s[symbol] = ready[-1]
        return bars
