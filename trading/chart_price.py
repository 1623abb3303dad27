"""The price panel's data, fed to a `ChartTemplate`'s artists: candles, entry/stop/take-profit
lines and tags (an arrow tag at the edge for a level off the chart), the Fib retracement levels,
points 1 and 2 with their names, and the last-price marker on the price scale.

Every property that depends on the data is set on every call (see `trading.charting`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from trading.candles import Candles
from trading.chart_figure import DOWN, DOWN_RGBA, UP, UP_RGBA, ChartTemplate
from trading.chart_layout import TAG_HEIGHT_PT, bar_x, spread_apart
from trading.chart_levels import ChartLevels, fib_levels, point_names
from trading.detector import Side

FIB_LABEL_HEIGHT_PT = 10  # an 8 pt Fib label plus air
LAST_TAG_HEIGHT_PT = 14  # the 8 pt last-price tag with its box
FIB_LABEL_OFFSET_BARS = 1.2  # Fib labels start this far right of the last candle
POINT_GAP_PT = 7  # between a point and the right edge of its label
POINT_HALF_HEIGHT_PT = 7.5  # half a point label (8.5 pt text in its box), plus air
POINT_OFFSET_PT = 11  # point 2's label above a high / below a low (fits in Y_PAD_FRACTION)


def _px(t: ChartTemplate, price: float) -> float:
    return float(t.price.transData.transform((0.0, price))[1])


def _price(t: ChartTemplate, px: float) -> float:
    return float(t.price.transData.inverted().transform((0.0, px))[1])


def _pt_px(t: ChartTemplate, points: float) -> float:
    return points * t.fig.dpi / 72


def feed_candles(t: ChartTemplate, win: Candles) -> None:
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


def feed_levels(
    t: ChartTemplate,
    levels: ChartLevels,
    x_lim: tuple[float, float],
    y_lim: tuple[float, float],
    fmt: str,
    x_from: float,
) -> None:
    """Entry/stop/TP lines and right-edge tags (pushed apart when close, kept inside the
    panel), risk and reward bands from `x_from` (point 2) right. A level outside `y_lim`
    has no line: its tag sits at that edge with an arrow ("TP 1.06379 ▼")."""
    shown = not levels.exits_hidden  # else the entry alone (its line and tag are the last)
    for band, far in zip(t.bands, (levels.stop, levels.take_profit), strict=True):
        band.set_visible(shown)
        band.set_bounds(x_from, levels.entry, x_lim[1] - x_from, far - levels.entry)
    named: tuple[tuple[str, float], ...] = (
        ("TP", levels.take_profit),
        ("SL", levels.stop),
        ("ENTRY", levels.entry),
    )
    if not shown:
        named = named[2:]
        for line, tag in zip(t.level_lines[:2], t.level_tags[:2], strict=True):
            line.set_visible(False)
            tag.set_visible(False)
    lines, tags = t.level_lines[-len(named) :], t.level_tags[-len(named) :]
    gap = _pt_px(t, TAG_HEIGHT_PT)
    low_px, high_px = _px(t, y_lim[0]) + gap / 2, _px(t, y_lim[1]) - gap / 2
    wanted: list[float] = []
    for i, (name, price) in enumerate(named):
        arrow = " ▼" if price < y_lim[0] else " ▲" if price > y_lim[1] else ""
        lines[i].set_visible(not arrow)
        lines[i].set_ydata([price, price])
        tags[i].set_visible(True)
        tags[i].set_text(f"{name} {price:{fmt}}{arrow}")
        wanted.append(min(max(_px(t, price), low_px), high_px))
    for tag, px in zip(tags, spread_apart(wanted, gap, low_px, high_px), strict=True):
        tag.set_y(_price(t, px))


def feed_fib(
    t: ChartTemplate,
    levels: ChartLevels,
    times: NDArray[np.int64],
    x_lim: tuple[float, float],
    y_lim: tuple[float, float],
) -> None:
    """Dashed retracement lines from point 1 (or the left edge, when it is older than the
    window) to just past the last candle, each labelled with its percentage there, above the
    line (so the entry and stop lines, on the same prices, do not strike it through)."""
    fibs = [f for f in fib_levels(levels) if y_lim[0] <= f.price <= y_lim[1]]
    x_end = len(times) - 1 + FIB_LABEL_OFFSET_BARS
    x_start = x_lim[0]
    if levels.point1 is not None:
        x_start = bar_x(times, levels.point1[0]) or x_lim[0]
    t.fib_lines.set_segments([[(x_start, f.price), (x_end, f.price)] for f in fibs])
    gap = _pt_px(t, FIB_LABEL_HEIGHT_PT)
    low_px, high_px = _px(t, y_lim[0]) + gap / 2, _px(t, y_lim[1]) - gap / 2
    above = [_px(t, f.price) + gap / 2 for f in fibs]  # each label just above its line
    placed = spread_apart(above, gap, low_px, high_px)
    for i, label in enumerate(t.fib_labels):
        label.set_visible(i < len(fibs))
        if i < len(fibs):
            label.set_text(fibs[i].label)
            label.set_position((x_end + 0.4, _price(t, placed[i])))


def _clear_of_stop(t: ChartTemplate, levels: ChartLevels, price: float) -> bool:
    """Whether a label beyond `price` (point 1) stays clear of the stop line past it."""
    room_px = abs(_px(t, levels.stop) - _px(t, price))
    return room_px >= _pt_px(t, POINT_OFFSET_PT + POINT_HALF_HEIGHT_PT)


def feed_points(t: ChartTemplate, levels: ChartLevels, times: NDArray[np.int64]) -> None:
    """Names "1 swing high" and "2 swing low" (a buy's the other way round) left of and
    beyond their points (above a high, below a low), and the dashed Fib leg between them; a
    point outside the window has no label."""
    sell = levels.side is Side.SELL
    xs: list[float] = []
    ys: list[float] = []
    points = ((levels.point1, sell), (levels.point2, not sell))
    names = point_names(levels.side)
    for k, (label, (point, is_high)) in enumerate(zip(t.point_labels, points, strict=True)):
        x = None if point is None else bar_x(times, point[0])
        label.set_visible(point is not None and x is not None)
        if point is not None and x is not None:
            xs.append(x)
            ys.append(point[1])
            label.set_text(f"{k + 1} {names[k]}")
            # Left of the point (right of point 2 are the newest bars and the Fib labels) and
            # beyond its extreme, clear of the candles; point 1 only when that keeps clear of
            # the stop line beyond it, else level with the point.
            beyond = k == 1 or _clear_of_stop(t, levels, point[1])
            dy = 0 if not beyond else POINT_OFFSET_PT if is_high else -POINT_OFFSET_PT
            px = t.price.transData.transform((x, point[1]))
            at = (px[0] - _pt_px(t, POINT_GAP_PT), px[1] + _pt_px(t, dy))
            label.set_position(tuple(t.price.transData.inverted().transform(at)))
    t.leg.set_data(xs, ys)


def feed_last_price(t: ChartTemplate, win: Candles, x_lim: tuple[float, float], fmt: str) -> None:
    """A dotted line from the last candle at its close and a tag with that price on the price
    scale, coloured like the candle; price-scale tick labels the tag would cover are hidden
    (call after the tick labels are set)."""
    last = float(win.close[-1])
    t.last_line.set_data([len(win) - 1, x_lim[1]], [last, last])
    t.last_tag.set_y(last)
    t.last_tag.set_text(f"{last:{fmt}}")
    rising = bool(win.close[-1] >= win.open[-1])
    patch = t.last_tag.get_bbox_patch()
    if patch is not None:
        patch.set_facecolor(UP if rising else DOWN)
    last_px, room = _px(t, last), _pt_px(t, LAST_TAG_HEIGHT_PT)
    for label in t.price_labels:
        if abs(_px(t, label.get_position()[1]) - last_px) < room:
            label.set_visible(False)
