"""RSI must equal `ta.momentum.RSIIndicator(close, n).rsi()` (bit-for-bit in practice, 1e-9 by
contract), in batch and incrementally."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ta.momentum import RSIIndicator

from trading.indicators import RsiState, rsi

DATA = Path(__file__).resolve().parents[2] / "data" / "samples" / "EURUSD_H1.csv"


def ta_rsi(close: list[float] | np.ndarray, period: int = 14) -> np.ndarray:
    return RSIIndicator(pd.Series(close, dtype=float), period).rsi().to_numpy()


def incremental(close: list[float] | np.ndarray, period: int = 14) -> np.ndarray:
    state = RsiState(period)
    return np.array([state.update(float(c)) for c in close], dtype=float)


@pytest.fixture(scope="module")
def bundled_close() -> np.ndarray:
    return pd.read_csv(DATA, index_col=0)["Close"].to_numpy()


@pytest.mark.parametrize("period", [1, 2, 5, 14, 30])
def test_rsi_matches_ta_on_bundled_data(bundled_close: np.ndarray, period: int) -> None:
    expected = ta_rsi(bundled_close, period)
    got = rsi(bundled_close, period)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    # Stronger than the contract: the detector compares RSI to 70.0 exactly, so we replicate
    # pandas' arithmetic and expect identical bits.
    np.testing.assert_array_equal(got, expected)


def test_rsi_first_value_at_index_period_minus_one(bundled_close: np.ndarray) -> None:
    got = rsi(bundled_close[:30])
    assert np.isnan(got[:13]).all()
    assert not np.isnan(got[13:]).any()


def test_incremental_equals_batch_on_bundled_data(bundled_close: np.ndarray) -> None:
    np.testing.assert_array_equal(incremental(bundled_close), rsi(bundled_close))


@pytest.mark.parametrize(
    ("close", "note"),
    [
        ([], "empty"),
        ([1.0], "one bar"),
        ([1.0] * 13, "shorter than the period: all NaN"),
        ([1.0] * 14, "exactly the period"),
        ([1.0] * 40, "constant: down average 0 -> RSI 100, like ta"),
        (list(range(1, 41)), "only rises: 100"),
        (list(range(40, 0, -1)), "only falls: 0"),
        ([1.0, 2.0, float("nan"), 3.0, 2.5] * 8, "NaN close: zero change on both sides, like ta"),
        ([float("nan")] * 20, "all NaN: RSI 100 (down average 0), exactly what ta returns"),
    ],
)
def test_rsi_edge_cases_match_ta(close: list[float], note: str) -> None:
    expected = ta_rsi(close) if close else np.array([])
    got = rsi(close)
    assert got.dtype == np.float64
    assert got.shape == (len(close),)
    np.testing.assert_array_equal(got, expected, err_msg=note)
    np.testing.assert_array_equal(incremental(close), expected, err_msg=note)


def test_rsi_rejects_infinite_close() -> None:
    with pytest.raises(ValueError, match=r"close\[2\] is infinite"):
        rsi([1.0, 2.0, float("inf"), 3.0])
    state = RsiState()
    with pytest.raises(ValueError, match="infinite close"):
        state.update(float("-inf"))


def test_rsi_documented_values() -> None:
    assert rsi([1.0] * 20)[-1] == 100.0
    assert rsi(np.arange(20.0, 0.0, -1.0))[-1] == 0.0
    assert len(rsi([])) == 0


@pytest.mark.parametrize("period", [0, -1, 1.5, True, "14"])
def test_rsi_rejects_bad_period(period: object) -> None:
    with pytest.raises(ValueError, match="period must be an integer >= 1"):
        rsi([1.0, 2.0], period)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="period must be an integer >= 1"):
        RsiState(period)  # type: ignore[arg-type]


def test_rsi_rejects_two_dimensional_input() -> None:
    with pytest.raises(ValueError, match="one-dimensional"):
        rsi(np.ones((3, 3)))


def test_rsi_state_value_tracks_last_update() -> None:
    state = RsiState(3)
    assert math.isnan(state.value)
    for c in (1.0, 2.0, 3.0):
        state.update(c)
    assert state.value == 100.0


prices = st.lists(
    st.floats(min_value=0.5, max_value=2.0, allow_nan=False, allow_infinity=False),
    min_size=0,
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(close=prices, period=st.integers(min_value=1, max_value=20))
def test_rsi_matches_ta_and_incremental_on_random_series(close: list[float], period: int) -> None:
    expected = ta_rsi(close, period) if close else np.array([])
    got = rsi(close, period)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(incremental(close, period), got)
