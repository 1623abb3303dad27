"""Backtest report: one HTML page plus PNG charts (matplotlib, Agg backend, no mplfinance).

Charts: equity with drawdown, monthly returns heatmap, and one trade on candlesticks with its
Fibonacci construction (point 1, point 2, entry, stop, take-profit) above an RSI panel.
Candles are drawn with ``vlines`` (wicks) and ``bar`` (bodies) on a bar-index axis: fast.
"""

from __future__ import annotations

import html
import math
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from trading.backtest import BacktestResult, Trade  # noqa: E402
from trading.backtest_export import trade_row  # noqa: E402
from trading.candles import Candles  # noqa: E402
from trading.detector import Setup  # noqa: E402
from trading.indicators import rsi  # noqa: E402
from trading.metrics import drawdown  # noqa: E402
from trading.timeutil import to_unix_s  # noqa: E402

__all__ = [
    "monthly_returns_pct",
    "plot_equity",
    "plot_monthly_returns",
    "plot_trade",
    "write_report",
]


def monthly_returns_pct(
    time_s: NDArray[np.int64], equity: NDArray[np.float64], start_equity: float
) -> tuple[list[int], NDArray[np.float64]]:
    """Monthly returns in percent: ``(E_m / E_{m-1} - 1) * 100`` where ``E_m`` is the last equity
    of UTC month ``m`` and ``E_0`` the starting equity. Returns ``(years, matrix)`` with
    ``matrix[year_row, month - 1]`` (NaN for months without data)."""
    months = [datetime.fromtimestamp(int(t), UTC) for t in time_s]
    keys = np.array([m.year * 12 + m.month - 1 for m in months])
    last = np.flatnonzero(np.append(keys[1:] != keys[:-1], True))
    closes = np.concatenate(([start_equity], equity[last]))
    returns = (closes[1:] / closes[:-1] - 1.0) * 100.0
    years = sorted({int(k) // 12 for k in keys[last]})
    matrix = np.full((len(years), 12), np.nan)
    for k, r in zip(keys[last], returns, strict=True):
        matrix[years.index(int(k) // 12), int(k) % 12] = r
    return years, matrix


def plot_equity(result: BacktestResult, path: Path) -> Path:
    """Equity (money) over time, and the drawdown in percent below it."""
    times = result.equity_time_s.astype("datetime64[s]")
    _, dd_pct = drawdown(result.equity)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 5), sharex=True, height_ratios=(3, 1))
    ax1.plot(times, result.equity, color="#1f77b4", lw=1.2)
    ax1.set_ylabel("equity")
    ax1.set_title(f"{result.symbol}: equity and drawdown")
    ax1.grid(alpha=0.3)
    ax2.fill_between(times, -dd_pct, 0, color="#d62728", alpha=0.5, lw=0)
    ax2.set_ylabel("drawdown %")
    ax2.grid(alpha=0.3)
    return _save(fig, path)


def plot_monthly_returns(result: BacktestResult, path: Path) -> Path:
    """Heatmap of monthly returns (percent), years by months."""
    years, matrix = monthly_returns_pct(
        result.equity_time_s, result.equity, float(result.equity[0])
    )
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.5 * len(years)))
    limit = float(np.nanmax(np.abs(matrix))) if np.isfinite(matrix).any() else 1.0
    ax.imshow(matrix, cmap="RdYlGn", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(12), ["J", "F", "M", "A", "M", "J", "J", "A", "S", "O", "N", "D"])
    ax.set_yticks(range(len(years)), [str(y) for y in years])
    for (row, col), value in np.ndenumerate(matrix):
        if math.isfinite(value):
            ax.text(col, row, f"{value:.1f}", ha="center", va="center", fontsize=8)
    ax.set_title("monthly returns %")
    return _save(fig, path)


def _window(candles: Candles, setup: Setup | None, trade: Trade, pad: int) -> slice:
    first_s = to_unix_s(setup.point1_time if setup is not None else trade.entry_time)
    lo = int(np.searchsorted(candles.time, first_s)) - pad
    hi = int(np.searchsorted(candles.time, to_unix_s(trade.exit_time))) + pad
    return slice(max(0, lo), min(len(candles), hi + 1))


def _candles(ax: Axes, candles: Candles, window: slice) -> None:
    o, h = candles.open[window], candles.high[window]
    lo, c = candles.low[window], candles.close[window]
    x = np.arange(len(o))
    ax.vlines(x, lo, h, color="#555555", lw=0.7)
    colors = np.where(c >= o, "#2ca02c", "#d62728")
    ax.bar(x, np.abs(c - o), bottom=np.minimum(o, c), width=0.7, color=colors)


def _levels(ax: Axes, trade: Trade, setup: Setup | None, times: NDArray[np.int64]) -> None:
    def xi(time: datetime) -> int:
        return int(np.searchsorted(times, to_unix_s(time)))

    for label, price, color in (
        ("entry", trade.entry_price, "#1f77b4"),
        ("stop", trade.stop, "#d62728"),
        ("take-profit", trade.take_profit, "#2ca02c"),
    ):
        ax.axhline(float(price), color=color, lw=1, ls="--", label=f"{label} {price}")
    if setup is not None:
        xs = [xi(setup.point1_time), xi(setup.point2_time)]
        ys = [setup.point1_price, setup.point2_price]
        ax.plot(xs, ys, "o-", color="#9467bd", label="point 1 -> point 2")
    marker = "^" if trade.side == "buy" else "v"
    ax.plot([xi(trade.entry_time)], [float(trade.entry_price)], marker, color="k", ms=9)
    ax.plot([xi(trade.exit_time)], [float(trade.exit_price)], "x", color="k", ms=9)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)


def _rsi_panel(
    ax: Axes, values: NDArray[np.float64], times: NDArray[np.int64], high: float, low: float
) -> None:
    x = np.arange(len(values))
    ax.plot(x, values, color="#ff7f0e", lw=1)
    for level in (high, low):
        ax.axhline(level, color="#888888", ls=":")
    ax.set_ylim(0, 100)
    ax.set_ylabel("RSI")
    ticks = x[:: max(1, len(x) // 8)]
    labels = [datetime.fromtimestamp(int(times[i]), UTC).strftime("%m-%d %H:%M") for i in ticks]
    ax.set_xticks(ticks, labels, fontsize=8)


def plot_trade(
    result: BacktestResult, candles: Candles, trade: Trade, path: Path, *, pad_bars: int = 20
) -> Path:
    """One trade: candles from point 1 to the exit (plus ``pad_bars``), the setup's points,
    entry/stop/take-profit lines, entry/exit markers, and RSI with its thresholds below."""
    setup = next(
        (s for s in result.setups if s.leg2_start == trade.setup_key and s.side == trade.side),
        None,
    )
    window = _window(candles, setup, trade, pad_bars)
    params = result.config.params
    fig, (ax, ax_rsi) = plt.subplots(2, 1, figsize=(11, 6), sharex=True, height_ratios=(3, 1))
    _candles(ax, candles, window)
    _levels(ax, trade, setup, candles.time[window])
    ax.set_title(
        f"{result.symbol} {trade.side} #{trade.ticket}: {trade.exit_reason}, "
        f"{trade.r_multiple:+.2f} R"
    )
    r = rsi(candles.close, params.rsi_period)[window]
    _rsi_panel(ax_rsi, r, candles.time[window], params.rsi_high, params.rsi_low)
    return _save(fig, path)


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _metrics_rows(result: BacktestResult) -> str:
    rows = []
    for name in result.metrics.__dataclass_fields__:
        value = getattr(result.metrics, name)
        text = f"{value:,.2f}" if isinstance(value, float) else str(value)
        rows.append(f"<tr><th>{html.escape(name)}</th><td>{html.escape(text)}</td></tr>")
    return "\n".join(rows)


def _trade_rows(result: BacktestResult) -> str:
    rows = [trade_row(t) for t in result.trades]
    if not rows:
        return "<p>No trades.</p>"
    head = "".join(f"<th>{html.escape(k)}</th>" for k in rows[0])
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row.values()) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>\n{body}</table>"


def write_report(
    result: BacktestResult, candles: Candles, out_dir: Path, *, trade: int | None = None
) -> Path:
    """Write ``index.html`` and its PNGs into ``out_dir`` (created); returns the HTML path.

    ``trade``: index into ``result.trades`` for the trade chart (default: the best R)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    images = [
        plot_equity(result, out_dir / "equity.png"),
        plot_monthly_returns(result, out_dir / "monthly_returns.png"),
    ]
    if result.trades:
        chosen = (
            trade if trade is not None else int(np.argmax([t.r_multiple for t in result.trades]))
        )
        if not 0 <= chosen < len(result.trades):
            msg = f"trade index {chosen} out of range: the run has {len(result.trades)} trades"
            raise ValueError(msg)
        images.append(plot_trade(result, candles, result.trades[chosen], out_dir / "trade.png"))
    imgs = "\n".join(f'<img src="{p.name}" alt="{p.stem}">' for p in images)
    page = _PAGE.format(
        title=html.escape(f"{result.symbol} backtest"),
        summary=html.escape(
            f"{result.bars} bars, {len(result.setups)} setups, {len(result.orders)} order events, {len(result.trades)} trades"
        ),
        metrics=_metrics_rows(result),
        images=imgs,
        trades=_trade_rows(result),
    )
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px;font-size:13px}}img{{max-width:100%;display:block;margin:1em 0}}</style>
</head><body><h1>{title}</h1><p>{summary}</p>
<h2>Metrics</h2><table>{metrics}</table>
<h2>Charts</h2>{images}
<h2>Trades</h2>{trades}
</body></html>
"""
