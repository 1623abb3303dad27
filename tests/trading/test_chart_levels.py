"""The chart's words and numbers, without drawing: Fib levels, titles, the price range that
keeps candles readable, bounded label spreading."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from trading.candles import load_csv
from trading.chart_layout import MAX_LEVEL_STRETCH, price_span, spread_apart, x_limits
from trading.chart_levels import (
    ChartLevels,
    chart_title,
    fib_levels,
    point_names,
    timeframe_label,
)
from trading.detector import Side, StrategyParams, detect_setups

T0 = int(datetime(2017, 5, 31, 9, tzinfo=UTC).timestamp())


def levels(side: Side = Side.SELL, **kw: object) -> ChartLevels:
    high, low = 1.0800, 1.0700
    p1, p2 = (high, low) if side is Side.SELL else (low, high)
    entry = 1.0774 if side is Side.SELL else 1.0726
    stop = 1.0827 if side is Side.SELL else 1.0673
    tp = entry - 3.25 * (stop - entry)
    values = {"point1": (T0, p1), "point2": (T0 + 3600, p2)} | kw
    return ChartLevels(side, entry, stop, tp, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("side", [Side.SELL, Side.BUY])
def test_fib_levels_are_the_strategys_ratios_of_the_leg(side: Side) -> None:
    fibs = fib_levels(levels(side))
    assert [f.label for f in fibs] == ["0 %", "74 %", "100 %", "127 %"]
    lv = levels(side)
    assert lv.point1 is not None and lv.point2 is not None
    prices = [f.price for f in fibs]
    assert prices[0] == pytest.approx(lv.point2[1])  # 0 %: point 2
    assert prices[2] == pytest.approx(lv.point1[1])  # 100 %: point 1
    assert prices[1] == pytest.approx(lv.entry)  # the entry is the 74 % retracement
    assert prices[3] == pytest.approx(lv.stop)  # the stop 27 % beyond point 1


def test_fib_levels_of_every_bundled_setup_match_its_entry_and_stop() -> None:
    path = Path(__file__).resolve().parents[2] / "data" / "samples" / "EURUSD_H1.csv"
    for setup in detect_setups(load_csv(path, "EURUSD").candles):
        fibs = fib_levels(ChartLevels.from_setup(setup))
        assert fibs[1].price == pytest.approx(setup.entry, abs=1e-9)
        assert fibs[3].price == pytest.approx(setup.stop, abs=1e-9)


def test_fib_levels_follow_tuned_ratios_and_need_both_points() -> None:
    tuned = StrategyParams(entry_ratio=0.618, stop_ratio=0.382)
    assert [f.label for f in fib_levels(levels(params=tuned))] == [
        "0 %", "61.8 %", "100 %", "138.2 %"
    ]  # fmt: skip
    assert fib_levels(levels(point1=None)) == ()
    assert fib_levels(levels(point2=None)) == ()


def test_point_names_follow_the_side() -> None:
    assert point_names(Side.SELL) == ("swing high", "swing low")
    assert point_names(Side.BUY) == ("swing low", "swing high")


@pytest.mark.parametrize(
    ("seconds", "label"),
    [(60, "M1"), (900, "M15"), (1800, "M30"), (3600, "H1"), (14400, "H4"), (86400, "D1"),
     (604800, "W1"), (45, "45s"), (5400, "M90")],
)  # fmt: skip
def test_timeframe_label(seconds: int, label: str) -> None:
    assert timeframe_label(seconds) == label


def test_title_names_timeframe_bar_time_and_signal_and_revision_only_once_revised() -> None:
    bar = datetime(2017, 5, 31, 9, tzinfo=UTC)
    assert chart_title(levels(signal_id=12), "EURUSD", 3600, bar) == (
        "EURUSD · SELL",
        "H1 · 31 May 2017 09:00 UTC · #12",
    )
    _, details = chart_title(levels(Side.BUY, signal_id=12, version=3), "XAUUSD", 900, T0)
    assert details == "M15 · 31 May 2017 09:00 UTC · #12 · revision 3"
    assert chart_title(levels(), "EURUSD", 3600, T0)[1] == "H1 · 31 May 2017 09:00 UTC"
    assert chart_title(levels(title="Backtest trade 4"), "EURUSD", 3600, T0) == (
        "Backtest trade 4",
        "",
    )
    assert "v1" not in " ".join(chart_title(levels(signal_id=1), "EURUSD", 3600, T0))


@pytest.mark.parametrize(
    ("kw", "match"),
    [({"version": 0}, "version"), ({"signal_id": 0}, "signal_id"),
     ({"point1": (T0, float("inf"))}, "finite")],
)  # fmt: skip
def test_bad_levels_say_what_to_fix(kw: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        levels(**kw)


def test_price_span_keeps_near_levels_and_leaves_far_ones_off() -> None:
    core = (1.0700, 1.0800)  # candles and entry: a span of 0.01
    assert price_span(core, (1.0827, 1.0680)) == pytest.approx((1.0680, 1.0827))
    # a take-profit 0.03 below would make the range 4x the candles': it stays off the chart
    lo, hi = price_span(core, (1.0827, 1.0400))
    assert (lo, hi) == pytest.approx((1.0700, 1.0827))
    assert hi - lo <= MAX_LEVEL_STRETCH * 0.01
    # nearest first: the stop fits, the far take-profit does not, whatever the order given
    assert price_span(core, (1.0400, 1.0827)) == pytest.approx((1.0700, 1.0827))
    assert price_span(core, (1.0750,)) == core  # inside the candles: nothing to widen
    flat = price_span((5.0, 5.0), (5.004, 9.0))
    assert flat == pytest.approx((5.0, 5.004))


def test_spread_apart_within_bounds_keeps_gaps_and_order() -> None:
    placed = spread_apart([95.0, 99.0, 10.0], 10.0, lo=0.0, hi=100.0)
    assert placed == pytest.approx([90.0, 100.0, 10.0])
    placed = spread_apart([-5.0, 0.0, 3.0], 10.0, lo=0.0, hi=100.0)
    assert placed == pytest.approx([0.0, 10.0, 20.0])
    assert spread_apart([50.0], 10.0, lo=0.0, hi=100.0) == [50.0]


def test_x_limits_leave_room_right_of_the_last_bar() -> None:
    assert x_limits(120) == (-1.0, 119 + 30.0)
    assert x_limits(10) == (-1.0, 9 + 10.0)  # at least 10 bars for the tags
