"""The fake MT5's collaborators on their own: the netting account model on a paper ledger,
the fill race, the book's server times and the order desk's filling rules and retcodes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from tests.fakes import mt5_api as api
from tests.fakes.fake_mt5_book import Book
from tests.fakes.fake_mt5_netting import AccountModel, FillRace
from tests.fakes.fake_mt5_trading import OrderDesk
from trading.brokers.base import DealEntry, OrderRequest, OrderType, Side
from trading.brokers.paper import PaperEngine
from trading.symbols import get_spec

T0 = int(datetime(2024, 1, 2, tzinfo=UTC).timestamp())
NETTING, HEDGING = api.ACCOUNT_MARGIN_MODE_RETAIL_NETTING, api.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING


def engine(commission: str = "0") -> PaperEngine:
    eng = PaperEngine({"EURUSD": get_spec("EURUSD")}, commission_per_lot_money=D(commission))
    eng.market.set_quote("EURUSD", 1.1, 1.1, T0)
    return eng


def market(eng: PaperEngine, side: Side, lots: str) -> int:
    request = OrderRequest("EURUSD", side, OrderType.MARKET, D(lots))
    return eng.place(request).ticket


def money_is_the_sum_of_the_deals(eng: PaperEngine) -> bool:
    deals = eng.ledger.deals
    return eng.ledger.balance == D(10_000) + sum(
        (d.profit_money + d.commission_money for d in deals), D(0)
    )


# -- AccountModel -----------------------------------------------------------------------------
def test_hedging_leaves_positions_side_by_side() -> None:
    eng = engine()
    model = AccountModel(eng.ledger, HEDGING)
    market(eng, Side.BUY, "0.10")
    market(eng, Side.SELL, "0.10")
    model.settle()
    assert not model.netting and len(eng.ledger.all_positions()) == 2


def test_netting_merges_a_same_side_fill_at_the_volume_weighted_price() -> None:
    eng = engine(commission="1")
    model = AccountModel(eng.ledger, NETTING)
    first = market(eng, Side.BUY, "0.10")
    eng.market.set_quote("EURUSD", 1.103, 1.103, T0 + 60)
    second = market(eng, Side.BUY, "0.20")
    model.settle()
    [position] = eng.ledger.all_positions()
    assert (position.ticket, position.volume) == (first, D("0.30"))
    assert position.price == (D("1.1") * D("0.1") + D("1.103") * D("0.2")) / D("0.3")
    assert position.price_f == float(position.price)
    assert [(d.order, d.position, d.entry) for d in eng.ledger.deals] == [
        (first, first, DealEntry.IN),
        (second, first, DealEntry.IN),
    ]
    assert eng.ledger.balance == D("9999.70") and money_is_the_sum_of_the_deals(eng)


@pytest.mark.parametrize(
    ("sell_lots", "left_side", "left_lots", "profit"),
    [
        ("0.04", Side.BUY, "0.06", "8.00"),  # a reduction
        ("0.10", None, None, "20.00"),  # a close
        ("0.25", Side.SELL, "0.15", "20.00"),  # a reversal: OUT 0.10, IN 0.15
    ],
)
def test_netting_an_opposite_fill_realises_profit_and_reverses_what_is_left(
    sell_lots: str, left_side: Side | None, left_lots: str | None, profit: str
) -> None:
    eng = engine()
    model = AccountModel(eng.ledger, NETTING)
    buy = market(eng, Side.BUY, "0.10")
    eng.market.set_quote("EURUSD", 1.102, 1.102, T0 + 60)
    sell = market(eng, Side.SELL, sell_lots)
    model.settle()
    positions = eng.ledger.all_positions()
    if left_side is None:
        assert positions == []
    else:
        [left] = positions
        assert (left.is_buy, left.volume) == (left_side == Side.BUY, D(left_lots or "0"))
    out = eng.ledger.deals[1]
    assert (out.order, out.position, out.entry, out.profit_money) == (
        sell,
        buy,
        DealEntry.OUT,
        D(profit),
    )
    assert out.volume == min(D(sell_lots), D("0.10"))
    reversed_in = [d for d in eng.ledger.deals[2:] if d.entry == DealEntry.IN]
    assert len(reversed_in) == (1 if D(sell_lots) > D("0.10") else 0)
    assert eng.ledger.balance == D(10_000) + D(profit) and money_is_the_sum_of_the_deals(eng)


# -- FillRace and Book -------------------------------------------------------------------------
def test_the_race_hides_a_fill_until_revealed() -> None:
    race = FillRace()
    assert not race.hides(7) and race.order_in_history(7)
    race.hide(7)
    race.hide(8, order_in_history=True)
    assert race.hides(7) and not race.order_in_history(7)
    assert race.hides(8) and race.order_in_history(8)
    race.reveal()
    assert not race.hides(7) and not race.hides(8)


def test_the_book_shows_server_times_and_leaves_out_what_the_race_hides() -> None:
    eng = engine()
    desk = OrderDesk(eng, filling_mode=api.SYMBOL_FILLING_FOK, offset_s=7200)
    race = FillRace()
    book = Book(eng.ledger, race, desk.placed, offset_s=7200)
    request = {"action": api.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1,
               "type": api.ORDER_TYPE_BUY, "type_filling": api.ORDER_FILLING_FOK}  # fmt: skip
    ticket = desk.send(request).order
    [position] = book.positions()
    assert (position.ticket, position.time, position.volume) == (ticket, T0 + 7200, 0.1)
    assert [d.time for d in book.history_deals(T0, T0 + 7200)] == [T0 + 7200]
    assert book.history_deals(T0 + 7201, T0 + 9999) == ()
    assert [o.state for o in book.history_orders()] == [api.ORDER_STATE_FILLED]
    race.hide(ticket)
    assert book.positions() == book.history_deals() == book.history_orders() == ()
    race.hide(ticket, order_in_history=True)
    assert [o.ticket for o in book.history_orders()] == [ticket] and book.positions() == ()


# -- OrderDesk ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("symbol_flags", "market_filling", "pending_filling", "market_ok", "pending_ok"),
    [
        (api.SYMBOL_FILLING_FOK, api.ORDER_FILLING_FOK, api.ORDER_FILLING_RETURN, True, True),
        (api.SYMBOL_FILLING_IOC, api.ORDER_FILLING_FOK, api.ORDER_FILLING_IOC, False, True),
        (api.SYMBOL_FILLING_FOK, api.ORDER_FILLING_RETURN, api.ORDER_FILLING_IOC, False, False),
        (0, api.ORDER_FILLING_RETURN, api.ORDER_FILLING_FOK, True, False),  # RETURN-only
    ],
)
def test_the_desk_checks_the_filling_policy_as_mt5_does(
    symbol_flags: int, market_filling: int, pending_filling: int, market_ok: bool, pending_ok: bool
) -> None:
    desk = OrderDesk(engine(), filling_mode=symbol_flags, offset_s=0)
    deal = {"action": api.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1,
            "type": api.ORDER_TYPE_BUY, "type_filling": market_filling}  # fmt: skip
    pending = {"action": api.TRADE_ACTION_PENDING, "symbol": "EURUSD", "volume": 0.1,
               "type": api.ORDER_TYPE_BUY_LIMIT, "price": 1.09,
               "type_filling": pending_filling}  # fmt: skip
    invalid = api.TRADE_RETCODE_INVALID_FILL
    assert (desk.send(deal).retcode != invalid) is market_ok
    assert (desk.send(pending).retcode != invalid) is pending_ok


def test_the_desk_answers_engine_refusals_with_their_retcodes_and_partial_fills() -> None:
    eng = engine()
    desk = OrderDesk(eng, filling_mode=api.SYMBOL_FILLING_FOK, offset_s=0)
    base = {"symbol": "EURUSD", "volume": 0.1, "type_filling": api.ORDER_FILLING_FOK}
    too_big = {**base, "action": api.TRADE_ACTION_DEAL, "type": api.ORDER_TYPE_BUY,
               "volume": 1000.0}  # fmt: skip
    assert desk.send(too_big).retcode == api.TRADE_RETCODE_INVALID_VOLUME
    missing = {**base, "action": api.TRADE_ACTION_REMOVE, "order": 99}
    assert desk.send(missing).retcode == api.TRADE_RETCODE_INVALID_ORDER
    buy = {**base, "action": api.TRADE_ACTION_DEAL, "type": api.ORDER_TYPE_BUY}
    partial = desk.send(buy, partial_volume=0.04)
    assert (partial.retcode, partial.volume) == (api.TRADE_RETCODE_DONE_PARTIAL, 0.04)
    assert eng.ledger.positions()[0].volume == D("0.04")
    assert list(desk.placed) == [partial.order]
    check = desk.check({**buy, "sl": 1.2})
    assert check.retcode == api.TRADE_RETCODE_INVALID_STOPS and check.balance == 10_000.0
