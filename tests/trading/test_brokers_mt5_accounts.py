"""MT5Broker on what real accounts differ in: filling policies, netting, the fill race, trade
permissions, partial fills and specs that are not loaded yet (the MQL5 EA mirrors these)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from tests.fakes import mt5_api as api
from tests.fakes.fake_mt5 import FakeMT5
from tests.trading.test_brokers_mt5 import SPEC, buy_limit, connected
from trading.brokers.base import (
    DealEntry,
    OrderRequest,
    OrderState,
    OrderType,
    Side,
    SpecIncomplete,
)
from trading.brokers.mt5 import MT5Broker
from trading.brokers.paper import PaperEngine
from trading.candles import Candles, load_csv

NETTING = api.ACCOUNT_MARGIN_MODE_RETAIL_NETTING


@pytest.fixture(scope="module")
def candles() -> Candles:
    return load_csv("data/samples/EURUSD_H1.csv", "EURUSD", 3600).candles


async def netting(candles: Candles) -> tuple[MT5Broker, FakeMT5]:
    engine = PaperEngine({"EURUSD": SPEC}, spread_points=5)
    fake = FakeMT5(engine, {"EURUSD": candles}, start=100, margin_mode=NETTING)
    broker = MT5Broker(fake)
    await broker.connect()
    return broker, fake


def market(side: Side, volume: str, comment: str = "") -> OrderRequest:
    return OrderRequest("EURUSD", side, OrderType.MARKET, D(volume), client_id=comment)


@pytest.mark.parametrize(
    ("filling_mode", "market_filling", "what"),
    [
        (0, api.ORDER_FILLING_RETURN, "RETURN only (exchange / instant execution)"),
        (1, api.ORDER_FILLING_FOK, "FOK only"),
        (2, api.ORDER_FILLING_IOC, "IOC only"),
        (3, api.ORDER_FILLING_FOK, "FOK and IOC: FOK first"),
    ],
)
async def test_filling_is_chosen_per_symbol_and_order_type(
    candles: Candles, filling_mode: int, market_filling: int, what: str
) -> None:
    broker, fake = await connected(candles, filling_mode=filling_mode)
    result = await broker.place_order(market(Side.BUY, "0.01"))
    assert result.filled, what
    assert fake.requests[-1]["type_filling"] == market_filling
    placed = await broker.place_order(buy_limit((await broker.tick("EURUSD")).bid))
    assert not placed.filled
    assert fake.requests[-1]["type_filling"] == api.ORDER_FILLING_RETURN  # pending: RETURN
    await broker.close_position(result.position or 0)
    assert fake.requests[-1]["type_filling"] == market_filling


@pytest.mark.parametrize(
    ("filling_mode", "action", "filling"),
    [
        (2, api.TRADE_ACTION_DEAL, api.ORDER_FILLING_FOK),  # CTrade's default on an IOC symbol
        (0, api.TRADE_ACTION_DEAL, api.ORDER_FILLING_IOC),
        (1, api.TRADE_ACTION_DEAL, api.ORDER_FILLING_RETURN),  # market execution: no RETURN
        (2, api.TRADE_ACTION_PENDING, api.ORDER_FILLING_FOK),
    ],
)
async def test_the_fake_refuses_a_filling_the_symbol_does_not_allow(
    candles: Candles, filling_mode: int, action: int, filling: int
) -> None:
    broker, fake = await connected(candles, filling_mode=filling_mode)
    bid = float((await broker.tick("EURUSD")).bid)
    pending = action == api.TRADE_ACTION_PENDING
    request = {
        "action": action, "symbol": "EURUSD", "volume": 0.1, "price": bid - 0.001 if pending else bid,
        "type": api.ORDER_TYPE_BUY_LIMIT if pending else api.ORDER_TYPE_BUY, "type_filling": filling,
    }  # fmt: skip
    assert fake.order_send(request).retcode == api.TRADE_RETCODE_INVALID_FILL


async def test_netting_merges_fills_into_the_symbols_position(candles: Candles) -> None:
    broker, fake = await netting(candles)
    assert not (await broker.account()).hedging
    first = await broker.place_order(market(Side.BUY, "0.10", "sd:1"))
    assert first.position == first.ticket  # the first fill opens the position
    second = await broker.place_order(market(Side.BUY, "0.20", "sd:2"))
    assert second.position == first.ticket != second.ticket  # merged: the position's id
    [position] = await broker.positions()
    assert (position.ticket, position.volume, position.comment) == (
        first.ticket,
        D("0.30"),
        "sd:1",
    )
    limit = await broker.place_order(buy_limit((await broker.tick("EURUSD")).bid, "sd:3"))
    fake.tick("EURUSD", float(limit.price) - 0.0005)  # the limit fills into the position
    deals = await broker.history(datetime(2017, 1, 1, tzinfo=UTC))
    mine = [d for d in deals if d.order == limit.ticket]
    assert [(d.entry, d.position, d.comment) for d in mine] == [
        (DealEntry.IN, first.ticket, "sd:3")
    ]
    assert [p.volume for p in await broker.positions()] == [D("0.40")]
    deal = await broker.close_position(first.ticket, D("0.10"), comment="sd:close")
    assert (deal.entry, deal.volume, deal.comment) == (DealEntry.OUT, D("0.10"), "sd:close")
    assert [p.volume for p in await broker.positions()] == [D("0.30")]  # the rest stays open


async def test_netting_an_opposite_fill_reduces_the_position(candles: Candles) -> None:
    broker, _ = await netting(candles)
    first = await broker.place_order(market(Side.BUY, "0.30"))
    sell = await broker.place_order(market(Side.SELL, "0.10", "sd:sell"))
    assert sell.position == first.ticket
    [position] = await broker.positions()
    assert (position.side, position.volume) == (Side.BUY, D("0.20"))
    deals = await broker.history(datetime(2017, 1, 1, tzinfo=UTC))
    assert [(d.entry, d.order) for d in deals][-1] == (DealEntry.OUT, sell.ticket)


async def test_order_state_tells_filled_cancelled_expired_and_unknown(candles: Candles) -> None:
    broker, fake = await connected(candles)
    bid = (await broker.tick("EURUSD")).bid
    cancelled = await broker.place_order(buy_limit(bid, "a"))
    assert await broker.order_state(cancelled.ticket) is None  # still pending
    await broker.cancel_order(cancelled.ticket)
    expired = await broker.place_order(buy_limit(bid, "b", hours=1))
    filled = await broker.place_order(market(Side.SELL, "0.01"))
    fake.advance("EURUSD", 3)  # the 1-hour order expires
    assert await broker.order_state(cancelled.ticket) is OrderState.CANCELLED
    assert await broker.order_state(expired.ticket) is OrderState.EXPIRED
    assert await broker.order_state(filled.ticket) is OrderState.FILLED
    assert await broker.order_state(999) is None


async def test_the_fill_race_hides_the_deal_and_maybe_the_history_order(
    candles: Candles,
) -> None:
    broker, fake = await connected(candles)
    limit = await broker.place_order(buy_limit((await broker.tick("EURUSD")).bid))
    fake.hide_fill(limit.ticket)
    fake.tick("EURUSD", float(limit.price) - 0.0005)
    since = datetime(2017, 1, 1, tzinfo=UTC)
    assert await broker.orders() == [] and await broker.positions() == []
    assert await broker.history(since) == [] and await broker.order_state(limit.ticket) is None
    fake.hide_fill(limit.ticket, order_in_history=True)
    assert await broker.order_state(limit.ticket) is OrderState.FILLED
    assert await broker.history(since) == []
    fake.reveal()
    assert [d.order for d in await broker.history(since)] == [limit.ticket]
    assert len(await broker.positions()) == 1


@pytest.mark.parametrize(
    ("setting", "reason"),
    [
        ("connected", "not connected"),
        ("algo_trading", "AutoTrading is off"),
        ("account_trade_allowed", "not allowed on this account"),
    ],
)
async def test_trading_blocked_names_the_reason(
    candles: Candles, setting: str, reason: str
) -> None:
    broker, fake = await connected(candles)
    assert await broker.trading_blocked() is None
    setattr(fake, setting, False)
    assert reason in (await broker.trading_blocked() or "")


async def test_trading_blocked_when_the_terminal_does_not_answer(candles: Candles) -> None:
    broker, fake = await connected(candles)
    fake.inject("terminal_info", last_error=(-10004, "No IPC connection"))
    assert "cannot reach the terminal" in (await broker.trading_blocked() or "")


async def test_a_partial_fill_reports_its_own_volume(candles: Candles) -> None:
    broker, fake = await connected(candles)
    fake.partial_volume = 0.04
    result = await broker.place_order(market(Side.BUY, "0.10"))
    assert result.volume == D("0.04")
    assert [p.volume for p in await broker.positions()] == [D("0.04")]


async def test_a_spec_that_is_not_loaded_yet_is_spec_incomplete(candles: Candles) -> None:
    broker, fake = await connected(candles)
    fake.incomplete.add("EURUSD")
    with pytest.raises(SpecIncomplete, match="tick_value"):
        await broker.symbol_spec("EURUSD")
    fake.incomplete.clear()
    assert await broker.symbol_spec("EURUSD") == SPEC
