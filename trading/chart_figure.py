"""The signal chart's figure: theme colours, panel rectangles and `ChartTemplate`, the figure
with every artist the chart needs, built once per pixel size and cached (`chart_template`).

`trading.charting` feeds data to a template's artists and renders it to PNG.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import blended_transform_factory

from trading.chart_glyphs import GlyphCacheCanvas
from trading.chart_layout import MAX_X_TICKS, MAX_Y_TICKS

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
WATERMARK = "#c3c8d1"
FIB_LEVELS = 4  # 0 %, entry, 100 %, stop (trading.chart_levels.fib_levels)
UP_RGBA = np.array(to_rgba(UP))
DOWN_RGBA = np.array(to_rgba(DOWN))


def _add_lines(ax: Axes, **kwargs: Any) -> LineCollection:
    lines = LineCollection([], **kwargs)
    ax.add_collection(lines, autolim=False)
    return lines


def _add_rect(ax: Axes, rect: Rectangle) -> Rectangle:
    ax.add_patch(rect)
    return rect


def _tag(ax: Axes, trans: Any, x: float, color: str, **kw: Any) -> Text:
    """A white bold label on a rounded box of `color` (level tags, last price, last RSI)."""
    return ax.text(
        x, 0, "", transform=trans, va="center", color="white", weight="bold",
        bbox={"boxstyle": "round,pad=0.28", "fc": color, "ec": "none"}, **kw,
    )  # fmt: skip


class ChartTemplate:
    """A figure with every artist the chart needs, built once per pixel size and re-fed with
    data by `render_signal_chart` (all data-dependent properties are set on every call)."""

    def __init__(self, width_px: int, height_px: int, dpi: int) -> None:
        # +0.01 px: Agg truncates the canvas size, and 960/72*72 may come out as 959.999...
        size = ((width_px + 0.01) / dpi, (height_px + 0.01) / dpi)
        self.fig = Figure(figsize=size, dpi=dpi, facecolor=BACKGROUND)
        self.canvas = GlyphCacheCanvas(self.fig)  # texts drawn from remembered glyphs
        self.price = self._panel(PRICE_RECT)
        self.rsi = self._panel(RSI_RECT)
        self._build_price()
        self._build_rsi()
        f = self.fig
        self.title = f.text(0.012, 0.963, "", va="center", fontsize=13, weight="bold", color=TEXT)
        self.title_detail = f.text(0.3, 0.963, "", va="center", fontsize=10, color=MUTED)
        self.status = f.text(0.91, 0.963, "", ha="right", va="center", fontsize=10, color=MUTED)
        # In the footer, under the time labels: no level line, tag or candle ever reaches it.
        self.watermark = f.text(0.99, 0.012, "SignalDesk", ha="right", va="bottom", fontsize=9,
                                color=WATERMARK, weight="bold", style="italic")  # fmt: skip

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
        self.fib_lines = _add_lines(ax, colors=FIB, lw=0.9, alpha=0.75, linestyles=(0, (2, 2)),
                                    zorder=2)  # fmt: skip
        self.fib_labels = [
            ax.text(0, 0, "", ha="left", va="center", fontsize=8, color=FIB, zorder=6)
            for _ in range(FIB_LEVELS)
        ]
        self.wicks = _add_lines(ax, linewidths=1.0, zorder=2)
        self.bodies = PolyCollection([], linewidths=0.6, zorder=3)
        ax.add_collection(self.bodies, autolim=False)
        trans = blended_transform_factory(ax.transAxes, ax.transData)
        self.level_lines: list[Line2D] = []
        self.level_tags: list[Text] = []
        for color in (TAKE_PROFIT, STOP, ENTRY):
            self.level_lines.append(ax.axhline(0, color=color, lw=1.2, zorder=4))
            self.level_tags.append(_tag(ax, trans, 0.995, color, ha="right", fontsize=9,
                                        zorder=6))  # fmt: skip
        (self.last_line,) = ax.plot([], [], color=MUTED, lw=0.8, ls=(0, (1, 2)), zorder=4)
        self.last_tag = _tag(ax, trans, 1.004, TEXT, ha="left", fontsize=8, zorder=7)
        self.last_tag.set_clip_on(False)
        (self.leg,) = ax.plot([], [], color=FIB, lw=1.4, ls=(0, (4, 3)), marker="o", ms=4.5,
                              zorder=7)  # fmt: skip
        # Plain texts placed in data units by `feed_points` (annotations cost twice as much).
        self.point_labels = [
            ax.text(
                0,
                0,
                "",
                ha="right",
                va="center",
                fontsize=8.5,
                weight="bold",
                color="white",
                zorder=8,
                bbox={"boxstyle": "round,pad=0.3", "fc": FIB, "ec": "none"},
            )  # fmt: skip
            for _ in "12"
        ]
        self.price_labels = self._labels(ax, MAX_Y_TICKS, y_axis=True)

    def _build_rsi(self) -> None:
        ax = self.rsi
        ax.set_ylim(0, 100)
        self.rsi_band = _add_rect(ax, Rectangle((0, 0), 1, 0, color=RSI_BAND, lw=0, zorder=0,
                                                transform=ax.get_yaxis_transform()))  # fmt: skip
        self.rsi_grid = _add_lines(ax, colors=GRID, lw=0.8, zorder=0)
        trans = blended_transform_factory(ax.transAxes, ax.transData)
        self.rsi_thresholds = [
            ax.axhline(0, color=MUTED, lw=0.8, ls=(0, (3, 3)), zorder=1) for _ in "hl"
        ]
        # The RSI scale: 0, the strategy's low and high thresholds, 100 (right of the panel).
        self.rsi_scale = [
            ax.text(1.008, 0, "", transform=trans, va="center", fontsize=8, color=MUTED)
            for _ in range(4)
        ]
        self.rsi_marks = [ax.axvline(0, color=FIB, lw=0.9, ls=":", zorder=1) for _ in "12"]
        self.rsi_mark_labels = [
            ax.text(
                0,
                0.97,
                "",
                transform=ax.get_xaxis_transform(),
                ha="left",
                va="top",
                fontsize=7.5,
                color=FIB,
                zorder=2,
            )  # fmt: skip
            for _ in "12"
        ]
        (self.rsi_line,) = ax.plot([], [], color=RSI_LINE, lw=1.2, zorder=3)
        self.rsi_last_tag = _tag(ax, trans, 1.004, RSI_LINE, ha="left", fontsize=8, zorder=7)
        self.rsi_last_tag.set_clip_on(False)
        self.rsi_title = ax.text(0.006, 0.95, "", transform=ax.transAxes, va="top",
                                 fontsize=8, color=MUTED)  # fmt: skip
        self.time_labels = self._labels(ax, MAX_X_TICKS + 1, y_axis=False)


_TEMPLATES: dict[tuple[int, int, int], ChartTemplate] = {}
_MAX_TEMPLATES = 4


def chart_template(width_px: int, height_px: int, dpi: int) -> ChartTemplate:
    """The template for this pixel size, built on first use; the oldest of `_MAX_TEMPLATES`
    sizes is dropped to make room. Not thread-safe: `trading.charting` calls it under its lock."""
    if width_px < 200 or height_px < 150 or not 10 <= dpi <= 600:
        msg = f"chart size {width_px}x{height_px}px at {dpi} dpi; use >= 200x150 px, 10-600 dpi"
        raise ValueError(msg)
    key = (width_px, height_px, dpi)
    if key not in _TEMPLATES:
        if len(_TEMPLATES) >= _MAX_TEMPLATES:
            del _TEMPLATES[next(iter(_TEMPLATES))]
        _TEMPLATES[key] = ChartTemplate(width_px, height_px, dpi)
    return _TEMPLATES[key]
