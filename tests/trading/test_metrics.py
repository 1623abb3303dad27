"""Metrics against hand-computed values (worked in the comments), edge cases and invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading import metrics as m

DAY = 86_400


def test_net_profit_and_max_drawdown_by_hand() -> None:
    equity = [100.0, 120.0, 90.0, 130.0, 117.0]
    # peaks 100 120 120 130 130 -> drawdowns 0 0 30 0 13; in % of the peak: 0 0 25 0 10
    assert m.net_profit(equity) == 17.0
    assert m.max_drawdown(equity) == (30.0, 25.0)
    money, pct = m.drawdown(equity)
    assert money.tolist() == [0, 0, 30, 0, 13] and pct.tolist() == pytest.approx([0, 0, 25, 0, 10])


def test_cagr_by_hand() -> None:
    # 100 -> 121 in exactly two years of 365.25 days: (1.21 ** (1/2) - 1) * 100 = 10 %
    t = [0, int(2 * 365.25 * DAY)]
    assert m.cagr_pct(t, [100.0, 121.0]) == pytest.approx(10.0)
    assert math.isnan(m.cagr_pct([5, 5], [100.0, 110.0]))  # zero-length period
    assert m.cagr_pct(t, [100.0, -5.0]) == -100.0  # a blown account


def test_daily_returns_use_the_last_value_of_each_utc_day() -> None:
    # day 0: 100 (start) then 102; day 1: 101; day 3 (day 2 has no bars): 103.02
    t = [0, 3600, DAY + 3600, 3 * DAY + 3600]
    r = m.daily_returns(t, [100.0, 102.0, 101.0, 103.02])
    # closes with the start as base: 100 | 102, 101, 103.02
    assert r.tolist() == pytest.approx([0.02, 101 / 102 - 1, 0.02])


def test_sharpe_and_sortino_by_hand() -> None:
    r = [0.01, -0.01, 0.02]
    # mean = 0.02/3 = 0.0066667; deviations 0.0033333, -0.0166667, 0.0133333
    # std(ddof=1) = sqrt((1.1111e-5 + 2.7778e-4 + 1.7778e-4) / 2) = 0.0152753
    # Sharpe = 0.0066667 / 0.0152753 * sqrt(252) = 0.436436 * 15.874508 = 6.928203
    assert m.sharpe(r) == pytest.approx(6.928203, rel=1e-6)
    # downside deviation over ALL 3 returns: sqrt((0 + 0.0001 + 0) / 3) = 0.0057735
    # Sortino = 0.0066667 / 0.0057735 * sqrt(252) = 1.154701 * 15.874508 = 18.330303
    assert m.sortino(r) == pytest.approx(18.330303, rel=1e-6)


@pytest.mark.parametrize(
    ("returns", "sharpe_nan", "sortino_nan"),
    [
        ([], True, True),
        ([0.01], True, True),  # one return: no dispersion
        ([0.01, 0.01], True, True),  # zero volatility, no downside
        ([0.01, 0.02], False, True),  # never a losing day: Sortino undefined
    ],
)
def test_ratios_are_nan_when_undefined(
    returns: list[float], sharpe_nan: bool, sortino_nan: bool
) -> None:
    assert math.isnan(m.sharpe(returns)) is sharpe_nan
    assert math.isnan(m.sortino(returns)) is sortino_nan


@pytest.mark.parametrize(
    ("cagr", "dd", "expected"), [(20.0, 10.0, 2.0), (-5.0, 25.0, -0.2), (5.0, 0.0, math.nan)]
)
def test_calmar(cagr: float, dd: float, expected: float) -> None:
    assert m.calmar(cagr, dd) == pytest.approx(expected, nan_ok=True)


def test_trade_statistics_by_hand() -> None:
    profits = [100.0, -50.0, 30.0, -20.0]
    assert m.profit_factor(profits) == pytest.approx(130 / 70)  # 1.857142...
    assert m.win_rate_pct(profits) == 50.0
    assert m.win_rate_pct([100.0, 0.0]) == 50.0  # break-even is not a win
    assert m.expectancy_money(profits) == 15.0  # 60 / 4
    r = [3.25, -1.0, -1.0, 3.25, -1.0]
    # W = 2/5 = 0.4, avg win 3.25, avg loss 1: 0.4 * 3.25 - 0.6 * 1 = 0.7 = mean(R) = 3.5 / 5
    assert m.expectancy_r(r) == pytest.approx(0.7)
    assert m.average_r(r) == pytest.approx(0.7)


def test_trade_statistics_without_trades_or_losses_are_nan() -> None:
    for value in (
        m.profit_factor([]),
        m.profit_factor([10.0]),
        m.win_rate_pct([]),
        m.expectancy_money([]),
        m.expectancy_r([]),
        m.average_r([]),
    ):
        assert math.isnan(value)


@pytest.mark.parametrize(
    ("entries", "exits", "expected"),
    [
        ([2], [4], 30.0),  # bars 2, 3, 4 of 0..9
        ([2, 3], [4, 6], 50.0),  # overlapping: union 2..6
        ([0, 8], [0, 20], 30.0),  # same-bar trade counts one bar; exit after the data
        ([], [], 0.0),
    ],
)
def test_exposure_counts_bars_with_a_position(
    entries: list[int], exits: list[int], expected: float
) -> None:
    assert m.exposure_pct(list(range(10)), entries, exits) == expected


@pytest.mark.parametrize("equity", [[], [float("nan"), 1.0], [0.0, 1.0], [[1.0, 2.0]]])
def test_bad_equity_is_refused_with_a_fix(equity: list[float]) -> None:
    with pytest.raises(ValueError, match="equity"):
        m.net_profit(equity)


def test_compute_metrics_assembles_the_parts() -> None:
    t = [0, DAY, 2 * DAY, 3 * DAY]
    equity = [1000.0, 1100.0, 990.0, 1089.0]
    result = m.compute_metrics(
        t,
        equity,
        [100.0, -110.0, 99.0],
        [1.0, -1.0, 0.9],
        [0, DAY, 2 * DAY],
        [DAY, 2 * DAY, 3 * DAY],
    )
    assert result.trades == 3 and result.net_profit_money == pytest.approx(89.0)
    assert result.max_drawdown_money == pytest.approx(110.0)
    assert result.max_drawdown_pct == pytest.approx(10.0)  # 110 / 1100
    assert result.return_pct == pytest.approx(8.9)
    assert result.exposure_pct == 100.0
    assert result.calmar == pytest.approx(result.cagr_pct / 10.0)


def test_a_single_point_is_valid_and_mostly_undefined() -> None:
    result = m.compute_metrics([0], [500.0], [], [], [], [])
    assert result.net_profit_money == 0 and result.max_drawdown_pct == 0
    assert math.isnan(result.sharpe) and math.isnan(result.cagr_pct)


_returns = st.lists(st.floats(-0.05, 0.05, allow_nan=False), min_size=1, max_size=60)


@settings(max_examples=80, deadline=None)
@given(returns=_returns, shift=st.floats(0.0, 0.02, allow_nan=False))
def test_shifting_returns_up_never_worsens_drawdown(returns: list[float], shift: float) -> None:
    base = 1000.0 * np.cumprod(1 + np.array(returns))
    shifted = 1000.0 * np.cumprod(1 + np.array(returns) + shift)
    assert m.max_drawdown(shifted)[1] <= m.max_drawdown(base)[1] + 1e-9
    money, pct = m.drawdown(base)
    assert (money >= 0).all() and (pct >= 0).all() and (pct < 100).all()
