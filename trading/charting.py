"""The signal chart: candles, RSI panel, Fib points 1 and 2, entry/stop/take-profit (PNG bytes).

Pure rendering: candles and levels in, PNG bytes out; no DB, Telegram or web. Built on the
object-oriented matplotlib API (`Figure` + `FigureCanvasAgg`), never pyplot (slow global state,
not thread-safe). Speed (budget < 60 ms per 960x600 chart on 2 cores), measured, not guessed:
- one figure per pixel size is built once (`ChartTemplate`) and each call only feeds new data
  to its artists: creating axes, ticks and texts cost as much as drawing them;
- matplotlib's axis machinery is off; the few tick labels and grid lines are our own artists;
- candles are two collections (wicks: one `LineCollection`, which is what `vlines` builds;
  bodies: one `PolyCollection`), never a patch per bar;
- the PNG is RGB (no alpha) deflated at zlib level 1: ~9 ms against ~25 ms at the default
  level, for ~55 KB instead of ~47 KB. A fast-octree palette was faster still but merged the
  light tints (RSI band, background) into grey.
Every artist property is set on every call and the PNG carries no metadata, so the same input
gives the same bytes whatever was rendered before (charts can be cached by content).

This module is the entry point (`render_signal_chart`) and feeds the data to the artists; the
figure and theme are in `trading.chart_figure`, the window, ticks and `ChartLevels` in
`trading.chart_layout` (re-exported here).
"""

from __future__ import annotations

import io
import threading
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text
from numpy.typing import NDArray
from PIL import Image

from trading.candles import Candles
from trading.chart_figure import DOWN_RGBA, UP_RGBA, ChartTemplate, chart_template
from trading.chart_layout import (
    MAX_BARS,
    RIGHT_PAD_FRACTION,
    TAG_HEIGHT_PT,
    ChartLevels,
    bar_x,
    chart_window,
    nice_ticks,
    price_digits,
    spread_apart,
    x_ticks,
)
from trading.detector import Side
from trading.indicators import rsi

__all__ = [
    "MAX_BARS",
    "ChartLevels",
    "chart_window",
    "nice_ticks",
    "price_digits",
    "render_signal_chart",
    "spread_apart",
    "x_ticks",
]

# Matplotlib's font and text caches are process-wide and not documented as thread-safe, and a
# template figure is shared; renders run in worker threads (`asyncio.to_thread`): serialise.
_RENDER_LOCK = threading.Lock()


def _set_labels(texts: list[Text], positions: list[float], labels: list[str], *, y: bool) -> None:
    for i, text in enumerate(texts):
        shown = i < len(labels)
        text.set_visible(shown)
        if shown:
            text.set_text(labels[i])
            if y:
                text.set_y(positions[i])
            else:
                text.set_x(positions[i])


def _feed_candles(t: ChartTemplate, win: Candles) -> None:
    """Wick segments and body quads for every bar, coloured by direction, in two arrays."""
    n = len(win)
    x = np.arange(n, dtype=np.float64)
    # `Any`: matplotlib's stubs omit the (n, 4) RGBA and (n, k, 2) vertex arrays it accepts.
    colors: Any = np.where((win.close >= win.open)[:, None], UP_RGBA, DOWN_RGBA)
    wicks: Any = np.stack([np.stack([x, win.low], 1), np.stack([x, win.high], 1)], 1)
    t.wicks.set_segments(wicks)
    t.wicks.set_color(colors)
    lo = np.minimum(win.open, win.close)
    hi = np.maximum(win.open, win.close)
    verts: Any = np.empty((n, 4, 2))
    verts[:, :, 0] = x[:, None] + np.array([-0.32, -0.32, 0.32, 0.32])
    verts[:, :, 1] = np.stack([lo, hi, hi, lo], axis=1)
    t.bodies.set_verts(verts)
    t.bodies.set_facecolor(colors)
    t.bodies.set_edgecolor(colors)


def _feed_levels(
    t: ChartTemplate, levels: ChartLevels, x_from: float, x_to: float, fmt: str
) -> None:
    """Entry/stop/TP lines and right-edge tags (pushed apart when levels are close); risk
    (entry-stop) and reward (entry-TP) bands from point 2 to the right edge."""
    for band, far in zip(t.bands, (levels.stop, levels.take_profit), strict=True):
        band.set_bounds(x_from, levels.entry, x_to - x_from, far - levels.entry)
    named = (("TP", levels.take_profit), ("SL", levels.stop), ("ENTRY", levels.entry))
    to_px = t.price.transData
    px = [float(to_px.transform((0.0, price))[1]) for _, price in named]
    tag_px = spread_apart(px, TAG_HEIGHT_PT * t.fig.dpi / 72)
    from_px = to_px.inverted()
    for i, (name, price) in enumerate(named):
        t.level_lines[i].set_ydata([price, price])
        t.level_tags[i].set_y(float(from_px.transform((0.0, tag_px[i]))[1]))
        t.level_tags[i].set_text(f"{name} {price:{fmt}}")


def _feed_points(t: ChartTemplate, levels: ChartLevels, times: NDArray[np.int64]) -> None:
    """Circled "1" and "2" above a high / below a low, and the dashed Fib leg between them."""
    sell = levels.side is Side.SELL
    xs: list[float] = []
    ys: list[float] = []
    points = ((levels.point1, sell), (levels.point2, not sell))
    for label, (point, is_high) in zip(t.point_labels, points, strict=True):
        x = None if point is None else bar_x(times, point[0])
        label.set_visible(x is not None)
        if point is not None and x is not None:
            xs.append(x)
            ys.append(point[1])
            label.xy = (x, point[1])
            label.set_position((0, 13 if is_high else -13))
    t.leg.set_data(xs, ys)


def _feed_rsi(
    t: ChartTemplate, values: NDArray[np.float64], times: NDArray[np.int64], levels: ChartLevels
) -> None:
    """RSI line (NaN warm-up left blank) and dotted marks at the trigger and leg-2 start."""
    t.rsi_line.set_data(np.arange(len(values)), values)
    for mark, when in zip(t.rsi_marks, (levels.trigger_time, levels.leg2_start), strict=True):
        x = bar_x(times, when)
        mark.set_visible(x is not None)
        mark.set_xdata([x or 0, x or 0])


def _feed_axes(
    t: ChartTemplate, win: Candles, levels: ChartLevels, fmt: str
) -> tuple[float, float]:
    """Limits, grid lines and tick labels of both panels; returns the x limits."""
    n = len(win)
    x_lim = (-1.0, n - 1 + max(8.0, n * RIGHT_PAD_FRACTION))
    prices = (levels.stop, levels.take_profit, levels.entry)
    lo = min(float(np.min(win.low)), *prices)
    hi = max(float(np.max(win.high)), *prices)
    pad = (hi - lo) * 0.06 or abs(hi) * 0.001 or 1.0
    y_lim = (lo - pad, hi + pad)
    t.price.set_xlim(x_lim)
    t.price.set_ylim(y_lim)
    t.rsi.set_xlim(x_lim)
    y_ticks = [float(v) for v in nice_ticks(lo, hi)]
    x_idx, x_labels = x_ticks(win.time, win.timeframe_s)
    vertical = [[(float(x), y_lim[0]), (float(x), y_lim[1])] for x in x_idx]
    t.price_grid.set_segments([[(x_lim[0], y), (x_lim[1], y)] for y in y_ticks] + vertical)
    t.rsi_grid.set_segments([[(x, 0.0), (x, 100.0)] for x in x_idx])
    _set_labels(t.price_labels, y_ticks, [f"{v:{fmt}}" for v in y_ticks], y=True)
    _set_labels(t.time_labels, [float(x) for x in x_idx], x_labels, y=False)
    return x_lim


def _png(canvas: FigureCanvasAgg) -> bytes:
    """RGB PNG (alpha dropped: the figure is opaque), zlib level 1, no metadata chunks."""
    canvas.draw()  # type: ignore[no-untyped-call]
    out = io.BytesIO()
    width, height = canvas.get_width_height()
    buffer = canvas.buffer_rgba()  # type: ignore[no-untyped-call]
    rgba = Image.frombuffer("RGBA", (width, height), buffer, "raw", "RGBA", 0, 1)
    rgba.convert("RGB").save(out, format="PNG", compress_level=1)
    return out.getvalue()


def render_signal_chart(
    candles: Candles,
    levels: ChartLevels,
    *,
    bars: int = 120,
    rsi_values: NDArray[np.float64] | None = None,
    width_px: int = 960,
    height_px: int = 600,
    dpi: int = 100,
) -> bytes:
    """PNG bytes (`width_px` x `height_px`) of the signal chart: candlesticks with entry, stop
    and take-profit lines and price tags, Fib points 1 and 2 joined by the dashed leg,
    light risk/reward bands from point 2 on, and an RSI(14) panel with the 70/40 thresholds.

    The window is the last `bars` bars of `candles`, extended left to include point 1 (see
    `chart_window`). To chart a backtest trade, pass the candles up to the trade's exit bar and
    `ChartLevels.from_setup(setup, status="TP hit · +3.25R")`. `rsi_values` (one per candle,
    e.g. the backtest's cached RSI) skips the computation; NaN warm-up values are not drawn.
    Deterministic: the same input gives the same bytes. Thread-safe: renders are serialised.
    """
    if len(candles) == 0:
        msg = "no candles to chart; pass at least one closed bar"
        raise ValueError(msg)
    values = rsi(candles.close) if rsi_values is None else np.asarray(rsi_values, np.float64)
    if values.shape != (len(candles),):
        msg = f"{values.shape} RSI values for {len(candles)} candles; pass one per candle"
        raise ValueError(msg)
    start, stop = chart_window(candles, levels, bars)
    win = candles.slice(start, stop)
    if levels.digits is None:
        digits = price_digits(np.concatenate([win.open, win.high, win.low, win.close]))
    else:
        digits = levels.digits
    fmt = f".{digits}f"
    with _RENDER_LOCK:
        t = chart_template(width_px, height_px, dpi)
        x_lim = _feed_axes(t, win, levels, fmt)
        _feed_candles(t, win)
        if levels.point2 is None:  # no Fib points (a manual signal): the bands start now
            x2: int | None = len(win) - 1
        else:
            x2 = bar_x(win.time, levels.point2[0])
        _feed_levels(t, levels, float(x_lim[0] if x2 is None else x2), x_lim[1], fmt)
        _feed_points(t, levels, win.time)
        _feed_rsi(t, values[start:stop], win.time, levels)
        t.title.set_text(levels.title or f"{candles.symbol} · {levels.side.value.upper()}")
        t.status.set_text(levels.status)
        return _png(t.canvas)
