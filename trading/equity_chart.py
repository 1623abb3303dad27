"""The track record's chart as a PNG: the equity curve in R over the drawdown in R.

Pure rendering, as `trading.charting`: arrays and labels in, PNG bytes out; the object-oriented
matplotlib API (`Figure` + `FigureCanvasAgg`), never pyplot (global state, not thread-safe).
Dates are drawn as ISO days (``2026-03-01``): the same in every language, so only the title
and the two panel names need translating (the caller passes them).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

BACKGROUND = "#ffffff"
GRID = "#eceef2"
TEXT = "#1f2430"
MUTED = "#767d8c"
EQUITY = "#2962ff"
DRAWDOWN = "#d32f2f"
WIDTH_PX, HEIGHT_PX, DPI = 960, 600, 100
X_TICKS = 5


@dataclass(frozen=True, slots=True)
class EquityLabels:
    """The chart's text, already in the reader's language."""

    title: str
    equity: str  # the upper panel's axis name, e.g. "Equity (R)"
    drawdown: str  # the lower panel's, e.g. "Drawdown (R)"
    empty: str  # shown instead of the curves when there is no closed trade yet


def render_equity_png(
    time_s: Sequence[int],
    equity_r: Sequence[float],
    drawdown_r: Sequence[float],
    labels: EquityLabels,
) -> bytes:
    """A 960x600 PNG: cumulative R per close time (starting from 0 R before the first trade)
    above the drawdown in R drawn downwards from 0. Without trades: the title and `empty`."""
    if not len(time_s) == len(equity_r) == len(drawdown_r):
        msg = "time_s, equity_r and drawdown_r must have one value per closed trade each"
        raise ValueError(msg)
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor=BACKGROUND)
    FigureCanvasAgg(figure)
    figure.suptitle(labels.title, color=TEXT, fontsize=14, x=0.06, ha="left")
    if not time_s:
        figure.text(0.5, 0.5, labels.empty, ha="center", va="center", color=MUTED, fontsize=13)
        return _png(figure)
    # the curve starts at 0 R at the first close (a step drawn from the start of the record)
    x = [float(time_s[0]), *(float(t) for t in time_s)]
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.2]})
    top.step(x, [0.0, *equity_r], where="post", color=EQUITY, linewidth=2)
    top.axhline(0.0, color=MUTED, linewidth=0.8)
    bottom.fill_between(x, [0.0, *(-d for d in drawdown_r)], step="post", color=DRAWDOWN,
                        alpha=0.35, linewidth=0)  # fmt: skip
    bottom.step(x, [0.0, *(-d for d in drawdown_r)], where="post", color=DRAWDOWN, linewidth=1)
    for ax, name in ((top, labels.equity), (bottom, labels.drawdown)):
        ax.set_facecolor(BACKGROUND)
        ax.grid(True, color=GRID)
        ax.set_ylabel(name, color=TEXT)
        ax.tick_params(colors=MUTED)
        for spine in ax.spines.values():
            spine.set_color(GRID)
    span = max(x[-1] - x[0], 1.0)
    ticks = [x[0] + span * k / (X_TICKS - 1) for k in range(X_TICKS)]
    bottom.set_xlim(x[0] - span * 0.02, x[0] + span * 1.02)
    bottom.set_xticks(ticks, [f"{datetime.fromtimestamp(t, UTC):%Y-%m-%d}" for t in ticks])
    figure.subplots_adjust(
        left=0.08, right=0.95, top=0.9, bottom=0.08, hspace=0.08
    )  # room for the last date
    return _png(figure)


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", facecolor=BACKGROUND, metadata={"Software": None})
    return out.getvalue()
