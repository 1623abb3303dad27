"""Invariants, checked with hypothesis: order safety, batch == live, no lookahead, mirror
symmetry of the two sides, and market-hours consistency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from trading.candles import Candles, load_csv
from trading.detector import (
    IncrementalDetector,
    Side,
    StrategyParams,
    detect_events,
    detect_setups,
)
from trading.market_hours import is_open, next_close, next_open
from trading.numeric import round_to_tick
from trading.orders import OrderLevels, OrderRefused, RefusalCode, build_order, reward_risk
from trading.symbols import SymbolSpec

DATA = Path(__file__).resolve().parents[2] / "data" / "samples" / "EURUSD_H1.csv"
PROFILE = settings(max_examples=150, deadline=None)
T0 = 1_704_067_200  # 2024-01-01 00:00 UTC


# ------------------------------------------------------------------- orders


@st.composite
def specs(draw: st.DrawFn) -> SymbolSpec:
    digits = draw(st.integers(0, 5))
    point = D(1).scaleb(-digits)
    step = draw(st.sampled_from([D("0.01"), D("0.1"), D(1)]))
    return SymbolSpec(
        name="RND",
        digits=digits,
        point=point,
        tick_size=point * draw(st.sampled_from([1, 5, 25])),
        tick_value=D(draw(st.integers(1, 500))) / 100,
        contract_size=D(100000),
        volume_min=step * draw(st.integers(1, 10)),
        volume_max=D(draw(st.sampled_from([50, 100, 500]))),
        volume_step=step,
        stops_level=draw(st.integers(0, 50)),
        kind="fx",
    )


@st.composite
def order_inputs(draw: st.DrawFn) -> tuple[SymbolSpec, OrderLevels, D, D, D]:
    spec = draw(specs())
    side = draw(st.sampled_from(list(Side)))
    scale = float(spec.point) * 10_000
    entry = draw(st.floats(50 * scale, 200 * scale))
    dist = draw(st.floats(0.0001 * scale, 5 * scale))
    stop = entry - dist if side is Side.BUY else entry + dist
    levels = OrderLevels(side, entry, stop, datetime(2024, 1, 1, tzinfo=UTC))
    mid = D(repr(entry)) * D(draw(st.sampled_from(["0.97", "0.999", "1", "1.001", "1.03"])))
    bid = round_to_tick(mid, spec.tick_size, "down")
    spread = spec.tick_size * draw(st.integers(0, 20))
    balance = D(draw(st.integers(100, 10_000_000)))
    return spec, levels, bid, bid + spread, balance


@PROFILE
@given(inputs=order_inputs(), risk_pct=st.sampled_from([D("0.5"), D(1), D(2), D(5)]))
def test_order_plans_are_safe(inputs: tuple, risk_pct: D) -> None:
    spec, levels, bid, ask, balance = inputs
    assume(bid > 0)
    try:
        plan = build_order(
            levels,
            spec,
            balance=balance,
            risk_pct=risk_pct,
            bid=bid,
            ask=ask,
            now=levels.published_at,
        )
    except OrderRefused as err:
        allowed = {
            RefusalCode.RISK_BUDGET_BELOW_MIN_VOLUME,
            RefusalCode.MARKET_THROUGH_STOP,
            RefusalCode.INVALID_LEVELS,  # e.g. a sell take-profit below zero
        }
        assert err.code in allowed
        return
    sign = 1 if plan.side is Side.BUY else -1
    tick = spec.tick_size
    # Stop on the correct side and at least the minimum distance away.
    assert sign * (plan.entry - plan.stop) >= max(5, spec.stops_level) * spec.point
    assert sign * (plan.take_profit - plan.entry) > 0
    # R:R >= 3.25 after rounding, all prices on the tick grid.
    assert reward_risk(plan.entry, plan.stop, plan.take_profit) >= D("3.25")
    for price in (plan.entry, plan.stop, plan.take_profit):
        assert price % tick == 0
    # Volume within limits, on the step grid, and never over the budget.
    assert spec.volume_min <= plan.volume <= spec.volume_max
    assert plan.volume % spec.volume_step == 0
    assert plan.risk_money <= plan.risk_budget == balance * risk_pct / 100
    # A limit must not be marketable: buy below the ask, sell above the bid.
    assert (plan.entry < ask) if plan.side is Side.BUY else (plan.entry > bid)


@PROFILE
@given(
    price=st.floats(0.001, 1e6),
    tick=st.sampled_from([D("0.00001"), D("0.001"), D("0.01"), D("0.25"), D(1)]),
)
def test_round_to_tick_lands_on_grid_and_brackets(price: float, tick: D) -> None:
    down, up, near = (round_to_tick(price, tick, m) for m in ("down", "up", "nearest"))
    exact = D(repr(price))
    assert down % tick == up % tick == near % tick == 0
    assert down <= exact <= up
    assert up - down in (0, tick)
    assert abs(near - exact) <= tick / 2


# ------------------------------------------------------------------- detector


def walk(steps: list[int], wicks: list[int]) -> Candles:
    close = 100.0 + 0.25 * np.cumsum(steps)
    close = np.maximum(close, 1.0)
    open_ = np.concatenate([close[:1], close[:-1]])
    w = 0.25 * np.resize(np.array(wicks or [1]), len(steps))
    high = np.maximum(open_, close) + w
    low = np.maximum(np.minimum(open_, close) - w, 0.5)
    t = T0 + 3600 * np.arange(len(steps))
    return Candles("RW", 3600, t, open_, high, low, close, np.zeros(len(steps)))


def trending(segments: list[tuple[int, int]], noise: list[int], wicks: list[int]) -> Candles:
    """Runs of drift (so RSI really reaches 70 and 40) with cycled noise on top."""
    drift = [d for d, length in segments for _ in range(length)]
    steps = [d + noise[i % len(noise)] for i, d in enumerate(drift)]
    return walk(steps, wicks)


walks = st.builds(
    trending,
    # Tuned so that about half the examples contain setups (measured: 72 of 150).
    st.lists(st.tuples(st.integers(-2, 2), st.integers(3, 20)), min_size=6, max_size=25),
    st.lists(st.integers(-1, 1), min_size=1, max_size=12),
    st.lists(st.integers(0, 3), min_size=1, max_size=10),
)


@PROFILE
@given(candles=walks)
def test_incremental_equals_batch_on_random_walks(candles: Candles) -> None:
    det = IncrementalDetector("RW")
    live = [ev for bar in candles.bars() for ev in det.on_bar(bar)]
    assert live == detect_events(candles)
    assert det.open_setups() == [s for s in detect_setups(candles) if not s.final]


def test_incremental_equals_batch_on_bundled_data() -> None:
    candles = load_csv(DATA, "EURUSD").candles
    det = IncrementalDetector("EURUSD")
    live = [ev for bar in candles.bars() for ev in det.on_bar(bar)]
    assert live == detect_events(candles)
    # replay() in two chunks is the same stream as well
    det2 = IncrementalDetector("EURUSD")
    chunks = det2.replay(candles.slice(0, 2345)) + det2.replay(candles.slice(2345, None))
    assert chunks == live


@PROFILE
@given(candles=walks, cut=st.floats(0, 1))
def test_no_lookahead_future_bars_never_change_known_history(candles: Candles, cut: float) -> None:
    k = int(cut * len(candles))
    prefix = candles.slice(0, k)
    full_events = detect_events(candles)
    # The events up to bar k are exactly the events of the data cut at bar k ...
    assert detect_events(prefix) == [e for e in full_events if e.bar_index < k]
    # ... so a setup already final at k is unchanged by any later bar.
    full = {s.key: s for s in detect_setups(candles)}
    for s in detect_setups(prefix):
        if s.final:
            assert full[s.key] == s


@PROFILE
@given(
    steps=st.lists(st.integers(-2, 2), min_size=2, max_size=300),
    levels=st.lists(st.sampled_from([30, 35, 40, 45, 55, 65, 70, 75, 80]), min_size=2),
)
def test_buy_side_is_the_mirror_image_of_sell_side(steps: list[int], levels: list[int]) -> None:
    """Prices p -> K - p and RSI r -> 110 - r swap the roles of 70 and 40 exactly, so every
    SELL setup becomes a BUY setup with mirrored levels, and vice versa."""
    n = len(steps)
    r = np.resize(np.array(levels, dtype=float), n)
    up = walk(steps, [1, 0, 2])
    k = 1000.0
    down = Candles(
        "RW", 3600, up.time, k - up.open, k - up.low, k - up.high, k - up.close, up.volume
    )
    a = detect_setups(up, rsi_values=r)
    b = detect_setups(down, rsi_values=110.0 - r)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.side != y.side
        assert (x.trigger_index, x.leg2_start_index, x.point1_index, x.point2_index) == (
            y.trigger_index,
            y.leg2_start_index,
            y.point1_index,
            y.point2_index,
        )
        assert (k - x.entry, k - x.stop, k - x.take_profit) == pytest.approx(
            (y.entry, y.stop, y.take_profit), rel=0, abs=1e-9
        )


@PROFILE
@given(candles=walks)
def test_setup_levels_are_ordered(candles: Candles) -> None:
    for s in detect_setups(candles, StrategyParams(window_hours=48)):
        assert s.price_high > s.price_low
        if s.side is Side.SELL:
            assert s.take_profit < s.entry < s.stop
        else:
            assert s.stop < s.entry < s.take_profit
        assert s.point2_time - s.point1_time <= timedelta(hours=48)


# ------------------------------------------------------------------- market hours


instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


@PROFILE
@given(t=instants, symbol=st.sampled_from(["EURUSD", "XAUUSD", "GOLD", "USDJPY"]))
def test_market_hours_invariants(t: datetime, symbol: str) -> None:
    opened = next_open(symbol, t)
    closed = next_close(symbol, t)
    second = timedelta(seconds=1)
    assert opened >= t
    assert is_open(symbol, opened)
    assert (opened == t) is is_open(symbol, t)
    assert closed > opened
    assert not is_open(symbol, closed)
    assert is_open(symbol, closed - second)
    if opened > t:
        assert not is_open(symbol, opened - second)
    assert closed - t <= timedelta(days=7, hours=1)  # a week, plus the hour a DST change adds
