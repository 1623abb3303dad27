"""The market as the trading loop last saw it, readable by every replica.

The loop (on the scheduler leader) stores each closed bar as it applies it (`record_bar`); any
replica can then ask for a symbol's last known price (`quote`), which symbols have a live feed
(`live_symbols`) and a window of recent bars to chart (`recent_candles`). A feed is *live*
when its newest bar was stored no more than FEED_STALE_BARS bar intervals of trading time ago
(`trading.market_hours.open_seconds`): a weekend or the metals' daily pause does not make a
feed stale, three missing hours of an open market do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from core import clock
from models.signals import MarketBar
from services.terminals.symbol_map import canonical
from trading.candles import Bar, Candles, to_unix_s
from trading.market_hours import open_seconds
from trading.numeric import to_decimal

FEED_STALE_BARS = 3  # a feed that missed this many bars of an open market is not live
KEEP_BARS = 600  # bar intervals of history kept per symbol (>= 300 chart bars with weekends)
PRUNE_EVERY_BARS = 24  # prune once a day of H1 bars, not on every bar
MAX_STALE_CHECK = timedelta(days=14)  # older than this is stale without counting sessions


@dataclass(frozen=True, slots=True)
class Quote:
    """A symbol's last known price: the close of its newest stored bar (quote units), that
    bar's open time, when the loop stored it, and whether the feed is live."""

    symbol: str
    close: Decimal
    bar_time: datetime
    recorded_at: datetime
    timeframe_s: int
    live: bool


def is_live(symbol: str, recorded_at: datetime, timeframe_s: int, now: datetime) -> bool:
    """True when at most FEED_STALE_BARS * timeframe_s seconds of trading time passed since
    the newest bar was stored (market hours of `symbol`)."""
    allowed_s = FEED_STALE_BARS * timeframe_s
    if now - recorded_at <= timedelta(seconds=allowed_s):
        return True
    if now - recorded_at > MAX_STALE_CHECK:
        return False
    return open_seconds(symbol, recorded_at, now) <= allowed_s


async def record_bar(symbol: str, bar: Bar, timeframe_s: int, now: datetime | None = None) -> None:
    """Store (or, for a retried bar, overwrite) one closed bar; prune old bars now and then.

    Idempotent on (symbol, bar time): the loop may apply a bar again after a failure."""
    values: dict[str, Any] = {
        "timeframe_s": timeframe_s, "open": bar.open, "high": bar.high, "low": bar.low,
        "close": bar.close, "volume": bar.volume, "recorded_at": now or clock.now(),
    }  # fmt: skip
    updated = await MarketBar.filter(symbol=symbol, time=bar.time).update(**values)
    if not updated:
        await MarketBar.create(symbol=symbol, time=bar.time, **values)
    if (to_unix_s(bar.time) // timeframe_s) % PRUNE_EVERY_BARS == 0:
        cutoff = bar.time - timedelta(seconds=KEEP_BARS * timeframe_s)
        await MarketBar.filter(symbol=symbol, time__lt=cutoff).delete()


def _quote(row: MarketBar, now: datetime) -> Quote:
    return Quote(
        symbol=row.symbol,
        close=to_decimal(row.close),
        bar_time=row.time,
        recorded_at=row.recorded_at,
        timeframe_s=row.timeframe_s,
        live=is_live(row.symbol, row.recorded_at, row.timeframe_s, now),
    )


async def quote(symbol: str, now: datetime | None = None) -> Quote | None:
    """The last known price of `symbol`, or None when no bar of it was ever stored."""
    row = await MarketBar.filter(symbol=symbol).order_by("-time").first()
    return None if row is None else _quote(row, now or clock.now())


def market_now(found: Quote | None, now: datetime) -> datetime:
    """The market's clock for a symbol: its newest stored bar's close plus the time since it
    was stored (`now` when no bar was ever stored). A live feed runs on the real clock (to
    within the store's delay); a replay of history (the sandbox) on its bars' time, which is
    what a signal's expiry is measured against (the strategy expires it at a bar)."""
    if found is None:
        return now
    closed = found.bar_time + timedelta(seconds=found.timeframe_s)
    return closed + max(now - found.recorded_at, timedelta(0))


async def live_symbols(now: datetime | None = None) -> tuple[str, ...]:
    """Symbols whose feed is live now, sorted by name."""
    moment = now or clock.now()
    names = await MarketBar.all().distinct().values_list("symbol", flat=True)
    out = []
    for name in sorted(set(names)):
        found = await quote(str(name), moment)
        if found is not None and found.live:
            out.append(found.symbol)
    return tuple(out)


async def fed_name(symbol: str, now: datetime | None = None) -> str | None:
    """The live feed serving `symbol` (GOLD and XAUUSD are one instrument: the name the feed
    runs under wins), or None when no live feed serves it."""
    wanted = canonical(symbol)
    return next((s for s in await live_symbols(now) if canonical(s) == wanted), None)


async def recent_candles(symbol: str, bars: int) -> Candles | None:
    """The newest `bars` stored bars of `symbol` as `Candles` (oldest first); None if none."""
    rows = await MarketBar.filter(symbol=symbol).order_by("-time").limit(bars)
    if not rows:
        return None
    rows.reverse()
    return _candles(symbol, rows)


async def candles_before(symbol: str, end: datetime) -> Candles | None:
    """Every stored bar of `symbol` opened before `end`, oldest first, in the timeframe of the
    newest of them (a feed that changed timeframe keeps one series); None if none. Stored bars
    reach back KEEP_BARS intervals: what a backtest over recent weeks replays."""
    rows = await MarketBar.filter(symbol=symbol, time__lt=end).order_by("time")
    if not rows:
        return None
    timeframe_s = rows[-1].timeframe_s
    return _candles(symbol, [r for r in rows if r.timeframe_s == timeframe_s])


def _candles(symbol: str, rows: list[MarketBar]) -> Candles:
    return Candles(
        symbol=symbol,
        timeframe_s=rows[-1].timeframe_s,
        time=np.array([to_unix_s(r.time) for r in rows], dtype=np.int64),
        open=np.array([r.open for r in rows], dtype=np.float64),
        high=np.array([r.high for r in rows], dtype=np.float64),
        low=np.array([r.low for r in rows], dtype=np.float64),
        close=np.array([r.close for r in rows], dtype=np.float64),
        volume=np.array([r.volume for r in rows], dtype=np.float64),
    )
