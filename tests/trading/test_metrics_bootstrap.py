"""The bootstrap range of a mean R (`trading.metrics.bootstrap_mean_range`): invariants
(hypothesis) and the edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.metrics import bootstrap_mean_range

R = st.floats(min_value=-5.0, max_value=10.0, allow_nan=False, allow_infinity=False)
TRADES = st.lists(R, min_size=1, max_size=40)
N = st.integers(min_value=1, max_value=30)
FAST = settings(max_examples=60, deadline=None)


@FAST
@given(TRADES, N, st.integers(min_value=0, max_value=2**32 - 1))
def test_the_range_is_ordered_and_inside_the_trades(r: list[float], n: int, seed: int) -> None:
    low, high = bootstrap_mean_range(r, n, seed=seed, resamples=300)
    assert min(r) <= low <= high <= max(r)


@FAST
@given(TRADES, N)
def test_a_fixed_seed_gives_the_same_range(r: list[float], n: int) -> None:
    assert bootstrap_mean_range(r, n, seed=7, resamples=200) == bootstrap_mean_range(
        r, n, seed=7, resamples=200
    )


@FAST
@given(TRADES, N, st.floats(min_value=0.1, max_value=10.0), st.floats(min_value=-5, max_value=5))
def test_the_range_moves_with_an_affine_change_of_the_trades(
    r: list[float], n: int, scale: float, shift: float
) -> None:
    """Same seed, same draws: a*R + b has the range a*range + b (a > 0)."""
    low, high = bootstrap_mean_range(r, n, seed=3, resamples=200)
    moved = [scale * x + shift for x in r]
    low2, high2 = bootstrap_mean_range(moved, n, seed=3, resamples=200)
    assert low2 == pytest.approx(scale * low + shift, abs=1e-6)
    assert high2 == pytest.approx(scale * high + shift, abs=1e-6)


@FAST
@given(R, N)
def test_identical_trades_have_a_zero_width_range(value: float, n: int) -> None:
    assert bootstrap_mean_range([value] * 5, n, resamples=100) == (value, value)


@FAST
@given(TRADES, N, st.floats(min_value=0, max_value=50), st.floats(min_value=50, max_value=100))
def test_a_wider_percentile_band_contains_a_narrower_one(
    r: list[float], n: int, low_pct: float, high_pct: float
) -> None:
    wide = bootstrap_mean_range(r, n, low_pct=low_pct, high_pct=high_pct, resamples=200)
    narrow = bootstrap_mean_range(r, n, low_pct=max(low_pct, 25), high_pct=min(high_pct, 75),
                                  resamples=200)  # fmt: skip
    assert wide[0] <= narrow[0] <= narrow[1] <= wide[1]


def test_more_trades_per_run_narrow_the_range() -> None:
    """The standard error of a mean falls as 1/sqrt(n): 100 trades give a much narrower
    range than 4 (the same population, a large number of resamples)."""
    r = [-1.0] * 55 + [3.25] * 45
    few = bootstrap_mean_range(r, 4, resamples=4000)
    many = bootstrap_mean_range(r, 100, resamples=4000)
    assert (many[1] - many[0]) < (few[1] - few[0]) / 3
    mean = float(np.mean(r))
    assert many[0] < mean < many[1]


def test_golden_values_for_a_two_outcome_strategy() -> None:
    """Wins of +3 R and losses of -1 R, half each, 10 trades per run: the mean of a run is
    -1 + 0.4 * wins; the 5th percentile of Binomial(10, 0.5) wins is 2 (mean -0.2 R), the
    95th is 8 (+2.2 R): the bootstrap agrees within a win."""
    low, high = bootstrap_mean_range([3.0, -1.0] * 10, 10, resamples=20000, seed=1)
    assert -0.6 <= low <= 0.2
    assert 1.8 <= high <= 2.6


def test_no_trades_or_no_run_has_no_range() -> None:
    assert all(math.isnan(x) for x in bootstrap_mean_range([], 5))
    assert all(math.isnan(x) for x in bootstrap_mean_range([1.0, -1.0], 0))


@pytest.mark.parametrize(
    ("r", "kwargs", "message"),
    [
        ([1.0, math.nan], {}, "finite"),
        ([1.0], {"low_pct": 60.0, "high_pct": 40.0}, "percentiles"),
        ([1.0], {"resamples": 0}, "resamples"),
    ],
)
def test_bad_input_says_how_to_fix_it(
    r: list[float], kwargs: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        bootstrap_mean_range(r, 3, **kwargs)  # type: ignore[arg-type]


@FAST
@given(
    st.sampled_from(["buy", "sell"]),
    st.floats(min_value=0.5, max_value=2.0),
    st.floats(min_value=-0.01, max_value=0.01),
    st.floats(min_value=-0.05, max_value=0.05),
    st.floats(min_value=0.001, max_value=0.05),
)
def test_a_fills_result_is_the_entrys_result_less_its_slippage(
    side: str, entry: float, slip: float, move: float, risk: float
) -> None:
    """realised_r(fill) == realised_r(entry) - slippage_r(fill): one unit, the signal's risk."""
    from trading.metrics import realised_r, slippage_r

    stop = entry - risk if side == "buy" else entry + risk
    filled = entry + slip
    closed = entry + move
    assert realised_r(side, filled, closed, entry, stop) == pytest.approx(
        realised_r(side, entry, closed, entry, stop) - slippage_r(side, entry, filled, stop),
        abs=1e-9,
    )


def test_realised_r_examples() -> None:
    from trading.metrics import realised_r

    assert realised_r("buy", 1.1000, 1.1030, 1.1000, 1.0990) == pytest.approx(3.0)
    assert realised_r("sell", 1.1002, 1.1012, 1.1000, 1.1010) == pytest.approx(-1.0)
    assert math.isnan(realised_r("buy", 1.0, 1.1, 1.0, 1.0))
    with pytest.raises(ValueError, match="side"):
        realised_r("long", 1.0, 1.1, 1.0, 0.9)
