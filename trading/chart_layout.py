"""Where things go on the signal chart, as plain numbers: the bar window, the price range
(levels too far away stay off the chart), price decimals, tick positions and labels, and
label de-overlapping. What is drawn (`ChartLevels`, Fib levels, title) is `trading.chart_levels`.

No matplotlib here: `trading.charting` feeds these numbers to the figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from trading.candles import Candles
from trading.chart_levels import ChartLevels
from trading.timeutil import to_unix_s

MAX_BARS = 300  # the window never grows past this, even to reach point 1
POINT1_MARGIN_BARS = 5  # context bars left of point 1 when the window is extended for it
RIGHT_PAD_FRACTION = 0.25  # empty space right of the last bar: Fib labels, then level tags
MIN_RIGHT_PAD_BARS = 10.0
MAX_X_TICKS = 6
TAG_HEIGHT_PT = 17  # a 9 pt level tag with its box, plus 1 pt of air
MAX_Y_TICKS = 7
# Stop and take-profit may stretch the price range of the candles (and entry) up to this
# factor; a level further away is shown as an arrow tag at the edge, not squeezing the candles.
MAX_LEVEL_STRETCH = 1.6
Y_PAD_FRACTION = 0.08  # room for point 2's label beyond the extreme it marks


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
    (when there is one) plus `POINT1_MARGIN_BARS` of context, but never to more than
    max(bars, `MAX_BARS`) bars."""
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


def spread_apart(
    ys: list[float], min_gap: float, lo: float = -math.inf, hi: float = math.inf
) -> list[float]:
    """Positions for labels wanted at `ys`, at least `min_gap` apart, order kept: overlapping
    labels form a block centred on the mean of their wanted positions (blocks merge until
    none overlap), the 1-D case of label de-overlapping. With bounds, the positions are then
    pushed inside [lo, hi] keeping the gaps (when they fit: labels stay apart before inside)."""
    order = sorted(range(len(ys)), key=ys.__getitem__)
    blocks: list[tuple[list[float], float]] = []  # (wanted positions, first position)
    for i in order:
        blocks.append(([ys[i]], ys[i]))
        while len(blocks) > 1 and blocks[-2][1] + len(blocks[-2][0]) * min_gap > blocks[-1][1]:
            wanted = blocks[-2][0] + blocks[-1][0]
            first = sum(wanted) / len(wanted) - (len(wanted) - 1) * min_gap / 2
            blocks[-2:] = [(wanted, first)]
    placed = [first + k * min_gap for wanted, first in blocks for k in range(len(wanted))]
    for k in range(len(placed) - 1, -1, -1):  # down from the top bound
        placed[k] = min(placed[k], hi - (len(placed) - 1 - k) * min_gap)
    for k in range(len(placed)):  # then up from the bottom one
        placed[k] = max(placed[k], lo + k * min_gap)
    out = [0.0] * len(ys)
    for i, y in zip(order, placed, strict=True):
        out[i] = y
    return out


def x_limits(n_bars: int) -> tuple[float, float]:
    """Bar-index limits: one bar of air left of the first bar, and, `RIGHT_PAD_FRACTION` of the bars
    (at least `MIN_RIGHT_PAD_BARS`) right of the last bar for the Fib labels and level tags."""
    return -1.0, n_bars - 1 + max(MIN_RIGHT_PAD_BARS, n_bars * RIGHT_PAD_FRACTION)


def price_span(
    core: tuple[float, float], extras: Sequence[float], max_stretch: float = MAX_LEVEL_STRETCH
) -> tuple[float, float]:
    """The price range to show: `core` (the candles' low..high and the entry) widened by each
    of `extras` (stop, take-profit), nearest first, while the range stays within
    `max_stretch` x the core's span. Levels left out are drawn as arrows at the edge."""
    lo, hi = core
    span = hi - lo or abs(hi) * 0.001 or 1.0
    for price in sorted(extras, key=lambda p: max(core[0] - p, p - core[1], 0.0)):
        new_lo, new_hi = min(lo, price), max(hi, price)
        if new_hi - new_lo <= max_stretch * span * (1 + 1e-12):
            lo, hi = new_lo, new_hi
    return lo, hi


def y_limits(lo: float, hi: float) -> tuple[float, float]:
    """`Y_PAD_FRACTION` of air above and below the price range (a flat range gets some too)."""
    pad = (hi - lo) * Y_PAD_FRACTION or abs(hi) * 0.001 or 1.0
    return lo - pad, hi + pad
