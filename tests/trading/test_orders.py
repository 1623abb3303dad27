"""Order construction: rounding, minimum stop distance, market-through-entry, sizing, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from trading.numeric import floor_to_step, round_away_from, round_to_tick, safe_div
from trading.orders import (
    Adjustment,
    OrderLevels,
    OrderRefused,
    RefusalCode,
    build_order,
    position_size,
    reward_risk,
    round_levels,
)
from trading.setups import Side, StrategyParams
from trading.symbols import get_spec

EURUSD = get_spec("EURUSD")
XAUUSD = get_spec("XAUUSD")
PUB = datetime(2024, 3, 12, 10, tzinfo=UTC)


def sell(entry: float, stop: float) -> OrderLevels:
    return OrderLevels(Side.SELL, entry, stop, PUB)


def buy(entry: float, stop: float) -> OrderLevels:
    return OrderLevels(Side.BUY, entry, stop, PUB)


def plan(levels: OrderLevels, bid: str = "1.10000", ask: str = "1.10002", **kw: object):  # type: ignore[no-untyped-def]
    args = {"balance": D(10000), "risk_pct": D(2), "now": PUB, "spec": EURUSD}
    args.update(kw)
    return build_order(levels, bid=D(bid), ask=D(ask), **args)  # type: ignore[arg-type]


# ------------------------------------------------------------------- numeric helpers


@pytest.mark.parametrize(
    ("price", "tick", "mode", "expected"),
    [
        (1.234565, "0.00001", "nearest", "1.23457"),  # half away from zero
        (1.234564, "0.00001", "nearest", "1.23456"),
        (1.07219, "0.00001", "down", "1.07219"),  # repr, not binary 1.0721899999...
        (1.07219, "0.00001", "up", "1.07219"),
        (2034.567, "0.01", "down", "2034.56"),
        (2034.561, "0.01", "up", "2034.57"),
        (2034.5, "0.25", "nearest", "2034.50"),
        (D("2034.63"), "0.25", "nearest", "2034.75"),
    ],
)
def test_round_to_tick(price: float | D, tick: str, mode: str, expected: str) -> None:
    assert round_to_tick(price, D(tick), mode) == D(expected)  # type: ignore[arg-type]


def test_round_to_tick_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="tick must be a positive"):
        round_to_tick(1.0, D(0))
    with pytest.raises(ValueError, match="mode must be one of"):
        round_to_tick(1.0, D("0.1"), "sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        round_to_tick(float("nan"), D("0.1"))


def test_round_away_and_floor() -> None:
    assert round_away_from(1.23451, D("0.0001"), D("1.2")) == D("1.2346")
    assert round_away_from(1.23459, D("0.0001"), D("1.3")) == D("1.2345")
    assert floor_to_step(D("0.379"), D("0.01")) == D("0.37")
    assert floor_to_step(D("7"), D("0.5")) == D("7.0")


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [(1.0, 2.0, 0.5), (1.0, 0.0, None), (0.0, 0.0, None), (float("nan"), 1.0, None)],
)
def test_safe_div(a: float, b: float, expected: float | None) -> None:
    got = safe_div(a, b)
    assert (got != got) if expected is None else got == expected
    assert safe_div(1.0, 0.0, default=0.0) == 0.0
    assert safe_div(1e308, 1e-308, default=-1.0) == -1.0  # overflow is not a number


# ------------------------------------------------------------------- levels


def test_tp_from_rounded_levels_rounded_away_from_entry() -> None:
    lv = round_levels(Side.SELL, 1.2493634, 1.2554107, EURUSD)
    assert (lv.entry, lv.stop) == (D("1.24936"), D("1.25541"))
    # 1.24936 - 3.25 * 0.00605 = 1.2296975 -> away from entry (down): 1.22969
    assert lv.take_profit == D("1.22969")
    assert reward_risk(lv.entry, lv.stop, lv.take_profit) >= D("3.25")
    assert lv.adjustments == ()


def test_buy_levels_on_gold() -> None:
    lv = round_levels(Side.BUY, 2034.567, 2010.004, XAUUSD)
    assert (lv.entry, lv.stop) == (D("2034.57"), D("2010.00"))
    # 2034.57 + 3.25 * 24.57 = 2114.4225 -> up: 2114.43
    assert lv.take_profit == D("2114.43")


@pytest.mark.parametrize("stops_level", [0, 20])
def test_stop_moved_out_to_minimum_distance(stops_level: int) -> None:
    spec = EURUSD.with_overrides(stops_level=stops_level)
    lv = round_levels(Side.BUY, 1.10000, 1.09998, spec)
    points = max(5, stops_level)
    assert lv.stop == D("1.10000") - points * D("0.00001")
    assert lv.adjustments == (Adjustment.STOP_MOVED_TO_MIN_DISTANCE,)
    raw_tp = D("1.10000") + D("3.25") * points * D("0.00001")
    assert lv.take_profit == round_to_tick(raw_tp, D("0.00001"), "up")


def test_rounding_that_collapses_entry_and_stop_moves_the_stop() -> None:
    lv = round_levels(Side.SELL, 1.100001, 1.100003, EURUSD)
    assert (lv.entry, lv.stop) == (D("1.10000"), D("1.10005"))


@pytest.mark.parametrize(
    ("side", "entry", "stop"),
    [(Side.BUY, 1.1, 1.2), (Side.SELL, 1.2, 1.1), (Side.BUY, 1.1, 1.1), (Side.SELL, -1.0, 1.0)],
)
def test_stop_on_wrong_side_is_refused(side: Side, entry: float, stop: float) -> None:
    with pytest.raises(OrderRefused) as err:
        round_levels(side, entry, stop, EURUSD)
    assert err.value.code is RefusalCode.INVALID_LEVELS


def test_reward_risk_helper() -> None:
    assert reward_risk(D("1.1"), D("1.0"), D("1.425")) == D("3.25")
    with pytest.raises(ValueError, match="risk is zero"):
        reward_risk(D(1), D(1), D(2))


# ------------------------------------------------------------------- sizing


def test_position_size_floors_to_step_within_budget() -> None:
    # 0.00605 stop = 605 ticks * 1 USD = 605 USD per lot; 200 / 605 = 0.3305... -> 0.33
    s = position_size(D(200), D("0.00605"), EURUSD)
    assert (s.volume, s.risk_money, s.clamped_to_max) == (D("0.33"), D("199.65"), False)


def test_position_size_clamps_to_max() -> None:
    s = position_size(D(10_000_000), D("0.00100"), EURUSD)
    assert (s.volume, s.clamped_to_max) == (D(100), True)


def test_position_size_refuses_when_min_volume_exceeds_budget() -> None:
    with pytest.raises(OrderRefused, match=r"minimum volume 0.01 lots would risk 6.05") as err:
        position_size(D(5), D("0.00605"), EURUSD)
    assert err.value.code is RefusalCode.RISK_BUDGET_BELOW_MIN_VOLUME


# ------------------------------------------------------------------- build_order


def test_build_order_plain_sell() -> None:
    p = plan(sell(1.2493634, 1.2554107), bid="1.24500", ask="1.24502")
    assert p.order_type == "limit"
    assert (p.entry, p.stop, p.take_profit) == (D("1.24936"), D("1.25541"), D("1.22969"))
    assert (p.volume, p.risk_money, p.risk_budget) == (D("0.33"), D("199.65"), D(200))
    assert p.stop_points == 605
    assert p.expires_at == PUB + timedelta(hours=100)
    assert (p.adjustments, p.notes) == ((), ())
    assert p.reward_risk >= D("3.25")


def test_market_through_entry_moves_the_limit_beyond_bid_for_a_sell() -> None:
    p = plan(sell(1.2493634, 1.2554107), bid="1.25000", ask="1.25002")
    assert p.entry == D("1.25010")  # bid + 10 points
    assert p.adjustments == (Adjustment.PRICE_ADJUSTED_MARKET_THROUGH_ENTRY,)
    assert "10 points" in p.notes[0]
    assert p.take_profit == D("1.23284")  # 1.25010 - 3.25 * 0.00531 = 1.2328425, floored


def test_market_through_entry_moves_the_limit_below_ask_for_a_buy() -> None:
    p = plan(buy(1.1050, 1.0950), bid="1.10398", ask="1.10400")
    assert p.entry == D("1.10390")  # ask - 10 points
    assert p.adjustments[0] == "price_adjusted_market_through_entry"


def test_market_exactly_at_entry_counts_as_through() -> None:
    p = plan(buy(1.1050, 1.0950), bid="1.10498", ask="1.10500")
    assert p.entry == D("1.10490")


def test_market_through_the_stop_is_refused() -> None:
    with pytest.raises(OrderRefused) as err:
        plan(buy(1.1050, 1.0950), bid="1.09000", ask="1.09002")
    assert err.value.code is RefusalCode.MARKET_THROUGH_STOP


def test_volume_clamp_is_reported() -> None:
    p = plan(sell(1.2493634, 1.2554107), bid="1.2", ask="1.2", balance=D(10**9))
    assert p.volume == D(100)
    assert Adjustment.VOLUME_CLAMPED_TO_MAX in p.adjustments


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"balance": D(0)}, RefusalCode.INVALID_ACCOUNT),
        ({"risk_pct": D(0)}, RefusalCode.INVALID_ACCOUNT),
        ({"risk_pct": D(101)}, RefusalCode.INVALID_ACCOUNT),
        ({"balance": D(100)}, RefusalCode.RISK_BUDGET_BELOW_MIN_VOLUME),
        ({"now": PUB + timedelta(hours=100)}, RefusalCode.ORDER_EXPIRED),
        ({"bid": "1.3", "ask": "1.2"}, RefusalCode.INVALID_QUOTE),
    ],
)
def test_refusals(kw: dict, code: RefusalCode) -> None:
    with pytest.raises(OrderRefused) as err:
        plan(sell(1.2493634, 1.2554107), **kw)
    assert err.value.code is code
    assert str(code) in str(err.value)


def test_order_expiry_follows_params() -> None:
    p = plan(
        sell(1.2493634, 1.2554107),
        bid="1.2",
        ask="1.2",
        params=StrategyParams(order_expiry_hours=10),
    )
    assert p.expires_at == PUB + timedelta(hours=10)


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="naive"):
        plan(sell(1.2493634, 1.2554107), now=datetime(2024, 3, 12))  # noqa: DTZ001
