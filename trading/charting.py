"""The signal chart: candles, RSI panel, Fib points 1 and 2 with the retracement levels between
them, entry/stop/take-profit and the last price (PNG bytes).

Pure rendering: candles and levels in, PNG bytes out; no DB, Telegram or web. Built on the
object-oriented matplotlib API (`Figure` + `FigureCanvasAgg`), never pyplot (slow global state,
not thread-safe). Speed (budget < 60 ms per 960x600 chart on 2 cores), measured, not guessed:
- one figure per pixel size is built once (`ChartTemplate`) and each call only feeds new data
  to its artists: creating axes, ticks and texts cost as much as drawing them;
- matplotlib's axis machinery is off; the few tick labels and grid lines are our own artists;
- candles are two collections (wicks: one `LineCollection`, which is what `vlines` builds;
  bodies: one `PolyCollection`), never a patch per bar;
- texts, ~90 % of the drawing, are drawn from remembered glyph layouts and bitmaps
  (`trading.chart_glyphs`: the same pixels as matplotlib's, without re-shaping and
  re-rasterising the tick values, names and labels every chart repeats);
- the PNG is RGB (no alpha), unfiltered, deflated at zlib level 1 by `_png` (~3 ms and
  ~60 KB; Pillow's adaptive row filters took ~10 ms). A fast-octree palette was faster still
  but merged the light tints (RSI band, background) into grey.
Every artist property is set on every call and the PNG carries no metadata, so the same input
gives the same bytes whatever was rendered before (charts can be cached by content).

Readability rules: the title names symbol, side, timeframe, bar time (UTC) and signal; stop
and take-profit never squeeze the candles (past `MAX_LEVEL_STRETCH` a level becomes an arrow
tag at the edge); labels are pushed apart and kept inside their panel; the watermark sits in
the footer, where no level line or tag can be; no time label is cut off. Each text costs
render time (shaping ~0.4 ms, plus ~0.06 ms a glyph): labels are short.

This module is the entry point (`render_signal_chart`): axes, ticks, the RSI panel, titles and
the PNG; the price panel's data is fed by `trading.chart_price`, the figure and theme are in
`trading.chart_figure`, the window and ticks in `trading.chart_layout`, and `ChartLevels`, the
Fib levels and the title text in `trading.chart_levels` (re-exported here).
"""

from __future__ import annotations

import math
import struct
import threading
import zlib

import numpy as np
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text
from numpy.typing import NDArray

from trading.candles import Candles
from trading.chart_figure import PRICE_RECT, ChartTemplate, chart_template
from trading.chart_layout import (
    MAX_BARS,
    MAX_LEVEL_STRETCH,
    bar_x,
    chart_window,
    nice_ticks,
    price_digits,
    price_span,
    spread_apart,
    x_limits,
    x_ticks,
    y_limits,
)
from trading.chart_levels import ChartLevels, FibLevel, chart_title, fib_levels
from trading.chart_price import (
    feed_candles,
    feed_fib,
    feed_last_price,
    feed_levels,
    feed_points,
)
from trading.indicators import rsi

__all__ = [
    "MAX_BARS",
    "MAX_LEVEL_STRETCH",
    "ChartLevels",
    "FibLevel",
    "chart_window",
    "fib_levels",
    "nice_ticks",
    "price_digits",
    "render_signal_chart",
    "spread_apart",
    "x_ticks",
]

# Matplotlib's font and text caches are process-wide and not documented as thread-safe, and a
# template figure is shared; renders run in worker threads (`asyncio.to_thread`): serialise.
_RENDER_LOCK = threading.Lock()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RSI_TAG_HEIGHT_PT = 10  # the last-RSI tag covers scale labels this close
TITLE_GAP_PT = 8


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


def _feed_axes(
    t: ChartTemplate, win: Candles, levels: ChartLevels, fmt: str
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Limits, grid lines and tick labels of both panels; returns the x and y limits. The
    price range is the candles' and the entry's, widened to the stop and take-profit only
    while that keeps the candles readable (`price_span`)."""
    x_lim = x_limits(len(win))
    core = (
        min(float(np.min(win.low)), levels.entry),
        max(float(np.max(win.high)), levels.entry),
    )
    exits = () if levels.exits_hidden else (levels.stop, levels.take_profit)
    lo, hi = price_span(core, exits)
    y_lim = y_limits(lo, hi)
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
    return x_lim, y_lim


def _feed_rsi(
    t: ChartTemplate, values: NDArray[np.float64], times: NDArray[np.int64], levels: ChartLevels
) -> None:
    """RSI line (NaN warm-up left blank), the strategy's thresholds and band, the 0-100 scale,
    the last value tagged on the scale, and dotted marks at the trigger and leg-2 start."""
    p = levels.params
    t.rsi_line.set_data(np.arange(len(values)), values)
    t.rsi_band.set_bounds(0.0, p.rsi_low, 1.0, p.rsi_high - p.rsi_low)
    for line, level in zip(t.rsi_thresholds, (p.rsi_high, p.rsi_low), strict=True):
        line.set_ydata([level, level])
    t.rsi_title.set_text(f"RSI {p.rsi_period}")
    finite = values[np.isfinite(values)]
    last = float(finite[-1]) if len(finite) else math.nan
    t.rsi_last_tag.set_visible(len(finite) > 0)
    t.rsi_last_tag.set_y(0.0 if math.isnan(last) else last)
    t.rsi_last_tag.set_text(f"{last:.1f}")
    to_px = t.rsi.transData
    room = RSI_TAG_HEIGHT_PT * t.fig.dpi / 72
    last_px = float(to_px.transform((0.0, 0.0 if math.isnan(last) else last))[1])
    for label, level in zip(t.rsi_scale, (0.0, p.rsi_low, p.rsi_high, 100.0), strict=True):
        label.set_y(level)
        label.set_text(f"{level:g}")
        covered = abs(float(to_px.transform((0.0, level))[1]) - last_px) < room
        label.set_visible(not (len(finite) and covered))
    marks = ((levels.trigger_time, "trigger", -0.6), (levels.leg2_start, "leg 2", 0.6))
    for mark, label, (when, name, dx) in zip(t.rsi_marks, t.rsi_mark_labels, marks,
                                             strict=True):  # fmt: skip
        x = bar_x(times, when)
        mark.set_visible(x is not None)
        mark.set_xdata([x or 0, x or 0])
        label.set_visible(x is not None)  # the trigger's left of its line, leg 2's right
        label.set_x((x or 0) + dx)
        label.set_text(name)
        label.set_horizontalalignment("right" if dx < 0 else "left")


def _feed_texts(
    t: ChartTemplate, candles: Candles, win: Candles, levels: ChartLevels, r: RendererBase
) -> None:
    """Title (bold headline, muted details right after it) and status; time labels that
    would be cut at the left edge start at their tick instead of centring on it, and one
    that would touch its left neighbour is dropped."""
    headline, details = chart_title(levels, candles.symbol, candles.timeframe_s, int(win.time[-1]))
    t.title.set_text(headline)
    width_px = t.fig.bbox.width
    gap_px = TITLE_GAP_PT * t.fig.dpi / 72
    t.title_detail.set_x((t.title.get_window_extent(r).x1 + gap_px) / width_px)
    t.title_detail.set_text(details)
    t.status.set_text(levels.status)
    left_px, kept_x1 = PRICE_RECT[0] * width_px, -math.inf
    for label in t.time_labels:
        label.set_horizontalalignment("center")
        if not label.get_visible():
            continue
        if label.get_window_extent(r).x0 < left_px:
            label.set_horizontalalignment("left")
        box = label.get_window_extent(r)
        if box.x0 < kept_x1 + gap_px:  # too close to the previous one (bars wider than text)
            label.set_visible(False)
        else:
            kept_x1 = box.x1


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(canvas: FigureCanvasAgg) -> bytes:
    """RGB PNG (alpha dropped: the figure is opaque), no filter, zlib level 1, no metadata
    chunks. Written here rather than by Pillow, whose per-row adaptive filter choice took
    ~10 ms of a chart, for ~3 ms and a slightly smaller file with this figure's flat colours
    (PNG spec, ISO/IEC 15948: IHDR, one IDAT, IEND)."""
    canvas.draw()  # type: ignore[no-untyped-call]
    width, height = canvas.get_width_height()
    rgba = np.asarray(canvas.buffer_rgba())  # type: ignore[no-untyped-call]
    rows = np.zeros((height, 1 + 3 * width), np.uint8)  # each row: filter type 0, then RGB
    rgb = rows[:, 1:]
    for channel in range(3):  # one plane at a time: 5x faster than copying 3-byte pixels
        rgb[:, channel::3] = rgba[:, :, channel]
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"".join((
        PNG_SIGNATURE,
        _png_chunk(b"IHDR", header),
        _png_chunk(b"IDAT", zlib.compress(rows.data, 1)),
        _png_chunk(b"IEND", b""),
    ))  # fmt: skip


def _draw(t: ChartTemplate, candles: Candles, win: Candles, values: NDArray[np.float64],
          levels: ChartLevels, fmt: str) -> None:  # fmt: skip
    """Feed every artist of `t` for this chart (the caller holds the render lock)."""
    x_lim, y_lim = _feed_axes(t, win, levels, fmt)
    feed_candles(t, win)
    # Bands from point 2 (the setup's bar), else from the last bar (a manual signal: now),
    # or from the left edge when point 2 is older than the window.
    x_from = float(len(win) - 1)
    if levels.point2 is not None:
        x2 = bar_x(win.time, levels.point2[0])
        x_from = x_lim[0] if x2 is None else float(x2)
    feed_levels(t, levels, x_lim, y_lim, fmt, x_from=x_from)
    feed_fib(t, levels, win.time, x_lim, y_lim)
    feed_points(t, levels, win.time)
    feed_last_price(t, win, x_lim, fmt)
    _feed_rsi(t, values, win.time, levels)
    _feed_texts(t, candles, win, levels, t.canvas.get_renderer())


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
    and take-profit lines and price tags, the last close marked on the price scale, and an
    RSI panel with its 0-100 scale and the strategy's thresholds. With Fib points (a strategy
    setup): "1 swing high/low" and "2 ..." joined by the dashed leg, the retracement levels
    0 %, 74 % (entry), 100 % and 127 % (stop), and risk/reward bands from point 2 on; without
    them (a manual signal) the levels alone.

    The window is the last `bars` bars of `candles`, extended left to include point 1 (see
    `chart_window`). To chart a backtest trade, pass the candles up to the trade's exit bar and
    `ChartLevels.from_setup(setup, status="TP hit · +3.25R")`. `rsi_values` (one per candle,
    e.g. the backtest's cached RSI) skips the computation; NaN warm-up values are not drawn.
    Deterministic: the same input gives the same bytes. Thread-safe: renders are serialised.
    """
    if len(candles) == 0:
        msg = "no candles to chart; pass at least one closed bar"
        raise ValueError(msg)
    if rsi_values is None:
        values = rsi(candles.close, levels.params.rsi_period)
    else:
        values = np.asarray(rsi_values, np.float64)
    if values.shape != (len(candles),):
        msg = f"{values.shape} RSI values for {len(candles)} candles; pass one per candle"
        raise ValueError(msg)
    start, stop = chart_window(candles, levels, bars)
    win = candles.slice(start, stop)
    if levels.digits is None:
        digits = price_digits(np.concatenate([win.open, win.high, win.low, win.close]))
    else:
        digits = levels.digits
    with _RENDER_LOCK:
        t = chart_template(width_px, height_px, dpi)
        _draw(t, candles, win, values[start:stop], levels, f".{digits}f")
        return _png(t.canvas)
