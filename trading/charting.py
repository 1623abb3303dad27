"""The signal chart: candles, RSI panel, Fib points 1 and 2, entry/stop/take-profit (PNG bytes).

Pure rendering: candles and levels in, PNG bytes out; no DB, Telegram or web. Built on the
object-oriented matplotlib API (`Figure` + `FigureCanvasAgg`), never pyplot (slow global state,
not thread-safe). Speed (budget < 60 ms per 960x600 chart on 2 cores), measured, not guessed:
- one figure per pixel size is built once (`_Template`) and each call only feeds new data to
  its artists: creating axes, ticks and texts cost as much as drawing them;
- matplotlib's axis machinery is off; the few tick labels and grid lines are our own artists;
- candles are two collections (wicks: one `LineCollection`, which is what `vlines` builds;
  bodies: one `PolyCollection`), never a patch per bar;
- the PNG is RGB (no alpha) deflated at zlib level 1: ~9 ms against ~25 ms at the default
  level, for ~55 KB instead of ~47 KB. A fast-octree palette was faster still but merged the
  light tints (RSI band, background) into grey.
Every artist property is set on every call and the PNG carries no metadata, so the same input
gives the same bytes whatever was rendered before (charts can be cached by content).
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import blended_transform_factory
from numpy.typing import NDArray
from PIL import Image

from trading import constants as C
from trading.candles import Candles
from trading.detector import Setup, Side
from trading.indicators import rsi
from trading.timeutil import to_unix_s

MAX_BARS = 300  # the window never grows past this, even to reach point 1
POINT1_MARGIN_BARS = 5  # context bars left of point 1 when the window is extended for it
RIGHT_PAD_FRACTION = 0.2  # empty space right of the last bar, where the level tags sit
MAX_X_TICKS = 6
TAG_HEIGHT_PT = 17  # a 9 pt level tag with its box, plus 1 pt of air
MAX_Y_TICKS = 7

# Axes rectangles in figure fractions (left, bottom, width, height): fixed, no layout engine.
PRICE_RECT = (0.012, 0.31, 0.898, 0.615)
RSI_RECT = (0.012, 0.075, 0.898, 0.205)

BACKGROUND = "#ffffff"
GRID = "#eceef2"
FRAME = "#d5d9e0"
TEXT = "#1f2430"
MUTED = "#767d8c"
UP = "#26a69a"
DOWN = "#ef5350"
ENTRY = "#2962ff"
STOP = "#d32f2f"
TAKE_PROFIT = "#2e7d32"
FIB = "#f57c00"
RSI_LINE = "#7e57c2"
RSI_BAND = "#f4f0fb"
_UP_RGBA = np.array(to_rgba(UP))
_DOWN_RGBA = np.array(to_rgba(DOWN))

# Matplotlib's font and text caches are process-wide and not documented as thread-safe, and a
# template figure is shared; renders run in worker threads (`asyncio.to_thread`): serialise.
_RENDER_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class ChartLevels:
    """What to draw over the candles. Times are aware datetimes or unix seconds of bar OPENs
    (as in `Setup`); prices in quote units. `digits`: decimals of the price labels (None:
    inferred from the candles). `title` e.g. "EURUSD H1 · SELL · v2"; `status` a short
    right-aligned note such as "Pending" or "Filled at 1.07219"."""

    side: Side
    entry: float
    stop: float
    take_profit: float
    point1: tuple[datetime | int, float]
    point2: tuple[datetime | int, float]
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
        prices = (self.entry, self.stop, self.take_profit, self.point1[1], self.point2[1])
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


def _bar_x(times: NDArray[np.int64], t: datetime | int | None) -> int | None:
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


def _add_lines(ax: Axes, **kwargs: Any) -> LineCollection:
    lines = LineCollection([], **kwargs)
    ax.add_collection(lines, autolim=False)
    return lines


def _add_rect(ax: Axes, rect: Rectangle) -> Rectangle:
    ax.add_patch(rect)
    return rect


class _Template:
    """A figure with every artist the chart needs, built once per pixel size and re-fed with
    data by `render_signal_chart` (all data-dependent properties are set on every call)."""

    def __init__(self, width_px: int, height_px: int, dpi: int) -> None:
        # +0.01 px: Agg truncates the canvas size, and 960/72*72 may come out as 959.999...
        size = ((width_px + 0.01) / dpi, (height_px + 0.01) / dpi)
        self.fig = Figure(figsize=size, dpi=dpi, facecolor=BACKGROUND)
        self.canvas = FigureCanvasAgg(self.fig)
        self.price = self._panel(PRICE_RECT)
        self.rsi = self._panel(RSI_RECT)
        self._build_price()
        self._build_rsi()
        f = self.fig
        self.title = f.text(0.012, 0.963, "", va="center", fontsize=13, weight="bold", color=TEXT)
        self.status = f.text(0.91, 0.963, "", ha="right", va="center", fontsize=10, color=MUTED)
        # Under the axes content (zorder < 0; the axes patch is off), clear of the level tags.
        f.text(0.02, 0.325, "SignalDesk", va="bottom", fontsize=10, color="#c3c8d1",
               weight="bold", style="italic", zorder=-1)  # fmt: skip

    def _panel(self, rect: tuple[float, float, float, float]) -> Axes:
        ax = self.fig.add_axes(rect)
        ax.set_axis_off()  # no matplotlib ticks: our own texts and one grid collection
        ax.set_autoscale_on(False)
        for x0, y0, x1, y1 in ((0, 0, 1, 0), (1, 0, 1, 1)):  # bottom and price-scale border
            ax.add_line(Line2D([x0, x1], [y0, y1], transform=ax.transAxes, color=FRAME, lw=1))
        return ax

    def _labels(self, ax: Axes, count: int, *, y_axis: bool) -> list[Text]:
        """Tick labels: right of the price scale (`y_axis`) or under the RSI panel."""
        if y_axis:
            trans = blended_transform_factory(ax.transAxes, ax.transData)
            kw: dict[str, Any] = {"x": 1.008, "y": 0.0, "ha": "left", "va": "center"}
        else:
            trans = blended_transform_factory(ax.transData, ax.transAxes)
            kw = {"x": 0.0, "y": -0.07, "ha": "center", "va": "top"}
        return [
            ax.text(s="", transform=trans, fontsize=8, color=MUTED, **kw) for _ in range(count)
        ]

    def _build_price(self) -> None:
        ax = self.price
        self.price_grid = _add_lines(ax, colors=GRID, lw=0.8, zorder=0)
        self.bands = [
            _add_rect(ax, Rectangle((0, 0), 0, 0, color=c, alpha=0.09, lw=0, zorder=1))
            for c in (STOP, TAKE_PROFIT)
        ]
        self.wicks = _add_lines(ax, linewidths=1.0, zorder=2)
        self.bodies = PolyCollection([], linewidths=0.6, zorder=3)
        ax.add_collection(self.bodies, autolim=False)
        trans = blended_transform_factory(ax.transAxes, ax.transData)
        self.level_lines: list[Line2D] = []
        self.level_tags: list[Text] = []
        for color in (TAKE_PROFIT, STOP, ENTRY):
            self.level_lines.append(ax.axhline(0, color=color, lw=1.2, zorder=4))
            self.level_tags.append(
                ax.text(
                    0.995,
                    0,
                    "",
                    transform=trans,
                    ha="right",
                    va="center",
                    fontsize=9,
                    color="white",
                    weight="bold",
                    zorder=6,
                    bbox={"boxstyle": "round,pad=0.28", "fc": color, "ec": "none"},
                )  # fmt: skip
            )
        (self.leg,) = ax.plot([], [], color=FIB, lw=1.4, ls=(0, (4, 3)), marker="o", ms=4.5,
                              zorder=7)  # fmt: skip
        self.point_labels = [
            ax.annotate(
                label,
                (0, 0),
                xytext=(0, 0),
                textcoords="offset points",
                ha="center",
                va="center",
                fontsize=9,
                weight="bold",
                color="white",
                zorder=8,
                bbox={"boxstyle": "circle,pad=0.25", "fc": FIB, "ec": "none"},
            )  # fmt: skip
            for label in ("1", "2")
        ]
        self.price_labels = self._labels(ax, MAX_Y_TICKS, y_axis=True)

    def _build_rsi(self) -> None:
        ax = self.rsi
        ax.set_ylim(0, 100)
        ax.axhspan(C.RSI_LOW, C.RSI_HIGH, color=RSI_BAND, lw=0, zorder=0)
        self.rsi_grid = _add_lines(ax, colors=GRID, lw=0.8, zorder=0)
        trans = blended_transform_factory(ax.transAxes, ax.transData)
        for level in (C.RSI_HIGH, C.RSI_LOW):
            ax.axhline(level, color=MUTED, lw=0.8, ls=(0, (3, 3)), zorder=1)
            ax.text(1.008, level, f"{level:.0f}", transform=trans, va="center", fontsize=8,
                    color=MUTED)  # fmt: skip
        self.rsi_marks = [ax.axvline(0, color=FIB, lw=0.9, ls=":", zorder=1) for _ in "12"]
        (self.rsi_line,) = ax.plot([], [], color=RSI_LINE, lw=1.2, zorder=3)
        ax.text(0.006, 0.95, f"RSI {C.RSI_PERIOD}", transform=ax.transAxes, va="top",
                fontsize=8, color=MUTED)  # fmt: skip
        self.time_labels = self._labels(ax, MAX_X_TICKS + 1, y_axis=False)


_TEMPLATES: dict[tuple[int, int, int], _Template] = {}
_MAX_TEMPLATES = 4


def _template(width_px: int, height_px: int, dpi: int) -> _Template:
    if width_px < 200 or height_px < 150 or not 10 <= dpi <= 600:
        msg = f"chart size {width_px}x{height_px}px at {dpi} dpi; use >= 200x150 px, 10-600 dpi"
        raise ValueError(msg)
    key = (width_px, height_px, dpi)
    if key not in _TEMPLATES:
        if len(_TEMPLATES) >= _MAX_TEMPLATES:
            del _TEMPLATES[next(iter(_TEMPLATES))]
        _TEMPLATES[key] = _Template(width_px, height_px, dpi)
    return _TEMPLATES[key]


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


def _feed_candles(t: _Template, win: Candles) -> None:
    """Wick segments and body quads for every bar, coloured by direction, in two arrays."""
    n = len(win)
    x = np.arange(n, dtype=np.float64)
    # `Any`: matplotlib's stubs omit the (n, 4) RGBA and (n, k, 2) vertex arrays it accepts.
    colors: Any = np.where((win.close >= win.open)[:, None], _UP_RGBA, _DOWN_RGBA)
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


def _feed_levels(t: _Template, levels: ChartLevels, x_from: float, x_to: float, fmt: str) -> None:
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


def _feed_points(t: _Template, levels: ChartLevels, times: NDArray[np.int64]) -> None:
    """Circled "1" and "2" above a high / below a low, and the dashed Fib leg between them."""
    sell = levels.side is Side.SELL
    xs: list[float] = []
    ys: list[float] = []
    points = ((levels.point1, sell), (levels.point2, not sell))
    for label, ((when, price), is_high) in zip(t.point_labels, points, strict=True):
        x = _bar_x(times, when)
        label.set_visible(x is not None)
        if x is not None:
            xs.append(x)
            ys.append(price)
            label.xy = (x, price)
            label.set_position((0, 13 if is_high else -13))
    t.leg.set_data(xs, ys)


def _feed_rsi(
    t: _Template, values: NDArray[np.float64], times: NDArray[np.int64], levels: ChartLevels
) -> None:
    """RSI line (NaN warm-up left blank) and dotted marks at the trigger and leg-2 start."""
    t.rsi_line.set_data(np.arange(len(values)), values)
    for mark, when in zip(t.rsi_marks, (levels.trigger_time, levels.leg2_start), strict=True):
        x = _bar_x(times, when)
        mark.set_visible(x is not None)
        mark.set_xdata([x or 0, x or 0])


def _feed_axes(t: _Template, win: Candles, levels: ChartLevels, fmt: str) -> tuple[float, float]:
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
        t = _template(width_px, height_px, dpi)
        x_lim = _feed_axes(t, win, levels, fmt)
        _feed_candles(t, win)
        x2 = _bar_x(win.time, levels.point2[0])
        _feed_levels(t, levels, float(x_lim[0] if x2 is None else x2), x_lim[1], fmt)
        _feed_points(t, levels, win.time)
        _feed_rsi(t, values[start:stop], win.time, levels)
        t.title.set_text(levels.title or f"{candles.symbol} · {levels.side.value.upper()}")
        t.status.set_text(levels.status)
        return _png(t.canvas)
