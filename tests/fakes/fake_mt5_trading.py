"""The order desk of :class:`tests.fakes.fake_mt5.FakeMT5`: turns MT5 trade requests
(``order_send``, ``order_check``) into paper-engine calls and answers with MT5's result shapes
and retcodes. It owns the requests that became orders (``placed``: ticket -> request, what
``history_orders_get`` reports); the terminal's switches, the injected failures and the
netting after each request stay with the facade.

Filling policies as MT5 checks them: a market deal needs FOK or IOC allowed by the symbol's
``filling_mode`` flags, or RETURN on a symbol without either (exchange/instant execution);
a pending order takes RETURN always, FOK/IOC only when the symbol allows them. Anything else
answers TRADE_RETCODE_INVALID_FILL (10030).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from tests.fakes import mt5_api as api
from tests.fakes.fake_mt5_book import as_server_s
from trading.brokers.base import (
    BrokerError,
    InvalidPrice,
    InvalidStops,
    InvalidVolume,
    MarketClosed,
    NoMoney,
    OrderNotFound,
    OrderRequest,
    OrderType,
    Side,
    UnknownSymbol,
)
from trading.brokers.paper import PaperEngine
from trading.brokers.paper_rules import check_request
from trading.numeric import to_decimal
from trading.timeutil import utc_from_unix_s

_RETCODE_OF: dict[type[BrokerError], int] = {
    InvalidStops: api.TRADE_RETCODE_INVALID_STOPS,
    InvalidPrice: api.TRADE_RETCODE_INVALID_PRICE,
    InvalidVolume: api.TRADE_RETCODE_INVALID_VOLUME,
    NoMoney: api.TRADE_RETCODE_NO_MONEY,
    MarketClosed: api.TRADE_RETCODE_MARKET_CLOSED,
    OrderNotFound: api.TRADE_RETCODE_INVALID_ORDER,
    UnknownSymbol: api.TRADE_RETCODE_INVALID,
}


def _level(value: float | None) -> Decimal | None:
    return None if not value else to_decimal(float(value))


class OrderDesk:
    """Trade requests in, engine calls and MT5 results out (server times: utc + ``offset_s``)."""

    def __init__(self, engine: PaperEngine, *, filling_mode: int, offset_s: int) -> None:
        self.engine = engine
        self.filling_mode = filling_mode  # the symbols' SYMBOL_FILLING_* flags
        self.offset_s = offset_s
        self.placed: dict[int, dict[str, Any]] = {}  # order ticket -> its request

    def result(self, retcode: int, request: dict[str, Any], **kw: Any) -> Any:
        """An ``OrderSendResult`` for ``request`` with the current quote of its symbol."""
        fields = {"deal": 0, "order": 0, "volume": 0.0, "price": 0.0, "bid": 0.0, "ask": 0.0}
        fields.update(kw)
        symbol = request.get("symbol", "")
        try:
            t = self.engine.market.quote(symbol)
            fields["bid"], fields["ask"] = float(t.bid), float(t.ask)
        except BrokerError:  # unknown symbol or no quote yet
            pass
        trade_request = api.TradeRequest(*(request.get(f, 0) for f in api.TradeRequest._fields))
        comment = fields.pop("comment", "Request executed")
        return api.OrderSendResult(
            retcode, fields["deal"], fields["order"], fields["volume"], fields["price"],
            fields["bid"], fields["ask"], comment, 1, 0, trade_request,
        )  # fmt: skip

    def _order_request(self, request: dict[str, Any], market: bool) -> OrderRequest:
        buy_types = (api.ORDER_TYPE_BUY,) if market else (api.ORDER_TYPE_BUY_LIMIT,)
        sell_types = (api.ORDER_TYPE_SELL,) if market else (api.ORDER_TYPE_SELL_LIMIT,)
        if request.get("type") not in buy_types + sell_types:
            raise InvalidPrice("unsupported order type for this action")
        expires = None
        if request.get("type_time") == api.ORDER_TIME_SPECIFIED:
            expires = utc_from_unix_s(as_server_s(request["expiration"]) - self.offset_s)
        comment = str(request.get("comment", ""))
        return OrderRequest(
            request["symbol"], Side.BUY if request["type"] in buy_types else Side.SELL,
            OrderType.MARKET if market else OrderType.LIMIT, to_decimal(float(request["volume"])),
            None if market else to_decimal(float(request["price"])), _level(request.get("sl")),
            _level(request.get("tp")), expires, comment, int(request.get("magic", 0)), comment,
        )  # fmt: skip

    def _filling_ok(self, request: dict[str, Any], *, market: bool) -> bool:
        filling = request.get("type_filling", api.ORDER_FILLING_FOK)
        if filling == api.ORDER_FILLING_FOK:
            return bool(self.filling_mode & api.SYMBOL_FILLING_FOK)
        if filling == api.ORDER_FILLING_IOC:
            return bool(self.filling_mode & api.SYMBOL_FILLING_IOC)
        flags = api.SYMBOL_FILLING_FOK | api.SYMBOL_FILLING_IOC
        return filling == api.ORDER_FILLING_RETURN and (
            not market or not self.filling_mode & flags
        )

    def _deal(self, request: dict[str, Any], partial_volume: float | None) -> Any:
        engine = self.engine
        if not self._filling_ok(request, market=True):
            return self.result(
                api.TRADE_RETCODE_INVALID_FILL, request, comment="Unsupported filling mode"
            )
        volume = request.get("volume")
        lots = None if volume is None else to_decimal(float(volume))
        partial = None
        if partial_volume is not None and lots is not None:
            partial = lots = min(lots, to_decimal(partial_volume))
        retcode = api.TRADE_RETCODE_DONE if partial is None else api.TRADE_RETCODE_DONE_PARTIAL
        if request.get("position"):
            comment = str(request.get("comment", "")) or None
            deal = engine.close_at_market(int(request["position"]), lots, comment)
            return self.result(retcode, request, deal=deal.ticket, order=deal.order,
                               volume=float(deal.volume), price=float(deal.price))  # fmt: skip
        order = self._order_request(request, market=True)
        if partial is not None:
            order = dataclasses.replace(order, volume=partial)
        placed = engine.place(order)
        self.placed[placed.ticket] = dict(request)
        return self.result(retcode, request, deal=engine.ledger.deals[-1].ticket, order=placed.ticket,
                           volume=float(placed.volume), price=float(placed.price))  # fmt: skip

    def _dispatch(self, request: dict[str, Any], partial_volume: float | None) -> Any:
        engine, action = self.engine, request.get("action")
        if action == api.TRADE_ACTION_DEAL:
            return self._deal(request, partial_volume)
        if action == api.TRADE_ACTION_PENDING:
            if not self._filling_ok(request, market=False):
                return self.result(
                    api.TRADE_RETCODE_INVALID_FILL, request, comment="Unsupported filling mode"
                )
            placed = engine.place(self._order_request(request, market=False))
            self.placed[placed.ticket] = dict(request)
            return self.result(api.TRADE_RETCODE_PLACED, request, order=placed.ticket,
                               volume=float(placed.volume), price=float(placed.price))  # fmt: skip
        if action == api.TRADE_ACTION_MODIFY:
            engine.modify_order(int(request["order"]), to_decimal(float(request["price"])),
                                _level(request.get("sl")), _level(request.get("tp")))  # fmt: skip
            return self.result(api.TRADE_RETCODE_DONE, request, order=int(request["order"]))
        if action == api.TRADE_ACTION_SLTP:
            engine.modify_position(int(request["position"]), _level(request.get("sl")),
                                   _level(request.get("tp")))  # fmt: skip
            return self.result(api.TRADE_RETCODE_DONE, request)
        if action == api.TRADE_ACTION_REMOVE:
            engine.cancel(int(request["order"]))
            return self.result(api.TRADE_RETCODE_DONE, request, order=int(request["order"]))
        return self.result(api.TRADE_RETCODE_INVALID, request, comment="Invalid request")

    def send(self, request: dict[str, Any], *, partial_volume: float | None = None) -> Any:
        """Carry ``request`` out; a refusal of the engine answers with its MT5 retcode.
        ``partial_volume``: market orders fill only that much (DONE_PARTIAL)."""
        try:
            return self._dispatch(request, partial_volume)
        except BrokerError as exc:
            retcode = _RETCODE_OF.get(type(exc), api.TRADE_RETCODE_REJECT)
            return self.result(retcode, request, comment=exc.message)

    def check(self, request: dict[str, Any]) -> Any:
        """``order_check``: the engine's checks of ``request`` against the quote, and the
        account as it stands (margin is not projected)."""
        a = self.engine.ledger.account()
        retcode, comment = 0, "Done"
        try:
            market = request.get("action") == api.TRADE_ACTION_DEAL
            order = self._order_request(request, market=market)
            tick = self.engine.market.quote(order.symbol)
            costs = self.engine.market.costs(order.symbol)
            check_request(order, costs, tick.bid, tick.ask, None, 0)
        except BrokerError as exc:
            retcode, comment = _RETCODE_OF.get(type(exc), api.TRADE_RETCODE_REJECT), exc.message
        trade_request = api.TradeRequest(*(request.get(f, 0) for f in api.TradeRequest._fields))
        return api.OrderCheckResult(
            retcode, float(a.balance), float(a.equity), float(a.equity - a.balance),
            float(a.margin), float(a.equity - a.margin), 0.0, comment, trade_request,
        )  # fmt: skip
