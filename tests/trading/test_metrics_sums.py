"""The R statistics from running sums (what rollups keep) equal their list twins, however the
trades are split into buckets; the maximum drawdown's window sums to minus the drawdown."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading import metrics as m

R = st.lists(
    st.floats(min_value=-5, max_value=5, allow_nan=False).map(lambda x: round(x, 4)), max_size=60
)


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(R, st.lists(st.integers(min_value=0, max_value=5), max_size=60))
def test_sums_over_any_buckets_equal_the_list_statistics(r: list[float], keys: list[int]) -> None:
    buckets: dict[int, list[float]] = {}
    for i, x in enumerate(r):
        buckets.setdefault(keys[i] if i < len(keys) else 0, []).append(x)
    wins = sum(sum(1 for x in b if x > 0) for b in buckets.values())
    gross_win = sum(sum(x for x in b if x > 0) for b in buckets.values())
    gross_loss = sum(-sum(x for x in b if x < 0) for b in buckets.values())
    total = sum(sum(b) for b in buckets.values())
    assert _same(m.profit_factor_of_sums(gross_win, gross_loss), m.profit_factor(r))
    assert _same(m.win_rate_pct_of_counts(wins, len(r)), m.win_rate_pct(r))
    assert _same(m.average_r_of_sum(total, len(r)), m.average_r(r))


def test_sums_by_hand_and_refused_inputs() -> None:
    assert m.profit_factor_of_sums(3.5, 2.5) == pytest.approx(1.4)
    assert math.isnan(m.profit_factor_of_sums(2.0, 0.0))
    assert m.win_rate_pct_of_counts(2, 5) == 40.0 and math.isnan(m.win_rate_pct_of_counts(0, 0))
    assert m.average_r_of_sum(1.0, 5) == pytest.approx(0.2)
    assert math.isnan(m.average_r_of_sum(0.0, 0))
    for bad in (lambda: m.profit_factor_of_sums(-1, 1), lambda: m.win_rate_pct_of_counts(3, 2),
                lambda: m.average_r_of_sum(1, -1)):  # fmt: skip
        with pytest.raises(ValueError, match="pass|between"):
            bad()


@pytest.mark.parametrize(
    ("r", "window"),
    [
        ([], None),
        ([1.0, 2.0], None),  # never below its peak
        ([-1.0], (0, 0)),  # the 0 R start is the first peak
        ([-1.0, 2.0, -1.0, -1.0, 3.0], (2, 3)),  # peak 1 R after trade 1, trough -1 R
        ([-1.0, 1.0, -2.0], (2, 2)),  # back to 0 R: the peak is the second trade
        ([2.0, -1.0, 1.0, -1.5, -0.5], (3, 4)),  # back at the 2 R peak after trade 2, then 0 R
        ([1.0, -1.0, 1.0, -1.0], (1, 1)),  # two troughs as deep: the first
    ],
)
def test_the_drawdown_window_by_hand(r: list[float], window: tuple[int, int] | None) -> None:
    assert m.max_drawdown_window_r(r) == window


@settings(max_examples=200, deadline=None)
@given(R)
def test_the_drawdown_window_sums_to_minus_the_maximum_drawdown(r: list[float]) -> None:
    window = m.max_drawdown_window_r(r)
    if window is None:
        assert not r or m.max_drawdown_r(r) <= 0
        return
    first, last = window
    assert 0 <= first <= last < len(r)
    assert sum(r[first : last + 1]) == pytest.approx(-m.max_drawdown_r(r), abs=1e-9)
