"""A heatmap of R as a PNG: rows by columns of cells (months of years, hours, weekdays), each
coloured by its R (green above 0, red below, white at 0) and labelled with its value.

Pure rendering, as `trading.equity_chart`: values and labels in (already in the reader's
language), PNG bytes out, with matplotlib's object-oriented API (never pyplot).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

BACKGROUND = "#ffffff"
TEXT = "#1f2430"
MUTED = "#767d8c"
EMPTY_CELL = "#f3f4f6"
CMAP = "RdYlGn"
DPI = 100
CELL_W_PX, CELL_H_PX, MIN_CELL_W_PX, MAX_GRID_W_PX = 64, 44, 36, 880
STRONG = 0.6  # a cell this far towards the scale's end gets white text
MARGIN_W_PX, MARGIN_H_PX = 120, 110


@dataclass(frozen=True, slots=True)
class HeatmapLabels:
    title: str
    empty: str  # shown instead of the cells when no cell holds a value


def render_heatmap_png(
    values: Sequence[Sequence[float | None]],
    rows: Sequence[str],
    columns: Sequence[str],
    labels: HeatmapLabels,
    places: int = 1,
) -> bytes:
    """A PNG of ``values[i][j]`` (R; None: nothing closed there, drawn grey and blank) with
    `rows` down the left and `columns` along the top. The colour scale is centred on 0 R and
    symmetric (``+-max |R|``), so equal gains and losses look equally strong."""
    if len(values) != len(rows) or any(len(v) != len(columns) for v in values):
        msg = "values must have one row per row label and one value per column label"
        raise ValueError(msg)
    cells = [v for row in values for v in row if v is not None]
    if any(not math.isfinite(v) for v in cells):
        msg = "heatmap values must be finite R (None for an empty cell)"
        raise ValueError(msg)
    cell_w = max(MIN_CELL_W_PX, min(CELL_W_PX, MAX_GRID_W_PX // max(len(columns), 1)))
    width = MARGIN_W_PX + cell_w * max(len(columns), 6)
    height = MARGIN_H_PX + CELL_H_PX * max(len(rows), 1)
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor=BACKGROUND)
    FigureCanvasAgg(figure)
    figure.suptitle(labels.title, color=TEXT, fontsize=13, x=0.02, ha="left")
    if not cells:
        figure.text(0.5, 0.45, labels.empty, ha="center", va="center", color=MUTED, fontsize=12)
        return _png(figure)
    bound = max(max(abs(v) for v in cells), 1e-9)
    norm = TwoSlopeNorm(vmin=-bound, vcenter=0.0, vmax=bound)
    grid = [[math.nan if v is None else v for v in row] for row in values]
    ax = figure.add_axes((MARGIN_W_PX * 0.8 / width, 20 / height,
                          1 - MARGIN_W_PX / width, 1 - (MARGIN_H_PX + 10) / height))  # fmt: skip
    ax.set_facecolor(EMPTY_CELL)
    ax.imshow(grid, cmap=CMAP, norm=norm, aspect="auto", interpolation="nearest")
    size = 9 if cell_w >= CELL_W_PX else 7
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            if v is not None:
                ink = BACKGROUND if abs(v) / bound > STRONG else TEXT
                text = f"{v:+.{places}f}" if round(v, places) else f"{0:.{places}f}"
                ax.text(j, i, text, ha="center", va="center", color=ink, fontsize=size)
    ax.set_xticks(range(len(columns)), list(columns))
    ax.set_yticks(range(len(rows)), list(rows))
    ax.xaxis.tick_top()
    ax.tick_params(colors=TEXT, length=0, labelsize=9)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return _png(figure)


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", facecolor=BACKGROUND, metadata={"Software": None})
    return out.getvalue()
