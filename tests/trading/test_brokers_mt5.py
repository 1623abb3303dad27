"""MT5Broker over the fake MetaTrader5 module (itself driven by the paper engine)."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from tests.fakes.fake_mt5 import FakeMT5
from trading.brokers.base import (
    Broker,
    BrokerError,
    ConnectionLost,
    DealEntry,
    DealReason,
    InvalidPrice,
    InvalidStops,
    InvalidVolume,
    MarketClosed,
    NoMoney,
    OrderNotFound,
    OrderRejected,
    OrderRequest,
    OrderType,
    Requote,
    ResultUnknown,
    Side,
    TradingDisabled,
    UnknownSymbol,
)
from trading.brokers.mt5 import MT5Broker, Mt5Unavailable, load_mt5
from trading.brokers.paper import PaperBroker, PaperEngine
from trading.candles import Candles, load_csv
from trading.symbols import get_spec

DATA = "data/samples/EURUSD_H1.csv"
SPEC = get_spec("EURUSD")


@pytest.fixture(scope="module")
def candles() -> Candles:
    return load_csv(DATA, "EURUSD", 3600).candles


def make(candles: Candles, offset_s: int = 0, filling_mode: int = 2) -> tuple[MT5Broker, FakeMT5]:
    engine = PaperEngine({"EURUSD": SPEC}, spread_points=5)
    fake = FakeMT5(engine, {"EURUSD": candles}, start=100, server_utc_offset_s=offset_s,
                   filling_mode=filling_mode)  # fmt: skip
    return MT5Broker(fake, server_utc_offset_s=offset_s), fake


async def connected(candles: Candles, **kw: int) -> tuple[MT5Broker, FakeMT5]:
    broker, fake = make(candles, **kw)
    await broker.connect()
    return broker, fake


def buy_limit(bid: D, client_id: str = "sig-1", hours: int = 100) -> OrderRequest:
    return OrderRequest(
        "EURUSD", Side.BUY, OrderType.LIMIT, D("0.10"), bid - D("0.0010"), bid - D("0.0030"),
        bid + D("0.0050"), datetime(2017, 4, 25, 13, tzinfo=UTC) + timedelta(hours=hours),
        client_id=client_id,
    )  # fmt: skip


async def test_the_adapter_is_a_broker_and_maps_account_tick_and_spec(candles: Candles) -> None:
    broker, _ = await connected(candles)
    assert isinstance(broker, Broker)
    assert await broker.account() == (await PaperBroker(PaperEngine({"EURUSD": SPEC})).account())
    tick = await broker.tick("EURUSD")
    assert tick.bid == D(repr(float(candles.close[99]))) and tick.ask == tick.bid + D("0.00005")
    assert tick.time == candles.time_utc(100)  # the close of the last closed bar
    assert await broker.symbol_spec("EURUSD") == SPEC


async def test_limit_order_life_cycle_matches_the_paper_engine(candles: Candles) -> None:
    broker, fake = await connected(candles)
    tick = await broker.tick("EURUSD")
    placed = await broker.place_order(buy_limit(tick.bid))
    assert not placed.filled and placed.price == tick.bid - D("0.0010")
    [order] = await broker.orders("EURUSD")
    assert (order.ticket, order.client_id, order.expires_at) == (
        placed.ticket,
        "sig-1",
        datetime(2017, 4, 29, 17, tzinfo=UTC),
    )
    moved = await broker.modify_order(placed.ticket, order.price, order.sl, D("1.1000"))
    assert moved.tp == D("1.1000")
    assert fake.requests[-1]["action"] == fake.TRADE_ACTION_MODIFY
    fake.advance("EURUSD", 30)  # the sample fills this order, then stops it out
    deals = await broker.history(datetime(2017, 1, 1, tzinfo=UTC))
    assert [(d.entry, d.reason, d.price) for d in deals] == [
        (DealEntry.IN, DealReason.CLIENT, order.price),
        (DealEntry.OUT, DealReason.SL, order.sl),
    ]
    assert deals[1].profit_money == D("-20.00")  # 200 points * 0.1 lot
    assert (await broker.account()).balance == fake.engine.ledger.balance == D("9980.00")


async def test_market_order_position_modify_and_close(candles: Candles) -> None:
    broker, fake = await connected(candles)
    tick = await broker.tick("EURUSD")
    result = await broker.place_order(
        OrderRequest("EURUSD", Side.SELL, OrderType.MARKET, D("0.05"))
    )
    assert result.filled and result.price == tick.bid
    assert fake.requests[-1]["type_filling"] == fake.ORDER_FILLING_IOC  # symbol allows IOC only
    [position] = await broker.positions()
    assert (position.ticket, position.side, position.volume) == (
        result.position,
        Side.SELL,
        D("0.05"),
    )
    modified = await broker.modify_position(position.ticket, tick.ask + D("0.0040"), None)
    assert modified.sl == tick.ask + D("0.0040")
    deal = await broker.close_position(position.ticket)
    assert deal.entry is DealEntry.OUT and deal.price == tick.ask  # closes on the ask
    assert await broker.positions() == []


async def test_cancel_and_missing_tickets(candles: Candles) -> None:
    broker, _ = await connected(candles)
    placed = await broker.place_order(buy_limit((await broker.tick("EURUSD")).bid))
    await broker.cancel_order(placed.ticket)
    assert await broker.orders() == []
    with pytest.raises(OrderNotFound):
        await broker.cancel_order(placed.ticket)
    with pytest.raises(OrderNotFound, match="no pending order #999"):
        await broker.modify_order(999, D(1), None, None)


@pytest.mark.parametrize(
    ("retcode_name", "error"),
    [
        ("TRADE_RETCODE_REQUOTE", Requote),
        ("TRADE_RETCODE_INVALID_STOPS", InvalidStops),
        ("TRADE_RETCODE_INVALID_VOLUME", InvalidVolume),
        ("TRADE_RETCODE_INVALID_PRICE", InvalidPrice),
        ("TRADE_RETCODE_NO_MONEY", NoMoney),
        ("TRADE_RETCODE_MARKET_CLOSED", MarketClosed),
        ("TRADE_RETCODE_CONNECTION", ResultUnknown),  # the order may exist: look it up
        ("TRADE_RETCODE_TIMEOUT", ResultUnknown),
        ("TRADE_RETCODE_CLIENT_DISABLES_AT", TradingDisabled),  # AutoTrading off: not sent
        ("TRADE_RETCODE_REJECT", OrderRejected),
        ("TRADE_RETCODE_INVALID_FILL", OrderRejected),
    ],
)
async def test_order_send_retcodes_map_to_errors(
    candles: Candles, retcode_name: str, error: type[BrokerError]
) -> None:
    broker, fake = await connected(candles)
    fake.inject("order_send", retcode=getattr(fake, retcode_name))
    with pytest.raises(error) as info:
        await broker.place_order(buy_limit((await broker.tick("EURUSD")).bid))
    assert retcode_name in str(info.value) and info.value.retcode == getattr(fake, retcode_name)
    assert info.value.code == error.code
    assert await broker.orders() == []


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ({"sl": D("1.2")}, InvalidStops),  # stop above a buy limit: the engine refuses
        ({"volume": D("0.001")}, InvalidVolume),
        ({"volume": D("90")}, NoMoney),
    ],
)
async def test_engine_refusals_travel_back_as_retcodes(
    candles: Candles, bad: dict[str, object], error: type[BrokerError]
) -> None:
    import dataclasses

    broker, _ = await connected(candles)
    request = dataclasses.replace(buy_limit((await broker.tick("EURUSD")).bid), **bad)  # type: ignore[arg-type]
    with pytest.raises(error):
        await broker.place_order(request)


@pytest.mark.parametrize(
    ("function", "last_error", "error"),
    [
        ("account_info", (-10004, "No IPC connection"), ConnectionLost),
        ("positions_get", (-10005, "IPC timeout"), ConnectionLost),
        ("symbol_info_tick", (-1, "Terminal: Call failed"), BrokerError),
        ("order_send", (-8, "Auto-trading disabled"), TradingDisabled),  # nothing was sent
        ("order_send", (-10005, "IPC timeout"), ResultUnknown),  # sent, the answer is lost
    ],
)
async def test_none_answers_raise_from_last_error(
    candles: Candles, function: str, last_error: tuple[int, str], error: type[BrokerError]
) -> None:
    broker, fake = await connected(candles)
    fake.inject(function, last_error=last_error)
    calls = {
        "account_info": broker.account,
        "positions_get": broker.positions,
        "symbol_info_tick": lambda: broker.tick("EURUSD"),
        "order_send": lambda: broker.cancel_order(1),
    }
    with pytest.raises(error) as info:
        await calls[function]()
    assert type(info.value) is error and f"last_error {last_error[0]}" in str(info.value)


async def test_connect_failure_unknown_symbol_and_calls_before_connect(candles: Candles) -> None:
    broker, fake = make(candles)
    with pytest.raises(ConnectionLost, match="No IPC connection"):
        await broker.account()  # initialize() not called yet
    fake.inject("initialize", last_error=(-10003, "IPC initialize failed"))
    with pytest.raises(ConnectionLost, match="initialisation failed"):
        await broker.connect()
    await broker.connect()
    with pytest.raises(UnknownSymbol, match="XAUUSD.a"):
        await broker.symbol_spec("XAUUSD.a")


async def test_server_time_offset_is_removed(candles: Candles) -> None:
    broker, fake = await connected(candles, offset_s=7200)
    tick = await broker.tick("EURUSD")
    assert tick.time == candles.time_utc(100)
    request = buy_limit(tick.bid)
    await broker.place_order(request)
    assert request.expires_at is not None
    assert fake.requests[-1]["expiration"] == int(request.expires_at.timestamp()) + 7200
    [order] = await broker.orders()
    assert order.expires_at == request.expires_at


async def test_fok_is_preferred_when_the_symbol_allows_it(candles: Candles) -> None:
    broker, fake = await connected(candles, filling_mode=3)
    await broker.place_order(OrderRequest("EURUSD", Side.BUY, OrderType.MARKET, D("0.01")))
    assert fake.requests[-1]["type_filling"] == fake.ORDER_FILLING_FOK


def test_load_mt5_explains_where_the_package_lives(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> object:
        raise ImportError(name)

    monkeypatch.setattr(importlib, "import_module", missing)
    with pytest.raises(Mt5Unavailable, match="pip install MetaTrader5") as info:
        load_mt5()
    assert info.value.code == "mt5_unavailable"
