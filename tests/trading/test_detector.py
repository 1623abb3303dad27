"""One test (at least) per STRATEGY.md rule and per (fix), on hand-built series.

Most tests pass an explicit RSI path (`rsi_values`) so the rule under test is visible in the
table; prices are a flat 1.0-1.2 range with the extremes set per test.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from trading import fib_machine as fm
from trading.candles import Bar, Candles
from trading.detector import (
    EventKind,
    IncrementalDetector,
    Setup,
    SetupEvent,
    Side,
    StrategyParams,
    detect_events,
    detect_setups,
    setup_levels,
)

N = math.nan
T0 = datetime(2024, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)


def make(
    high: dict[int, float] | None = None,
    low: dict[int, float] | None = None,
    *,
    n: int,
    hours: dict[int, int] | None = None,
) -> Candles:
    """n hourly bars with High 1.2 / Low 1.0 unless overridden; `hours[k]` = hours from bar
    k-1 to bar k (default 1)."""
    hi = [1.2] * n
    lo = [1.0] * n
    for k, v in (high or {}).items():
        hi[k] = v
    for k, v in (low or {}).items():
        lo[k] = v
    steps = [0][:n] + [(hours or {}).get(k, 1) for k in range(1, n)]
    times = int(T0.timestamp()) + 3600 * np.cumsum(steps)
    mid = [(a + b) / 2 for a, b in zip(hi, lo, strict=True)]
    return Candles("TEST", 3600, times, mid, hi, lo, mid, np.zeros(n))


def setups(r: list[float], c: Candles | None = None, **kw: float) -> list[Setup]:
    candles = c if c is not None else make(n=len(r))
    return detect_setups(candles, StrategyParams(**kw), rsi_values=r)


def events(r: list[float], c: Candles | None = None, **kw: float) -> list[SetupEvent]:
    candles = c if c is not None else make(n=len(r))
    return detect_events(candles, StrategyParams(**kw), rsi_values=r)


def summary(evs: list[SetupEvent]) -> list[tuple[str, str, int]]:
    return [(e.kind.value, e.setup.side.value, e.bar_index) for e in evs]


# ---------------------------------------------------------------- rule 1: trigger


@pytest.mark.parametrize(
    ("r", "triggered"),
    [
        ([50, 75, 35], True),
        ([70.0, 70.000001, 35], True),  # RSI[i-1] <= 70 includes 70
        ([69, 70.0, 35], False),  # RSI[i] > 70 is strict
        ([N, 75, 35], False),  # no RSI[i-1] yet: not a cross
        ([75, 75, 35], False),  # already overbought: no cross
    ],
)
def test_sell_trigger_is_a_cross_above_rsi_high(r: list[float], triggered: bool) -> None:
    assert [s.side for s in setups(r)] == ([Side.SELL] if triggered else [])


@pytest.mark.parametrize(
    ("r", "triggered"),
    [
        ([50, 35, 75], True),
        ([40.0, 39.999999, 75], True),  # RSI[i-1] >= 40 includes 40
        ([41, 40.0, 75], False),  # RSI[i] < 40 is strict
        ([N, 35, 75], False),
        ([35, 35, 75], False),
    ],
)
def test_buy_trigger_is_a_cross_below_rsi_low(r: list[float], triggered: bool) -> None:
    assert [s.side for s in setups(r)] == ([Side.BUY] if triggered else [])


# ---------------------------------------------------------------- rule 2: leg 1


def test_leg1_is_contiguous_later_higher_high_is_not_point1() -> None:
    """(fix) Leg 1 stops at the first RSI <= 70 bar; bar 2's higher High is not in it."""
    c = make(high={1: 1.5, 2: 1.9}, n=4)
    (s,) = setups([50, 75, 60, 35], c)
    assert (s.point1_index, s.point1_price) == (1, 1.5)


def test_leg1_ignores_a_later_unrelated_overbought_run() -> None:
    """(fix) The original also took later overbought bars (bar 3, High 1.9)."""
    c = make(high={1: 1.5, 3: 1.9}, n=6)
    (s,) = setups([50, 75, 60, 75, 60, 35], c)
    assert (s.trigger_index, s.point1_index, s.point1_price) == (1, 1, 1.5)


def test_point1_is_highest_high_of_leg1_earliest_on_ties() -> None:
    c = make(high={1: 1.5, 2: 1.6, 3: 1.6, 4: 1.55}, n=6)
    (s,) = setups([50, 75, 80, 72, 71, 35], c)
    assert (s.point1_index, s.point1_price) == (2, 1.6)


def test_buy_point1_is_lowest_low_of_leg1_earliest_on_ties() -> None:
    c = make(low={1: 0.8, 2: 0.7, 3: 0.7, 4: 0.6}, n=6)
    (s,) = setups([50, 35, 30, 35, 45, 75], c)  # bar 4 (RSI 45) is after leg 1
    assert (s.side, s.point1_index, s.point1_price) == (Side.BUY, 2, 0.7)


# ---------------------------------------------------------------- rule 3: leg-2 start + window


@pytest.mark.parametrize(("gap_hours", "found"), [(99, True), (100, True), (101, False)])
def test_leg2_start_searched_within_window_hours(gap_hours: int, found: bool) -> None:
    """j must satisfy time[j] - time[i] <= 100 h; measured in time, not bars (a weekend-like gap
    of `gap_hours` - 1 sits between bars 2 and 3)."""
    c = make(n=4, hours={3: gap_hours - 1})
    assert len(setups([50, 75, 60, 35], c)) == int(found)


@pytest.mark.parametrize(("flat_bars", "found"), [(99, True), (100, False)])
def test_leg2_window_counts_hours_of_hourly_bars(flat_bars: int, found: bool) -> None:
    r = [50, 75] + [60] * flat_bars + [35]  # j is flat_bars + 1 hours after the trigger
    assert len(setups(r)) == int(found)


@pytest.mark.parametrize(("r_j", "found"), [(40.0, True), (40.000001, False)])
def test_leg2_starts_at_rsi_low_inclusive(r_j: float, found: bool) -> None:
    assert len(setups([50, 75, r_j])) == int(found)


@pytest.mark.parametrize(("r_j", "found"), [(70.0, True), (69.999999, False)])
def test_buy_leg2_starts_at_rsi_high_inclusive(r_j: float, found: bool) -> None:
    assert len(setups([50, 35, r_j])) == int(found)


def test_custom_window_hours() -> None:
    r = [50, 75, 60, 60, 35]
    assert len(setups(r, window_hours=3)) == 1
    assert len(setups(r, window_hours=2)) == 0


# ---------------------------------------------------------------- rule 4: leg 2 and point 2


def test_sell_point2_time_is_time_of_lowest_low() -> None:
    """(fix) The original's short side took the time of the highest Low (bar 2 here)."""
    c = make(low={2: 0.95, 3: 0.8, 4: 0.85}, n=6)
    (s,) = setups([50, 75, 35, 35, 35, 50], c)
    assert (s.point2_index, s.point2_price) == (3, 0.8)
    assert s.point2_time == c.time_utc(3)


def test_point2_earliest_on_ties_and_leg2_is_contiguous() -> None:
    # Bar 5 (RSI 50) ends leg 2; bar 6's lower Low belongs to nothing.
    c = make(low={2: 0.9, 3: 0.8, 4: 0.8, 6: 0.5}, n=7)
    (s,) = setups([50, 75, 35, 38, 40, 50, 35], c)
    assert (s.point2_index, s.leg2_end_index, s.final) == (3, 4, True)


def test_buy_point2_is_highest_high_of_leg2() -> None:
    c = make(high={2: 1.3, 3: 1.5, 4: 1.5}, n=6)
    (s,) = setups([50, 35, 75, 70, 80, 60], c)
    assert (s.side, s.point2_index, s.point2_price) == (Side.BUY, 3, 1.5)


# ---------------------------------------------------------------- rule 5: rejections


@pytest.mark.parametrize(("leg2_bars", "kept"), [(100, True), (101, False)])
def test_rejected_when_point2_more_than_window_after_point1(leg2_bars: int, kept: bool) -> None:
    """Leg 2 keeps making lower lows; point 2 ends up leg2_bars hours after point 1."""
    n = 2 + leg2_bars + 1
    c = make(low={k: 1.0 - 0.001 * k for k in range(2, n - 1)}, n=n)
    r = [50, 75] + [35] * leg2_bars + [50]
    assert len(setups(r, c)) == int(kept)
    kinds = [e.kind for e in events(r, c)]
    assert kinds[0] is EventKind.PUBLISH
    assert kinds[-1] is (EventKind.FINAL if kept else EventKind.CANCEL)
    if not kept:  # cancelled at the bar that moved point 2 beyond the window
        assert events(r, c)[-1].bar_index == 102


@pytest.mark.parametrize("low_j", [1.5, 1.6])
def test_rejected_when_price_high_not_above_price_low(low_j: float) -> None:
    c = make(high={1: 1.5, 2: 1.7}, low={2: low_j}, n=4)
    assert setups([50, 75, 35, 50], c) == []
    assert events([50, 75, 35, 50], c) == []


def test_buy_rejected_when_price_high_not_above_price_low() -> None:
    c = make(low={1: 1.5}, high={2: 1.5}, n=4)
    assert setups([50, 35, 75, 60], c) == []


def test_price_rejected_at_j_is_published_when_a_lower_extreme_fixes_it() -> None:
    """Rule 5 is judged on the setup as known at each close: once leg 2 reaches below point 1's
    High the setup exists, keyed by its j (bar 2), published at bar 3."""
    c = make(high={1: 1.5, 2: 1.7}, low={2: 1.55, 3: 1.4}, n=5)
    evs = events([50, 75, 35, 35, 50], c)
    assert summary(evs) == [("publish", "sell", 3), ("final", "sell", 4)]
    assert evs[0].setup.leg2_start == c.time_utc(2)
    assert evs[0].setup.point2_index == 3


# ---------------------------------------------------------------- rule 6: levels


def test_sell_levels_formula() -> None:
    c = make(high={1: 1.5}, low={2: 1.0}, n=4)
    (s,) = setups([50, 75, 35, 50], c)
    rng = 1.5 - 1.0
    entry = 1.0 + 0.74 * rng
    stop = 1.5 + 0.27 * rng
    assert (s.price_high, s.price_low) == (1.5, 1.0)
    assert (s.entry, s.stop, s.take_profit) == pytest.approx(
        (entry, stop, entry - 3.25 * (stop - entry)), abs=1e-12
    )
    assert s.stop > s.entry > s.take_profit


def test_buy_levels_formula() -> None:
    c = make(low={1: 1.0}, high={2: 1.5}, n=4)
    (s,) = setups([50, 35, 75, 50], c)
    rng = 1.5 - 1.0
    entry = 1.5 - 0.74 * rng
    stop = 1.0 - 0.27 * rng
    assert (s.entry, s.stop, s.take_profit) == pytest.approx(
        (entry, stop, entry + 3.25 * (entry - stop)), abs=1e-12
    )
    assert s.stop < s.entry < s.take_profit


def test_setup_levels_respects_params() -> None:
    p = StrategyParams(entry_ratio=0.5, stop_ratio=0.1, reward_risk=2.0)
    assert setup_levels(Side.SELL, 2.0, 1.0, p) == pytest.approx((1.5, 2.1, 0.3))
    assert setup_levels(Side.BUY, 2.0, 1.0, p) == pytest.approx((1.5, 0.9, 2.7))


# ---------------------------------------------------------------- identity


def test_two_triggers_reaching_the_same_j_are_one_setup_defined_by_the_earliest() -> None:
    c = make(high={1: 1.5, 3: 1.9}, n=6)
    evs = events([50, 75, 60, 75, 60, 35], c)
    assert summary(evs) == [("publish", "sell", 5)]
    assert evs[0].setup.trigger_index == 1
    assert evs[0].setup.key == ("TEST", Side.SELL, c.time_utc(5))


def test_earliest_trigger_out_of_window_leaves_j_to_the_next_trigger() -> None:
    r = [50, 75] + [60] * 99 + [75, 60, 35]  # trigger 1 is 102 h before j, trigger 101 is 2 h
    (s,) = setups(r)
    assert (s.trigger_index, s.leg2_start_index) == (101, 103)


# ---------------------------------------------------------------- life of a setup


def test_publish_revise_final_lifecycle() -> None:
    c = make(low={2: 1.0, 3: 0.9, 4: 0.95, 5: 0.9, 6: 0.5}, n=8)
    evs = events([50, 75, 35, 35, 38, 35, 45, 35], c)
    # bar 4 (higher low) and bar 5 (tie) are not new extremes; bar 6 ends leg 2.
    assert summary(evs) == [("publish", "sell", 2), ("revise", "sell", 3), ("final", "sell", 6)]
    publish, revise, final = evs
    assert publish.bar_time == c.time_utc(2) + H  # the close of bar j
    assert publish.setup.published_at == publish.bar_time
    assert (publish.setup.point2_price, publish.setup.final) == (1.0, False)
    assert revise.setup.point2_price == 0.9
    assert revise.setup.entry < publish.setup.entry
    assert final.bar_time == c.time_utc(6) + H
    assert (final.setup.final, final.setup.leg2_end_index) == (True, 5)
    assert final.setup.entry == revise.setup.entry


def test_open_setup_at_end_of_data_is_not_final() -> None:
    c = make(low={3: 0.9}, n=5)
    (s,) = setups([50, 75, 35, 35, 35], c)
    assert (s.final, s.leg2_end_index, s.point2_index) == (False, 4, 3)
    assert s.leg2_end_time == c.time_utc(4)


def test_too_old_marks_events_judged_against_now() -> None:
    c = make(n=4)
    p2_time = c.time_utc(2)
    for age_hours, too_old in ((1440, False), (1441, True)):
        now = p2_time + timedelta(hours=age_hours)
        evs = detect_events(c, rsi_values=[50, 75, 35, 50], now=now)
        assert [e.too_old for e in evs] == [too_old, too_old]
        assert evs[0].setup.is_too_old(now) is too_old
    assert [e.too_old for e in events([50, 75, 35, 50], c)] == [False, False]


def test_forming_bar_is_never_used() -> None:
    """(fix) The bar whose close would publish the setup is still forming at `now`."""
    c = make(n=3)
    now = c.time_utc(2) + timedelta(minutes=30)
    closed = c.closed(now)
    assert len(closed) == 2
    assert setups([50, 75], closed) == []
    assert detect_events(c, rsi_values=[50, 75, 35], now=now) == []
    assert len(detect_events(c, rsi_values=[50, 75, 35], now=now + H)) == 1
    det = IncrementalDetector("TEST")
    det.on_bar(c.bar(0), now=now)
    det.on_bar(c.bar(1), now=now)
    with pytest.raises(ValueError, match="still forming"):
        det.on_bar(c.bar(2), now=now)
    with pytest.raises(ValueError, match="still forming"):
        IncrementalDetector("TEST").replay(c, now=now)


def test_sell_and_buy_setups_coexist_in_bar_order_buy_first() -> None:
    r = [50, 75, 35, 35, 75, 60]
    evs = events(r)
    assert summary(evs) == [
        ("publish", "sell", 2),
        ("publish", "buy", 4),
        ("final", "sell", 4),
        ("final", "buy", 5),
    ]


# ---------------------------------------------------------------- edge cases and inputs


@pytest.mark.parametrize("n", [0, 1, 2])
def test_tiny_series_have_no_setups(n: int) -> None:
    c = make(n=n)
    assert detect_setups(c) == []
    assert detect_events(c) == []


def test_all_nan_rsi_has_no_setups() -> None:
    assert setups([N] * 10) == []


def test_rsi_values_length_must_match() -> None:
    with pytest.raises(ValueError, match="3 RSI values for 4 bars"):
        detect_events(make(n=4), rsi_values=[50, 60, 70])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rsi_period": 0}, "rsi_period must be an integer >= 1"),
        ({"rsi_period": 2.5}, "rsi_period must be an integer"),
        ({"rsi_low": 70, "rsi_high": 40}, "need 0 < rsi_low < rsi_high < 100"),
        ({"rsi_high": 100}, "need 0 < rsi_low < rsi_high < 100"),
        ({"entry_ratio": 1.2}, r"entry_ratio must be in \(0, 1\)"),
        ({"stop_ratio": -0.1}, "stop_ratio must be >= 0"),
        ({"window_hours": 0}, "window_hours must be > 0"),
        ({"reward_risk": -1}, "reward_risk must be > 0"),
        ({"max_age_hours": math.inf}, "max_age_hours must be a finite number"),
    ],
)
def test_strategy_params_validation_says_how_to_fix(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StrategyParams(**kwargs)


def test_incremental_detector_rejects_out_of_order_bars() -> None:
    c = make(n=3)
    det = IncrementalDetector("TEST")
    det.on_bar(c.bar(1))
    with pytest.raises(ValueError, match="feed in order"):
        det.on_bar(c.bar(0))
    assert det.bars_seen == 1


def test_incremental_detector_memory_is_bounded() -> None:
    """Triggers that can no longer reach a leg-2 bar are dropped: state stays O(window)."""
    m = fm.SideMachine(70.0, 40.0, 100 * 3600)
    for i in range(20_000):
        m.step(i, i * 3600, 75.0 if i % 2 else 60.0, 1.1, 1.0)
    assert len(m.pending) <= 51
    assert m.leg2 is None


def test_setup_key_and_price_properties() -> None:
    c = make(low={1: 0.9}, high={2: 1.4}, n=4)
    (s,) = setups([50, 35, 75, 50], c)
    assert s.key == ("TEST", Side.BUY, c.time_utc(2))
    assert (s.price_high, s.price_low) == (1.4, 0.9)
    assert s.age_hours(c.time_utc(2) + 10 * H) == 10.0
    assert Bar(c.time_utc(0), 1.0, 1.0, 1.0, 1.0).time == T0
