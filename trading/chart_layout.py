"""Where things go on the signal chart, as plain numbers: the levels to draw (`ChartLevels`),
the bar window, price decimals, tick positions and labels, and label de-overlapping.

No matplotlib here: `trading.charting` feeds these numbers to the figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from trading.candles import Candles
from trading.detector import Setup, Side
from trading.timeutil import to_unix_s

MAX_BARS = 300  # the window never grows past this, even to reach point 1
POINT1_MARGIN_BARS = 5  # context bars left of point 1 when the window is extended for it
RIGHT_PAD_FRACTION = 0.2  # empty space right of the last bar, where the level tags sit
MAX_X_TICKS = 6
TAG_HEIGHT_PT = 17  # a 9 pt level tag with its box, plus 1 pt of air
MAX_Y_TICKS = 7


@dataclass(frozen=True, slots=True)
class ChartLevels:
    """What to draw over the candles. Times are aware datetimes or unix seconds of bar OPENs
    (as in `Setup`); prices in quote units. `digits`: decimals of the price labels (None:
    inferred from the candles). `title` e.g. "EURUSD H1 · SELL · v2"; `status` a short
    right-aligned note such as "Pending" or "Filled at 1.07219". `point1`/`point2` are the
    Fib-RSI points; None for a signal without them (a manual one): no points, no leg, and the
    risk/reward bands start at the last bar."""

    side: Side
    entry: float
    stop: float
    take_profit: float
    point1: tuple[datetime | int, float] | None = None
    point2: tuple[datetime | int, float] | None = None
    trigger_time: datetime | int | None = None
    leg2_start: datetime | int | None = None
    title: str = ""
    status: str = ""
    digits: int | None = None

    def __post_init__(self) -> None:
        if self.side not in (Side.BUY, Side.SELL):
            msg = f"side must be Side.BUY/Side.SELL or 'buy'/'sell', got {self.side!r}"
            raise ValueError(msg)
        object.__setattr__(self, "side", Side(self.side))  # also accept "buy"/"sell"
        points = tuple(p[1] for p in (self.point1, self.point2) if p is not None)
        prices = (self.entry, self.stop, self.take_profit, *points)
        if not all(math.isfinite(p) for p in prices):
            msg = f"chart levels must be finite prices, got {prices}; check the setup"
            raise ValueError(msg)
        if self.digits is not None and not 0 <= self.digits <= 10:
            msg = f"digits must be 0..10 decimals (e.g. 5 for EURUSD), got {self.digits}"
            raise ValueError(msg)

    @classmethod
    def from_setup(
        cls, setup: Setup, *, title: str = "", status: str = "", digits: int | None = None
    ) -> ChartLevels:
        """The levels of a detector `Setup`: a live signal, or a backtest trade."""
        return cls(
            side=setup.side,
            entry=setup.entry,
            stop=setup.stop,
            take_profit=setup.take_profit,
            point1=(setup.point1_time, setup.point1_price),
            point2=(setup.point2_time, setup.point2_price),
            trigger_time=setup.trigger_time,
            leg2_start=setup.leg2_start,
            title=title,
            status=status,
            digits=digits,
        )


def _unix(t: datetime | int) -> int:
    return to_unix_s(t) if isinstance(t, datetime) else int(t)


def bar_x(times: NDArray[np.int64], t: datetime | int | None) -> int | None:
    """Index of the bar that opened at (or contains) `t`; None when `t` is outside `times`."""
    if t is None or len(times) == 0:
        return None
    i = int(np.searchsorted(times, _unix(t), side="right")) - 1
    return i if 0 <= i < len(times) else None


def chart_window(candles: Candles, levels: ChartLevels, bars: int = 120) -> tuple[int, int]:
    """Bar range `[start, stop)` to draw: the last `bars` bars, extended left to show point 1
    plus `POINT1_MARGIN_BARS` of context, but never to more than max(bars, `MAX_BARS`) bars."""
    if bars < 1:
        msg = f"bars must be >= 1 (default 120), got {bars}"
        raise ValueError(msg)
    n = len(candles)
    start = max(0, n - bars)
    if levels.point1 is None:
        return start, n
    p1 = int(np.searchsorted(candles.time, _unix(levels.point1[0]), side="left"))
    if p1 < start:
        start = max(p1 - POINT1_MARGIN_BARS, n - max(bars, MAX_BARS), 0)
    return start, n


def price_digits(prices: NDArray[np.float64]) -> int:
    """Decimals for price labels: the fewest (0..6) that print every price exactly
    (1.07219 -> 5, 1923.45 -> 2), raised to resolve 1/100 of the price range (noisy floats
    and coarse data alike): EURUSD 5, XAUUSD 2, an index quoted in whole points 0."""
    finite = prices[np.isfinite(prices)]
    if len(finite) == 0:
        return 2
    scale = max(float(np.max(np.abs(finite))), 1e-12)
    span = float(np.ptp(finite)) or scale * 0.01
    by_span = min(8, max(0, math.ceil(round(-math.log10(span / 100), 6))))
    for d in range(7):
        if bool(np.all(np.abs(np.round(finite, d) - finite) <= scale * 1e-12)):
            return max(d, by_span)
    return max(by_span, 1)


def nice_ticks(lo: float, hi: float, max_ticks: int = MAX_Y_TICKS) -> NDArray[np.float64]:
    """Round-number ticks inside [lo, hi]: the smallest step of 1, 2, 2.5 or 5 x 10^k that
    gives at most `max_ticks` ticks (Heckbert, "Nice numbers for graph labels", 1990)."""
    span = hi - lo
    if not span > 0 or max_ticks < 2:
        return np.array([lo])
    mag = 10.0 ** math.floor(math.log10(span / max_ticks))
    for step in (m * mag for m in (1.0, 2.0, 2.5, 5.0, 10.0, 20.0)):
        first, last = math.ceil(lo / step), math.floor(hi / step)
        if last - first + 1 <= max_ticks:
            break
    return (np.arange(first, last + 1) * step).astype(np.float64)


def x_ticks(times: NDArray[np.int64], timeframe_s: int) -> tuple[list[int], list[str]]:
    """At most `MAX_X_TICKS` bar indices with compact UTC labels: the first bar of each day
    ("%d %b") when the window spans 2+ days, else evenly spaced bars ("%d %b %H:%M").
    A day start too close to the next one (a short Sunday session) gives way to it."""
    n = len(times)
    starts = [int(i) for i in np.flatnonzero(np.diff(times // 86400)) + 1]
    if timeframe_s < 86400 and len(starts) >= 2:
        fmt = "%d %b"
        stride = math.ceil(len(starts) / MAX_X_TICKS)
        min_gap = max(1.0, n / (MAX_X_TICKS + 2))
        idx: list[int] = []
        for i in starts[::stride]:
            if idx and i - idx[-1] < min_gap:
                idx.pop()
            idx.append(i)
    else:
        fmt = "%d %b" if timeframe_s >= 86400 else "%d %b %H:%M"
        idx = list(range(0, n, max(1, math.ceil(n / (MAX_X_TICKS - 1)))))
    labels = [datetime.fromtimestamp(int(times[i]), tz=UTC).strftime(fmt) for i in idx]
    return idx, labels


def spread_apart(ys: list[float], min_gap: float) -> list[float]:
    """Positions for labels wanted at `ys`, at least `min_gap` apart, order kept: overlapping
    labels form a block centred on the mean of their wanted positions (blocks merge until
    none overlap), the 1-D case of label de-overlapping."""
    order = sorted(range(len(ys)), key=ys.__getitem__)
    blocks: list[tuple[list[float], float]] = []  # (wanted positions, first position)
    for i in order:
        blocks.append(([ys[i]], ys[i]))
        while len(blocks) > 1 and blocks[-2][1] + len(blocks[-2][0]) * min_gap > blocks[-1][1]:
            wanted = blocks[-2][0] + blocks[-1][0]
            first = sum(wanted) / len(wanted) - (len(wanted) - 1) * min_gap / 2
            blocks[-2:] = [(wanted, first)]
    placed = [first + k * min_gap for wanted, first in blocks for k in range(len(wanted))]
    out = [0.0] * len(ys)
    for i, y in zip(order, placed, strict=True):
        out[i] = y
    return out
