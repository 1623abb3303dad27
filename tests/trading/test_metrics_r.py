"""The track record's R metrics: hand-computed values, edge cases and hypothesis invariants."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading import metrics as m


def ts(year: int, month: int, day: int = 1) -> int:
    return int(datetime(year, month, day, 12, tzinfo=UTC).timestamp())


def test_cumulative_and_drawdown_in_r_by_hand() -> None:
    r = [-1.0, 2.0, -1.0, -1.0, 3.0]
    # equity -1 1 0 -1 2; peaks (0 counts) 0 1 1 1 2; drawdowns 1 0 1 2 0
    assert m.cumulative_r(r).tolist() == [-1, 1, 0, -1, 2]
    assert m.drawdown_r(r).tolist() == [1, 0, 1, 2, 0]
    assert m.max_drawdown_r(r) == 2.0


def test_empty_history_is_empty_or_nan() -> None:
    assert m.cumulative_r([]).tolist() == [] and m.drawdown_r([]).tolist() == []
    assert math.isnan(m.max_drawdown_r([])) and math.isnan(m.median([]))
    months, sums, counts = m.monthly_r([], [])
    assert len(months) == len(sums) == len(counts) == 0
    assert math.isnan(m.annual_r([]))


def test_monthly_sums_fill_quiet_months_with_zero() -> None:
    t = [ts(2026, 1, 5), ts(2026, 1, 31), ts(2026, 3, 1), ts(2027, 1, 2)]
    months, sums, counts = m.monthly_r(t, [1.0, -0.5, 2.0, -1.0])
    assert months[0] == (2026 - 1970) * 12 and len(months) == 13  # Jan 2026 .. Jan 2027
    assert sums[:3].tolist() == [0.5, 0.0, 2.0] and sums[-1] == -1.0
    assert counts.tolist() == [2, 0, 1] + [0] * 9 + [1]


def test_monthly_sums_refuse_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="one time per trade"):
        m.monthly_r([1, 2], [1.0])


def test_annual_calmar_median_and_slippage_by_hand() -> None:
    assert m.annual_r([1.0, -0.5, 2.0]) == pytest.approx(10.0)  # mean 0.8333 * 12
    assert m.calmar_r(10.0, 2.5) == 4.0 and math.isnan(m.calmar_r(10.0, 0.0))
    assert m.median([3.0, 1.0, 2.0]) == 2.0 and m.median([4.0, 1.0, 2.0, 3.0]) == 2.5
    # a buy filled 2 points above an entry 10 points from its stop: 0.2 R worse
    assert m.slippage_r("buy", 1.1000, 1.1002, 1.0990) == pytest.approx(0.2)
    # a sell filled above its entry is an improvement
    assert m.slippage_r("sell", 1.1000, 1.1002, 1.1010) == pytest.approx(-0.2)
    assert math.isnan(m.slippage_r("buy", 1.1, 1.2, 1.1))
    with pytest.raises(ValueError, match="'buy' or 'sell'"):
        m.slippage_r("long", 1.0, 1.0, 0.9)


r_lists = st.lists(st.floats(-5, 5, allow_nan=False).map(lambda x: round(x, 4)), max_size=60)


@settings(max_examples=150, deadline=None)
@given(r=r_lists)
def test_drawdown_in_r_is_bounded_by_the_losses(r: list[float]) -> None:
    dd = m.drawdown_r(r)
    assert np.all(dd >= -1e-12)
    losses = -sum(x for x in r if x < 0)
    assert (m.max_drawdown_r(r) if r else 0.0) <= losses + 1e-9
    if all(x >= 0 for x in r):
        assert np.allclose(dd, 0.0)


@settings(max_examples=150, deadline=None)
@given(r=r_lists, shift=st.floats(0, 3))
def test_raising_every_result_never_deepens_the_drawdown(r: list[float], shift: float) -> None:
    if not r:
        return
    assert m.max_drawdown_r([x + shift for x in r]) <= m.max_drawdown_r(r) + 1e-9


@settings(max_examples=150, deadline=None)
@given(
    trades=st.lists(
        st.tuples(st.integers(0, 4_000_000_000), st.floats(-5, 5, allow_nan=False)),
        max_size=60,
    )
)
def test_monthly_sums_add_up_to_the_total(trades: list[tuple[int, float]]) -> None:
    t = [x for x, _ in trades]
    r = [y for _, y in trades]
    months, sums, counts = m.monthly_r(t, r)
    assert sums.sum() == pytest.approx(sum(r), abs=1e-9)
    assert int(counts.sum()) == len(r)
    assert np.all(np.diff(months) == 1)  # consecutive calendar months, none skipped
