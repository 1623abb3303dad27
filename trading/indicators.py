"""Indicators: Wilder's RSI exactly as the `ta` package computes it, batch and incremental.

`ta.momentum.RSIIndicator(close, n).rsi()` does, in pandas:
    diff = close.diff(); up = diff.where(diff > 0, 0); down = -diff.where(diff < 0, 0)
    ema = x.ewm(alpha=1/n, adjust=False, min_periods=n).mean()
    rsi = where(ema_down == 0, 100, 100 - 100 / (1 + ema_up / ema_down))
We repeat pandas' own ewm arithmetic step by step (including its `alpha = 1/(1+com)` round
trip and the normalising division) so the values are bit-identical, not merely close, to `ta`:
the detector compares RSI to thresholds, and a 1e-16 difference at exactly 70.0 would flip a
trigger. Both `rsi` and `RsiState` run the same `_ewm_step`, so batch == live exactly.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trading.constants import RSI_PERIOD


def _check_period(period: int) -> None:
    if isinstance(period, bool) or not isinstance(period, int) or period < 1:
        msg = f"RSI period must be an integer >= 1 (default {RSI_PERIOD}), got {period!r}"
        raise ValueError(msg)


def _alpha(period: int) -> float:
    # pandas converts alpha to a centre of mass and back: alpha' = 1 / (1 + (1 - a) / a).
    a = 1.0 / period
    return 1.0 / (1.0 + (1.0 - a) / a)


def _ewm_step(prev: float, x: float, alpha: float) -> float:
    """One step of pandas' adjust=False ewm (aggregations.pyx `ewm`, normalize branch)."""
    if prev == x:  # pandas skips the update on equal values to avoid rounding drift
        return prev
    old_wt = 1.0 - alpha
    return (old_wt * prev + alpha * x) / (old_wt + alpha)


def _rsi_value(up: float, down: float) -> float:
    if down == 0.0:
        return 100.0
    return 100.0 - 100.0 / (1.0 + up / down)


class RsiState:
    """Incremental RSI: feed closes one at a time with `update`; values equal `rsi()` exactly.

    Memory is O(1): the previous close, the two averages and a count. `value` is NaN until
    `period` closes have been seen (the first value is at bar index period-1, like `ta`).
    """

    __slots__ = ("_alpha", "_count", "_down", "_prev_close", "_up", "period", "value")

    def __init__(self, period: int = RSI_PERIOD) -> None:
        _check_period(period)
        self.period = period
        self._alpha = _alpha(period)
        self._count = 0
        self._prev_close = math.nan
        self._up = 0.0
        self._down = 0.0
        self.value = math.nan

    def update(self, close: float) -> float:
        """Consume one closed bar's close; return RSI at that bar (NaN during warm-up).

        Formula: change = close - prev_close (0 for the first bar, and 0 when either is NaN,
        as in `ta` where `diff.where(diff > 0, 0)` maps NaN to 0; infinite closes raise
        ValueError); up/down = Wilder averages
        with alpha = 1/period; RSI = 100 - 100/(1 + up/down), 100 when down == 0. Units: 0-100.
        """
        if math.isinf(close):
            msg = f"infinite close {close}; repair or drop that bar (NaN is tolerated, as in ta)"
            raise ValueError(msg)
        change = close - self._prev_close
        gain = change if change > 0 else 0.0
        loss = -change if change < 0 else 0.0
        if self._count == 0:
            self._up, self._down = gain, loss
        else:
            self._up = _ewm_step(self._up, gain, self._alpha)
            self._down = _ewm_step(self._down, loss, self._alpha)
        self._count += 1
        self._prev_close = close
        self.value = _rsi_value(self._up, self._down) if self._count >= self.period else math.nan
        return self.value


def rsi(close: ArrayLike, period: int = RSI_PERIOD) -> NDArray[np.float64]:
    """Relative Strength Index of `close` (float64, values 0..100, NaN before index period-1).

    Formula (Wilder 1978, as implemented by `ta.momentum.RSIIndicator`): change[0] = 0;
    up_t = ewm(max(change, 0)), down_t = ewm(max(-change, 0)) with alpha = 1/period,
    adjust=False; RSI = 100 - 100 / (1 + up/down), or 100 when down == 0.
    NaN closes contribute a zero change on both sides of them (the `ta` behaviour); infinite
    closes raise ValueError (pandas turns them into missing observations, which no caller
    should rely on).
    A plain loop: the recursion is sequential, ~1 ms per 5,000 bars.
    """
    _check_period(period)
    values = np.asarray(close, dtype=np.float64)
    if values.ndim != 1:
        msg = f"close must be one-dimensional, got shape {values.shape}"
        raise ValueError(msg)
    out = np.full(len(values), np.nan)
    if len(values) == 0:
        return out
    if np.isinf(values).any():
        bad = int(np.flatnonzero(np.isinf(values))[0])
        msg = f"close[{bad}] is infinite; repair or drop that bar (NaN is tolerated, as in ta)"
        raise ValueError(msg)
    alpha = _alpha(period)
    old_wt = 1.0 - alpha
    norm = old_wt + alpha
    closes = values.tolist()
    up = down = 0.0
    prev = math.nan
    result = out.tolist()
    for i, c in enumerate(closes):
        change = c - prev
        gain = change if change > 0 else 0.0
        loss = -change if change < 0 else 0.0
        if i == 0:
            up, down = gain, loss
        else:
            # Inlined `_ewm_step` (same expression order) for speed; tests pin equality.
            if up != gain:
                up = (old_wt * up + alpha * gain) / norm
            if down != loss:
                down = (old_wt * down + alpha * loss) / norm
        if i >= period - 1:
            result[i] = 100.0 if down == 0.0 else 100.0 - 100.0 / (1.0 + up / down)
        prev = c
    return np.array(result, dtype=np.float64)
