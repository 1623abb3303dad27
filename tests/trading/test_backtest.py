"""Backtester: golden figures on the bundled EURUSD H1 data, cross-checked by a naive bar scan
and by invariants of the order life cycle; edge cases."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import numpy as np
import pytest

from trading.backtest import BacktestConfig, BacktestResult, OrderEventKind, run_backtest
from trading.backtest_export import result_to_dict
from trading.brokers.base import Side
from trading.candles import Candles, load_csv
from trading.detector import detect_setups
from trading.market_hours import is_open
from trading.symbols import get_spec

SPEC = get_spec("EURUSD")
K = OrderEventKind


@pytest.fixture(scope="module")
def candles() -> Candles:
    return load_csv("data/samples/EURUSD_H1.csv", "EURUSD", 3600).candles


@pytest.fixture(scope="module")
def result(candles: Candles) -> BacktestResult:
    return run_backtest(candles, SPEC)


def test_golden_figures_on_the_bundled_data(result: BacktestResult) -> None:
    # Pinned after the cross-checks below (naive bar scan, detector agreement, invariants).
    assert result.bars == 5000
    assert len(result.setups) == 63
    assert Counter(str(e.kind) for e in result.orders) == {
        "placed": 66, "revised": 94, "filled": 39, "expired": 23, "cancelled": 3,
        "replaced": 1, "refused": 1,
    }  # fmt: skip
    assert len(result.trades) == 39
    assert Counter(t.exit_reason for t in result.trades) == {"sl": 21, "tp": 16, "end": 2}
    m = result.metrics
    assert m.end_equity_money == pytest.approx(18430.56)
    assert m.max_drawdown_pct == pytest.approx(8.1026, abs=1e-4)
    assert m.win_rate_pct == pytest.approx(17 / 39 * 100)
    assert m.profit_factor == pytest.approx(2.5197, abs=1e-4)
    assert m.average_r == pytest.approx(0.8279, abs=1e-4)
    assert m.sharpe == pytest.approx(3.1787, abs=1e-4)
    assert m.exposure_pct == pytest.approx(35.44)


def test_setups_are_the_detectors_setups(result: BacktestResult, candles: Candles) -> None:
    assert result.setups == tuple(detect_setups(candles))


def test_every_trade_agrees_with_a_naive_bar_scan(
    result: BacktestResult, candles: Candles
) -> None:
    times = candles.time.tolist()
    times.append(times[-1] + candles.timeframe_s)  # "end" exits: the close of the last bar
    for t in result.trades:
        e, x = (
            times.index(int(t.entry_time.timestamp())),
            times.index(int(t.exit_time.timestamp())),
        )
        d = 1 if t.side is Side.BUY else -1
        entry, stop, tp = float(t.entry_price), float(t.stop), float(t.take_profit)
        worst = candles.low if d == 1 else candles.high  # spread 0: bid bars on both sides
        best = candles.high if d == 1 else candles.low
        assert (worst[e] - entry) * d <= 0, "the entry bar touches the limit"
        for i in range(e + 1, x):
            assert (worst[i] - stop) * d > 0 and (best[i] - tp) * d < 0, "no earlier exit"
        if t.exit_reason == "sl":
            assert (worst[x] - stop) * d <= 0
            assert float(t.exit_price) in (stop, float(candles.open[x]))
        elif t.exit_reason == "tp":
            assert (best[x] - tp) * d >= 0 and (worst[x] - stop) * d > 0
            assert float(t.exit_price) in (tp, float(candles.open[x]))
        else:
            assert t.exit_reason == "end" and x == len(candles)
            assert float(t.exit_price) == float(candles.close[-1])
        assert t.r_multiple == pytest.approx((float(t.exit_price) - entry) * d / abs(entry - stop))


def test_order_life_cycle_invariants(result: BacktestResult) -> None:
    pending: dict[Side, int] = {}
    filled: set[int] = set()
    for ev in result.orders:
        if ev.kind in (K.PLACED, K.REVISED) and ev.ticket is not None:
            assert pending.get(ev.side, ev.ticket) == ev.ticket or ev.kind is K.REVISED
            assert ev.ticket not in filled, "a filled trade is never modified"
            pending[ev.side] = ev.ticket
            assert is_open(SPEC, ev.time), "no placement while the market is closed"
        elif ev.kind in (K.FILLED, K.EXPIRED, K.REPLACED, K.CANCELLED):
            assert pending.pop(ev.side) == ev.ticket, "one pending order per side"
            if ev.kind is K.FILLED:
                filled.add(ev.ticket or 0)
    assert pending == {}
    assert len(filled) == len(result.trades)


def test_orders_expire_100_hours_after_publication(result: BacktestResult) -> None:
    published = {(s.side, s.leg2_start): s.published_at for s in result.setups}
    expired = [e for e in result.orders if e.kind is K.EXPIRED]
    assert expired
    for ev in expired:
        assert ev.time == published[ev.side, ev.setup_key] + timedelta(hours=100)


def test_equity_and_ledger_agree(result: BacktestResult) -> None:
    total = sum((t.profit_money for t in result.trades), D(0))
    assert result.equity[-1] == pytest.approx(10_000 + float(total))
    assert len(result.equity) == len(result.equity_time_s) == result.bars
    assert not result.equity.flags.writeable


def test_risk_per_trade_stays_within_budget(result: BacktestResult) -> None:
    for ev in result.orders:
        if ev.kind is K.PLACED and ev.price is not None and ev.stop is not None:
            assert ev.volume is not None
            risk = abs(ev.price - ev.stop) / SPEC.tick_size * SPEC.tick_value * ev.volume
            assert risk <= D("0.02") * D(18_500)  # 2 % of the largest balance reached


def test_a_date_range_trades_only_its_bars(candles: Candles) -> None:
    start, end = datetime(2017, 9, 1, tzinfo=UTC), datetime(2017, 12, 1, tzinfo=UTC)
    ranged = run_backtest(candles, SPEC, BacktestConfig(start=start, end=end))
    assert 0 < ranged.bars < 5000
    assert all(start <= e.time <= end + timedelta(hours=1) for e in ranged.orders)
    assert all(start <= s.published_at for s in ranged.setups)


@pytest.mark.parametrize(
    "config",
    [
        BacktestConfig(start=datetime(2030, 1, 1, tzinfo=UTC)),
        BacktestConfig(end=datetime(2000, 1, 1, tzinfo=UTC)),
    ],
)
def test_an_empty_range_is_refused_with_the_data_span(
    candles: Candles, config: BacktestConfig
) -> None:
    with pytest.raises(ValueError, match="the data covers 2017-04-19"):
        run_backtest(candles, SPEC, config)


def test_costs_are_charged(candles: Candles, result: BacktestResult) -> None:
    costly = run_backtest(
        candles, SPEC, BacktestConfig(spread_points=10, commission_per_lot_money=D("3.5"))
    )
    assert all(t.commission_money < 0 for t in costly.trades)
    assert costly.metrics.end_equity_money < result.metrics.end_equity_money


def test_too_few_bars_give_an_empty_but_valid_result(candles: Candles) -> None:
    short = run_backtest(candles.slice(0, 30), SPEC)
    assert (short.setups, short.orders, short.trades) == ((), (), ())
    assert short.metrics.trades == 0 and math.isnan(short.metrics.profit_factor)
    assert np.all(short.equity == 10_000)


def test_the_export_is_json_ready(result: BacktestResult) -> None:
    data = result_to_dict(result)
    assert data["setups"][0]["point1"] == {
        "time": result.setups[0].point1_time.isoformat(),
        "price": result.setups[0].point1_price,
    }
    assert set(data["trades"][0]) >= {"entry_time", "exit_reason", "pips", "r_multiple"}
    assert data["metrics"]["trades"] == 39


def test_the_run_is_deterministic(candles: Candles, result: BacktestResult) -> None:
    again = run_backtest(candles, SPEC)
    assert again.trades == result.trades and again.orders == result.orders
    assert dataclasses.astuple(again.metrics) == pytest.approx(dataclasses.astuple(result.metrics))
