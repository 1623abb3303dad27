"""The paper broker's collaborators on their own: the Market (costs, quotes, the market-hours
gate) and the Ledger (book, deals, money arithmetic), without the engine's rules."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from trading.brokers.base import (
    DealEntry,
    DealReason,
    MarketClosed,
    OrderNotFound,
    OrderRequest,
    OrderState,
    OrderType,
    Side,
    UnknownSymbol,
)
from trading.brokers.paper_ledger import Ledger
from trading.brokers.paper_market import Market
from trading.brokers.paper_rules import PaperEventKind, Record
from trading.symbols import get_spec

T0 = int(datetime(2024, 1, 2, tzinfo=UTC).timestamp())
SPECS = {"EURUSD": get_spec("EURUSD"), "XAUUSD": get_spec("XAUUSD")}


def market(**kw: object) -> Market:
    m = Market(SPECS, **kw)  # type: ignore[arg-type]
    m.set_quote("EURUSD", 1.1, 1.1, T0)
    m.set_quote("XAUUSD", 2000.0, 2000.0, T0)
    return m


def ledger(commission: str = "0", balance: str = "10000") -> Ledger:
    return Ledger(market(), balance=D(balance), commission_per_lot_money=D(commission))


def record(
    ticket: int, side: Side, price: str, lots: str = "0.10", symbol: str = "EURUSD"
) -> Record:
    request = OrderRequest(symbol, side, OrderType.LIMIT, D(lots), D(price))
    return Record(
        ticket, request, side == Side.BUY, D(lots), D(price), float(price), None, None, T0, None
    )


# -- Market ----------------------------------------------------------------------------------
def test_market_costs_per_symbol_spread_and_unknown_symbols() -> None:
    m = Market(SPECS, spread_points={"EURUSD": 12})
    assert m.costs("EURUSD").spread == D("0.00012")
    assert m.costs("XAUUSD").spread == 0  # a mapping without the symbol: no spread
    assert m.costs("EURUSD").money_per_unit == D(100_000)  # tick_value / tick_size
    assert Market(SPECS, spread_points=3).costs("XAUUSD").spread == D("0.03")
    with pytest.raises(UnknownSymbol, match="knows"):
        m.costs("GBPUSD")
    with pytest.raises(ValueError, match="spread_points must be >= 0"):
        Market(SPECS, spread_points=-1)


def test_market_quotes_on_the_tick_grid_and_time_only_moves_forward() -> None:
    m = Market(SPECS)
    with pytest.raises(MarketClosed, match="feed a bar or a tick"):
        m.quote("EURUSD")
    m.set_quote("EURUSD", 1.1000049, 1.1001051, T0 + 60)
    tick = m.quote("EURUSD")
    assert (tick.bid, tick.ask) == (D("1.10000"), D("1.10011"))
    assert tick.time == datetime.fromtimestamp(T0 + 60, UTC)
    assert m.last("EURUSD") == (1.1000049, 1.1001051, T0 + 60)
    m.set_quote("XAUUSD", 2000.0, 2000.5, T0)  # an older quote of another symbol
    assert m.now_s == T0 + 60


@pytest.mark.parametrize(("is_open", "refused"), [(True, False), (False, True)])
def test_open_quote_asks_the_market_hours_gate(is_open: bool, refused: bool) -> None:
    asked: list[tuple[str, datetime]] = []

    def market_open(symbol: str, at: datetime) -> bool:
        asked.append((symbol, at))
        return is_open

    m = market(market_open=market_open)
    if refused:
        with pytest.raises(MarketClosed, match="market closed for EURUSD"):
            m.open_quote("EURUSD")
    else:
        assert m.open_quote("EURUSD").bid == D("1.1")
    assert asked == [("EURUSD", datetime.fromtimestamp(T0, UTC))]
    assert m.quote("EURUSD").bid == D("1.1")  # reading a quote never asks the gate
    assert len(asked) == 1


# -- Ledger: money -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("side", "entry", "exit_", "lots", "symbol", "profit"),
    [
        (Side.BUY, "1.10000", "1.10500", "0.10", "EURUSD", "50.00"),
        (Side.SELL, "1.10000", "1.10500", "0.10", "EURUSD", "-50.00"),
        (Side.SELL, "1.10500", "1.10000", "1.00", "EURUSD", "500.00"),
        (Side.BUY, "2000.00", "1990.50", "0.03", "XAUUSD", "-28.50"),
        (Side.BUY, "1.100000", "1.100005", "0.01", "EURUSD", "0.00"),  # 0.005: half to even
        (Side.BUY, "1.100000", "1.100015", "0.01", "EURUSD", "0.02"),  # 0.015: half to even
        (Side.BUY, "1.10000", "1.10000", "5.00", "EURUSD", "0.00"),
    ],
)
def test_profit_money_is_move_times_money_per_unit_times_lots_in_cents(
    side: Side, entry: str, exit_: str, lots: str, symbol: str, profit: str
) -> None:
    led = ledger()
    assert led.profit_money(record(1, side, entry, lots, symbol), D(exit_), D(lots)) == D(profit)


def test_book_charges_commission_per_lot_and_moves_the_balance_by_profit_plus_it() -> None:
    led = ledger(commission="7.005")
    buy = record(1, Side.BUY, "1.10000")
    entry = led.book(buy, DealEntry.IN, D("0.10"), D("1.10000"), T0, D(0))
    assert (entry.side, entry.commission_money, entry.profit_money) == (Side.BUY, D("-0.70"), 0)
    assert led.balance == D("9999.30")
    out = led.book(buy, DealEntry.OUT, D("1.00"), D("1.10100"), T0 + 60, D("12.34"), DealReason.TP)
    assert (out.side, out.entry, out.reason) == (Side.SELL, DealEntry.OUT, DealReason.TP)
    assert out.commission_money == D("-7.00")  # 7.005 rounded half to even
    assert led.balance == D("9999.30") + D("12.34") - D("7.00")
    assert [d.ticket for d in led.deals] == [1, 2]


def test_amend_deal_keeps_the_balance_the_sum_of_the_deals() -> None:
    led = ledger(commission="2")
    buy = record(1, Side.BUY, "1.10000")
    led.book(buy, DealEntry.IN, D("0.10"), D("1.10000"), T0, D(0))
    led.book(buy, DealEntry.OUT, D("0.10"), D("1.10100"), T0, D("10.00"))
    amended = led.amend_deal(0, entry=DealEntry.OUT, profit_money=D("-3.21"), position=7)
    assert (amended.entry, amended.position, led.deals[0]) == (DealEntry.OUT, 7, amended)
    moved = sum((d.profit_money + d.commission_money for d in led.deals), D(0))
    assert led.balance == D(10_000) + moved == D("10006.39")
    led.amend_deal(1, position=1)  # no money in the change: the balance stays
    assert led.balance == D("10006.39")


def test_account_equity_floating_and_margin_at_the_markets_quotes() -> None:
    led = ledger()
    buy, sell = record(1, Side.BUY, "1.09000"), record(2, Side.SELL, "2010.00", "0.50", "XAUUSD")
    led.fill(buy, T0, fresh_until_s=None)
    led.fill(sell, T0, fresh_until_s=None)
    account = led.account()
    assert led.floating_money(buy) == D("100.00")  # (1.1 - 1.09) * 100000 * 0.1
    assert led.floating_money(sell) == D("500.00")  # (2010 - 2000) * 100 * 0.5
    assert (account.balance, account.equity) == (D(10_000), D(10_600))
    assert account.margin == D("1.09") * 100_000 * D("0.1") / 100 + D(2010) * 100 * D("0.5") / 100
    assert led.free_margin() == account.equity - account.margin
    assert led.equity_float() == pytest.approx(10_600.0)


def test_ledger_refuses_a_non_positive_balance_or_leverage_and_negative_commission() -> None:
    for kw in ({"balance": D(0)}, {"leverage": 0}, {"commission_per_lot_money": D(-1)}):
        with pytest.raises(ValueError, match="must be > 0"):
            Ledger(market(), **kw)  # type: ignore[arg-type]


# -- Ledger: the book --------------------------------------------------------------------------
def test_the_book_moves_orders_through_fill_expire_cancel_and_close() -> None:
    led = ledger()
    tickets = [led.new_ticket() for _ in range(3)]
    assert tickets == [1, 2, 3]
    for ticket in tickets:
        led.add_pending(record(ticket, Side.BUY, "1.09000"))
    filled = led.fill(led.pending(1), T0 + 60, fresh_until_s=T0 + 3600)
    expired = led.expire(led.pending(2), T0 + 120)
    led.cancel(3)
    assert (filled.kind, expired.kind) == (PaperEventKind.FILLED, PaperEventKind.EXPIRED)
    assert led.order_states == {
        1: OrderState.FILLED,
        2: OrderState.EXPIRED,
        3: OrderState.CANCELLED,
    }
    assert led.orders() == [] and [p.ticket for p in led.positions()] == [1]
    position = led.open_position(1)
    assert (position.opened_s, position.fresh_until_s) == (T0 + 60, T0 + 3600)
    part = led.close(position, D("0.04"), D("1.09500"), T0 + 180, DealReason.CLIENT, "part")
    assert (part.volume, part.profit_money, part.comment) == (D("0.04"), D("20.00"), "part")
    assert led.positions()[0].volume == D("0.06")
    led.close(position, None, D("1.09000"), T0 + 240, DealReason.SL)
    assert led.positions() == [] and led.balance == D("10020.00")
    assert [(d.entry, d.volume) for d in led.history(datetime.fromtimestamp(T0 + 100, UTC))] == [
        (DealEntry.OUT, D("0.04")),
        (DealEntry.OUT, D("0.06")),
    ]
    with pytest.raises(OrderNotFound, match="no pending order #1"):
        led.pending(1)  # filled
    with pytest.raises(OrderNotFound, match="no open position #1"):
        led.open_position(1)  # closed


@pytest.mark.parametrize("lots", ["0", "-0.01", "0.11"])
def test_close_refuses_a_volume_outside_the_position(lots: str) -> None:
    led = ledger()
    position = record(1, Side.SELL, "1.10000")
    led.fill(position, T0, fresh_until_s=None)
    with pytest.raises(ValueError, match="close volume"):
        led.close(position, D(lots), D("1.1"), T0, DealReason.CLIENT)
    assert len(led.deals) == 1 and position.volume == D("0.10")


def test_discard_position_takes_it_off_the_book_and_keeps_its_deals() -> None:
    led = ledger()
    position = record(1, Side.BUY, "1.10000")
    led.fill(position, T0, fresh_until_s=None)
    led.discard_position(position)
    assert led.all_positions() == [] and len(led.deals) == 1
