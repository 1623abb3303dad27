"""Performance metrics: pure functions over an equity curve and a list of closed trades.

Conventions (the same as backtesting.py's ``_stats`` where they overlap): equity in account
money sampled at bar closes, times in unix seconds UTC, ratios undefined -> NaN (through the one
NaN-safe division, :func:`trading.numeric.safe_div`). Metrics are statistics, not ledger
entries, so they are floats; the ledger itself (balances, trade profits) is Decimal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trading.numeric import safe_div

__all__ = [
    "MONTHS_PER_YEAR",
    "TRADING_DAYS",
    "annual_r",
    "bootstrap_mean_range",
    "Metrics",
    "average_r",
    "average_r_of_sum",
    "cagr_pct",
    "calmar",
    "calmar_r",
    "compute_metrics",
    "cumulative_r",
    "daily_returns",
    "drawdown",
    "drawdown_r",
    "expectancy_money",
    "expectancy_r",
    "exposure_pct",
    "max_drawdown",
    "max_drawdown_r",
    "max_drawdown_window_r",
    "median",
    "monthly_r",
    "net_profit",
    "profit_factor",
    "profit_factor_of_sums",
    "realised_r",
    "sharpe",
    "slippage_r",
    "sortino",
    "win_rate_pct",
    "win_rate_pct_of_counts",
]

TRADING_DAYS = 252
MONTHS_PER_YEAR = 12
SECONDS_PER_DAY = 86_400
SECONDS_PER_YEAR = 365.25 * SECONDS_PER_DAY

Floats = NDArray[np.float64]


def _equity(values: ArrayLike) -> Floats:
    equity = np.asarray(values, dtype=np.float64)
    if equity.ndim != 1 or len(equity) == 0:
        msg = "equity must be a non-empty 1-D sequence of account values (one per bar close)"
        raise ValueError(msg)
    if not np.all(np.isfinite(equity)) or equity[0] <= 0:
        msg = "equity must be finite and start > 0; drop NaN rows or start from a real balance"
        raise ValueError(msg)
    return equity


def net_profit(equity: ArrayLike) -> float:
    """Net profit in money: ``E[-1] - E[0]``."""
    e = _equity(equity)
    return float(e[-1] - e[0])


def cagr_pct(time_s: ArrayLike, equity: ArrayLike) -> float:
    """Compound annual growth rate in percent.

    ``CAGR = ((E[-1] / E[0]) ** (1 / years) - 1) * 100`` with
    ``years = (t[-1] - t[0]) / (365.25 * 86400)``. NaN for a zero-length period.
    Reference: Investopedia, "Compound Annual Growth Rate (CAGR)".
    """
    e = _equity(equity)
    t = np.asarray(time_s, dtype=np.int64)
    years = (int(t[-1]) - int(t[0])) / SECONDS_PER_YEAR
    exponent = safe_div(1.0, years)
    if math.isnan(exponent):
        return math.nan
    if e[-1] <= 0:
        return -100.0
    return float((e[-1] / e[0]) ** exponent - 1.0) * 100.0


def drawdown(equity: ArrayLike) -> tuple[Floats, Floats]:
    """Drawdown per point: money ``peak_t - E_t`` and percent ``(peak_t - E_t) / peak_t * 100``,
    where ``peak_t = max(E_0..E_t)`` (running maximum). Both are >= 0."""
    e = _equity(equity)
    peak = np.maximum.accumulate(e)
    money = peak - e
    return money, money / peak * 100.0


def max_drawdown(equity: ArrayLike) -> tuple[float, float]:
    """Maximum drawdown ``(money, pct)``: the largest values of :func:`drawdown` (each may come
    from a different point). Reference: Magdon-Ismail & Atiya (2004), "Maximum drawdown"."""
    money, pct = drawdown(equity)
    return float(money.max()), float(pct.max())


def daily_returns(time_s: ArrayLike, equity: ArrayLike) -> Floats:
    """Simple returns of daily closes: ``r_d = C_d / C_{d-1} - 1``.

    ``C_d`` is the last equity value of UTC day ``d`` (days without bars are absent, as in
    backtesting.py's ``resample('D').last().dropna()``); the starting equity ``E[0]`` is the
    base of the first day, so the first day's profit counts.
    """
    e = _equity(equity)
    days = np.asarray(time_s, dtype=np.int64) // SECONDS_PER_DAY
    if len(days) != len(e):
        msg = f"time_s has {len(days)} values but equity has {len(e)}; pass one time per value"
        raise ValueError(msg)
    last_of_day = np.flatnonzero(np.append(days[1:] != days[:-1], True))
    closes = np.concatenate(([e[0]], e[last_of_day]))
    return np.diff(closes) / closes[:-1]


def sharpe(returns: ArrayLike, periods_per_year: int = TRADING_DAYS) -> float:
    """Annualised Sharpe ratio, risk-free rate 0.

    ``Sharpe = mean(r) / std(r, ddof=1) * sqrt(periods_per_year)``; daily returns and
    ``sqrt(252)`` by default. NaN with fewer than 2 returns or zero volatility.
    Reference: Sharpe (1994), "The Sharpe Ratio", J. Portfolio Management.
    """
    r = np.asarray(returns, dtype=np.float64)
    if len(r) < 2:
        return math.nan
    return safe_div(float(r.mean()), float(r.std(ddof=1))) * math.sqrt(periods_per_year)


def sortino(returns: ArrayLike, periods_per_year: int = TRADING_DAYS) -> float:
    """Annualised Sortino ratio, target return 0.

    ``Sortino = mean(r) / DD * sqrt(periods_per_year)`` where the downside deviation
    ``DD = sqrt(sum(min(r_i, 0) ** 2) / N)`` over ALL ``N`` returns (positive ones count as 0,
    they are not dropped). NaN with fewer than 2 returns or no losing period.
    Reference: Sortino & Price (1994), "Performance Measurement in a Downside Risk Framework";
    Red Rock Capital, "Sortino: A 'Sharper' Ratio" (the all-N denominator).
    """
    r = np.asarray(returns, dtype=np.float64)
    if len(r) < 2:
        return math.nan
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    return safe_div(float(r.mean()), downside) * math.sqrt(periods_per_year)


def calmar(cagr: float, max_drawdown_pct: float) -> float:
    """Calmar ratio ``CAGR% / MaxDD%`` (both in percent, so the ratio is unitless); NaN without a
    drawdown. Reference: Young (1991), "Calmar Ratio: A Smoother Tool", Futures magazine."""
    return safe_div(cagr, max_drawdown_pct)


def profit_factor(profits: ArrayLike) -> float:
    """``sum(profits > 0) / |sum(profits < 0)|``; NaN without a losing trade."""
    p = np.asarray(profits, dtype=np.float64)
    return safe_div(float(p[p > 0].sum()), float(-p[p < 0].sum()))


def win_rate_pct(profits: ArrayLike) -> float:
    """Percentage of trades with ``profit > 0`` (break-even trades are not wins); NaN if none."""
    p = np.asarray(profits, dtype=np.float64)
    return safe_div(float((p > 0).sum()) * 100.0, float(len(p)))


def expectancy_money(profits: ArrayLike) -> float:
    """Average profit per trade in money: ``sum(profits) / N``; NaN without trades."""
    p = np.asarray(profits, dtype=np.float64)
    return safe_div(float(p.sum()), float(len(p)))


def expectancy_r(r_multiples: ArrayLike) -> float:
    """Expectancy in R: ``W * avg_win_R - (1 - W) * avg_loss_R`` with ``W`` the fraction of
    trades with ``R > 0`` and ``avg_loss_R`` the mean |R| of the others (Van Tharp, "Trade Your
    Way to Financial Freedom"). Algebraically equal to the mean R; NaN without trades."""
    r = np.asarray(r_multiples, dtype=np.float64)
    n = float(len(r))
    wins, losses = r[r > 0], r[r <= 0]
    win_frac = safe_div(float(len(wins)), n)
    avg_win = float(wins.mean()) if len(wins) else 0.0
    avg_loss = float(-losses.mean()) if len(losses) else 0.0
    return win_frac * avg_win - (1.0 - win_frac) * avg_loss


def average_r(r_multiples: ArrayLike) -> float:
    """Mean R multiple ``sum(R) / N``, ``R = (exit - entry) * direction / |entry - stop|``."""
    r = np.asarray(r_multiples, dtype=np.float64)
    return safe_div(float(r.sum()), float(len(r)))


def exposure_pct(
    bar_time_s: ArrayLike, entry_time_s: Sequence[int], exit_time_s: Sequence[int]
) -> float:
    """Percentage of bars during which a position was open.

    Bar ``k`` (open time ``t_k``) counts when some trade has ``entry <= t_k <= exit`` (trades
    are stamped with the open times of their entry and exit bars, both partly in the market).
    ``exposure = 100 * counted_bars / total_bars``; NaN without bars.
    """
    t = np.asarray(bar_time_s, dtype=np.int64)
    marks = np.zeros(len(t) + 1, dtype=np.int64)
    starts = np.searchsorted(t, np.asarray(entry_time_s, dtype=np.int64), side="left")
    ends = np.searchsorted(t, np.asarray(exit_time_s, dtype=np.int64), side="right")
    np.add.at(marks, starts, 1)
    np.add.at(marks, ends, -1)
    in_market = np.cumsum(marks[:-1]) > 0
    return safe_div(float(in_market.sum()) * 100.0, float(len(t)))


@dataclass(frozen=True, slots=True)
class Metrics:
    start_equity_money: float
    end_equity_money: float
    net_profit_money: float
    return_pct: float
    cagr_pct: float
    max_drawdown_money: float
    max_drawdown_pct: float
    sharpe: float
    sortino: float
    calmar: float
    profit_factor: float
    expectancy_money: float
    expectancy_r: float
    win_rate_pct: float
    average_r: float
    exposure_pct: float
    trades: int


def compute_metrics(
    time_s: ArrayLike,
    equity: ArrayLike,
    profits_money: Sequence[float],
    r_multiples: Sequence[float],
    entry_time_s: Sequence[int],
    exit_time_s: Sequence[int],
    *,
    exposure_time_s: ArrayLike | None = None,
) -> Metrics:
    """Every metric above for one run: the equity curve (``equity[k]`` at time ``time_s[k]``,
    e.g. bar closes) plus the closed trades' profits, R multiples and entry/exit times.
    ``exposure_time_s``: the bar times trades are stamped with (default ``time_s``)."""
    e = _equity(equity)
    dd_money, dd_pct = max_drawdown(e)
    cagr = cagr_pct(time_s, e)
    returns = daily_returns(time_s, e)
    return Metrics(
        start_equity_money=float(e[0]),
        end_equity_money=float(e[-1]),
        net_profit_money=net_profit(e),
        return_pct=float(e[-1] / e[0] - 1.0) * 100.0,
        cagr_pct=cagr,
        max_drawdown_money=dd_money,
        max_drawdown_pct=dd_pct,
        sharpe=sharpe(returns),
        sortino=sortino(returns),
        calmar=calmar(cagr, dd_pct),
        profit_factor=profit_factor(profits_money),
        expectancy_money=expectancy_money(profits_money),
        expectancy_r=expectancy_r(r_multiples),
        win_rate_pct=win_rate_pct(profits_money),
        average_r=average_r(r_multiples),
        exposure_pct=exposure_pct(
            time_s if exposure_time_s is None else exposure_time_s, entry_time_s, exit_time_s
        ),
        trades=len(profits_money),
    )


# A track record in R (signals, not an account): the curve starts at 0 R, so the money-based
# functions above (equity > 0, drawdown in % of the peak) do not apply; these are their R twins.


def cumulative_r(r_multiples: ArrayLike) -> Floats:
    """Equity curve in R: ``E_k = R_1 + ... + R_k`` (the trades in close order; empty in,
    empty out). The curve starts at ``E_0 = 0`` before the first trade."""
    return np.cumsum(np.asarray(r_multiples, dtype=np.float64))


def drawdown_r(r_multiples: ArrayLike) -> Floats:
    """Drawdown in R after each trade: ``peak_k - E_k`` with ``peak_k = max(0, E_1..E_k)``
    (the start at 0 R counts as a peak, so a first losing trade is a drawdown). Always >= 0."""
    equity = cumulative_r(r_multiples)
    if len(equity) == 0:
        return equity
    peak = np.maximum.accumulate(np.maximum(equity, 0.0))
    return peak - equity


def max_drawdown_r(r_multiples: ArrayLike) -> float:
    """The largest :func:`drawdown_r`, in R; NaN without trades."""
    dd = drawdown_r(r_multiples)
    return float(dd.max()) if len(dd) else math.nan


def monthly_r(
    time_s: ArrayLike, r_multiples: ArrayLike
) -> tuple[NDArray[np.int64], Floats, NDArray[np.int64]]:
    """R per calendar month (UTC): ``(months, sums, counts)`` for every month from the first
    trade's to the last one's, months without a trade included with 0 R and count 0 (a quiet
    month is a flat month, and ratios over months must see it). ``months`` are month numbers
    since 1970-01 (``year = 1970 + m // 12``, ``month = m % 12 + 1``)."""
    t = np.asarray(time_s, dtype=np.int64)
    r = np.asarray(r_multiples, dtype=np.float64)
    if len(t) != len(r):
        msg = f"time_s has {len(t)} values but r_multiples has {len(r)}; pass one time per trade"
        raise ValueError(msg)
    if len(t) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64)
    month = t.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    first, last = int(month.min()), int(month.max())
    index = month - first
    sums = np.zeros(last - first + 1)
    counts = np.zeros(last - first + 1, dtype=np.int64)
    np.add.at(sums, index, r)
    np.add.at(counts, index, 1)
    return np.arange(first, last + 1, dtype=np.int64), sums, counts


def annual_r(monthly: ArrayLike) -> float:
    """Annualised R from monthly sums: ``mean(monthly) * 12``; NaN without months."""
    m = np.asarray(monthly, dtype=np.float64)
    return safe_div(float(m.sum()), float(len(m))) * MONTHS_PER_YEAR


def calmar_r(annual: float, max_drawdown: float) -> float:
    """Calmar ratio of a track record in R: annual R / maximum drawdown in R (unitless, as
    :func:`calmar` in percent / percent); NaN without a drawdown. Reference: Young (1991)."""
    return safe_div(annual, max_drawdown)


def median(values: ArrayLike) -> float:
    """The median (mean of the two middle values for an even count); NaN when empty."""
    v = np.asarray(values, dtype=np.float64)
    return float(np.median(v)) if len(v) else math.nan


def slippage_r(side: str, reference: float, filled: float, stop: float) -> float:
    """Adverse slippage in R: ``sign * (filled - reference) / |reference - stop|`` with sign +1
    for a buy and -1 for a sell; positive = worse than the reference price (the signal's entry),
    negative = an improvement. NaN when the reference equals the stop (no risk to measure by)."""
    if side not in ("buy", "sell"):
        msg = f"side must be 'buy' or 'sell', not {side!r}"
        raise ValueError(msg)
    sign = 1.0 if side == "buy" else -1.0
    return safe_div(sign * (filled - reference), abs(reference - stop))


# The same statistics from running sums (rollups keep sums per bucket, not every trade): each
# equals its list twin on the trades the sums were taken over (tests/trading/test_metrics_sums.py).


def profit_factor_of_sums(gross_win: float, gross_loss: float) -> float:
    """:func:`profit_factor` from ``gross_win = sum(p > 0)`` and ``gross_loss = |sum(p < 0)|``
    (both >= 0): ``gross_win / gross_loss``; NaN without a loss."""
    if gross_win < 0 or gross_loss < 0:
        msg = "gross_win and gross_loss are sums of magnitudes: pass them >= 0"
        raise ValueError(msg)
    return safe_div(gross_win, gross_loss)


def win_rate_pct_of_counts(wins: int, trades: int) -> float:
    """:func:`win_rate_pct` from counts: ``wins * 100 / trades``; NaN without trades."""
    if not 0 <= wins <= trades:
        msg = f"wins must be between 0 and trades ({trades}), not {wins}"
        raise ValueError(msg)
    return safe_div(float(wins) * 100.0, float(trades))


def average_r_of_sum(total_r: float, trades: int) -> float:
    """:func:`average_r` from the sum: ``total_r / trades``; NaN without trades."""
    if trades < 0:
        msg = f"trades is a count: pass it >= 0, not {trades}"
        raise ValueError(msg)
    return safe_div(total_r, float(trades))


def max_drawdown_window_r(r_multiples: ArrayLike) -> tuple[int, int] | None:
    """The trades that make the maximum drawdown in R: ``(first, last)`` indices (inclusive)
    from the trade after the peak (or the first trade when the peak is the 0 R start) to the
    trough, the first trough when several are as deep; None without a drawdown (no trades, or
    the curve never falls below its running peak). ``sum(r[first:last + 1])`` is minus
    :func:`max_drawdown_r`."""
    dd = drawdown_r(r_multiples)
    if len(dd) == 0 or float(dd.max()) <= 0.0:
        return None
    last = int(np.argmax(dd))
    equity = cumulative_r(r_multiples)
    peak = max(0.0, float(equity[: last + 1].max()))
    at_peak = np.flatnonzero(equity[:last] >= peak) if last else np.zeros(0, dtype=np.int64)
    first = int(at_peak[-1]) + 1 if len(at_peak) else 0
    return first, last


def realised_r(side: str, filled: float, closed: float, reference: float, stop: float) -> float:
    """A fill's own result in the signal's R: ``sign * (closed - filled) / |reference - stop|``
    (sign +1 buy, -1 sell): the signal's risk (its entry to its stop) is the unit, so a fill
    worse than the entry shows its cost (``realised_r`` at the entry's fill minus
    :func:`slippage_r` for the same close). NaN when the reference equals the stop."""
    if side not in ("buy", "sell"):
        msg = f"side must be 'buy' or 'sell', not {side!r}"
        raise ValueError(msg)
    sign = 1.0 if side == "buy" else -1.0
    return safe_div(sign * (closed - filled), abs(reference - stop))


def bootstrap_mean_range(
    r_multiples: ArrayLike,
    n: int,
    *,
    low_pct: float = 5.0,
    high_pct: float = 95.0,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap of the mean R of ``n`` trades: ``resamples`` times, draw ``n``
    trades with replacement from ``r_multiples`` (numpy's PCG64 seeded with ``seed``, so a run
    is reproducible) and take their mean; the result is the ``low_pct`` and ``high_pct``
    percentiles of those means (numpy's linear interpolation). The range a run of ``n`` trades
    of this strategy should fall in, if the trades come from the same distribution: a live
    mean below the 5th percentile happens by chance about 1 time in 20.
    Reference: Efron & Tibshirani (1993), "An Introduction to the Bootstrap", ch. 13.
    ``(nan, nan)`` without trades to draw from or with ``n < 1``."""
    r = np.asarray(r_multiples, dtype=np.float64)
    if r.ndim != 1 or not np.all(np.isfinite(r)):
        msg = "r_multiples must be a 1-D sequence of finite R multiples; drop NaN trades first"
        raise ValueError(msg)
    if not 0.0 <= low_pct <= high_pct <= 100.0:
        msg = f"percentiles must satisfy 0 <= low <= high <= 100, got {low_pct} and {high_pct}"
        raise ValueError(msg)
    if resamples < 1:
        msg = f"resamples must be >= 1 (2000 is usual), got {resamples}"
        raise ValueError(msg)
    if len(r) == 0 or n < 1:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = r[rng.integers(0, len(r), size=(resamples, n))].mean(axis=1)
    low, high = np.percentile(means, [low_pct, high_pct])
    # Means of identical values can differ in the last bit from the value: keep them inside.
    lo, hi = float(r.min()), float(r.max())
    return min(max(float(low), lo), hi), min(max(float(high), lo), hi)
