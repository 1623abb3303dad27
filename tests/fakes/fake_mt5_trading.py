"""The trading half of :class:`tests.fakes.fake_mt5.FakeMT5`: ``order_send`` and
``order_check`` turn MT5 trade requests into paper-engine calls and answer with MT5's result
shapes and retcodes. A mixin; ``FakeMT5.__init__`` sets the state declared here.

Filling policies as MT5 checks them: a market deal needs FOK or IOC allowed by the symbol's
``filling_mode`` flags, or RETURN on a symbol without either (exchange/instant execution);
a pending order takes RETURN always, FOK/IOC only when the symbol allows them. Anything else
answers TRADE_RETCODE_INVALID_FILL (10030).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import TYPE_CHECKING, Any

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


class TradingMixin:
    """``order_send``, ``order_check`` and their request/result translation."""

    engine: PaperEngine
    cursor: dict[str, int]
    offset_s: int
    filling_mode: int
    requests: list[dict[str, Any]]
    connected: bool
    algo_trading: bool
    partial_volume: float | None
    placed: dict[int, dict[str, Any]]

    if TYPE_CHECKING:

        def _enter(self, function: str) -> dict[str, Any] | None: ...
        def _net(self) -> None: ...

    def _result(self, retcode: int, request: dict[str, Any], **kw: Any) -> Any:
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

    def _deal(self, request: dict[str, Any]) -> Any:
        engine = self.engine
        if not self._filling_ok(request, market=True):
            return self._result(
                api.TRADE_RETCODE_INVALID_FILL, request, comment="Unsupported filling mode"
            )
        volume = request.get("volume")
        lots = None if volume is None else to_decimal(float(volume))
        partial = self.partial_volume is not None and lots is not None
        if partial:
            lots = min(lots, to_decimal(self.partial_volume))  # type: ignore[type-var]
        retcode = api.TRADE_RETCODE_DONE_PARTIAL if partial else api.TRADE_RETCODE_DONE
        if request.get("position"):
            comment = str(request.get("comment", "")) or None
            deal = engine.close_at_market(int(request["position"]), lots, comment)
            return self._result(retcode, request, deal=deal.ticket, order=deal.order,
                                volume=float(deal.volume), price=float(deal.price))  # fmt: skip
        order = self._order_request(request, market=True)
        if partial:
            order = dataclasses.replace(order, volume=lots)
        placed = engine.place(order)
        self.placed[placed.ticket] = dict(request)
        return self._result(retcode, request, deal=engine.ledger.deals[-1].ticket,
                            order=placed.ticket, volume=float(placed.volume), price=float(placed.price))  # fmt: skip

    def _dispatch(self, request: dict[str, Any]) -> Any:
        engine, action = self.engine, request.get("action")
        if action == api.TRADE_ACTION_DEAL:
            return self._deal(request)
        if action == api.TRADE_ACTION_PENDING:
            if not self._filling_ok(request, market=False):
                return self._result(
                    api.TRADE_RETCODE_INVALID_FILL, request, comment="Unsupported filling mode"
                )
            placed = engine.place(self._order_request(request, market=False))
            self.placed[placed.ticket] = dict(request)
            return self._result(api.TRADE_RETCODE_PLACED, request, order=placed.ticket,
                                volume=float(placed.volume), price=float(placed.price))  # fmt: skip
        if action == api.TRADE_ACTION_MODIFY:
            engine.modify_order(int(request["order"]), to_decimal(float(request["price"])),
                                _level(request.get("sl")), _level(request.get("tp")))  # fmt: skip
            return self._result(api.TRADE_RETCODE_DONE, request, order=int(request["order"]))
        if action == api.TRADE_ACTION_SLTP:
            engine.modify_position(int(request["position"]), _level(request.get("sl")),
                                   _level(request.get("tp")))  # fmt: skip
            return self._result(api.TRADE_RETCODE_DONE, request)
        if action == api.TRADE_ACTION_REMOVE:
            engine.cancel(int(request["order"]))
            return self._result(api.TRADE_RETCODE_DONE, request, order=int(request["order"]))
        return self._result(api.TRADE_RETCODE_INVALID, request, comment="Invalid request")

    def order_send(self, request: dict[str, Any]) -> Any:
        """Every request is kept in ``requests`` (also those answered with a failure)."""
        failure = self._enter("order_send")
        if failure is None or failure["retcode"] is not None:
            self.requests.append(dict(request))
        if failure is not None and not failure["execute"]:
            if failure["retcode"] is None:
                return None
            return self._result(failure["retcode"], request, comment="Injected failure")
        if not self.algo_trading:
            return self._result(api.TRADE_RETCODE_CLIENT_DISABLES_AT, request,
                                comment="AutoTrading disabled by client")  # fmt: skip
        if not self.connected:
            return self._result(api.TRADE_RETCODE_CONNECTION, request, comment="No connection")
        try:
            result = self._dispatch(request)
        except BrokerError as exc:
            result = self._result(_RETCODE_OF.get(type(exc), api.TRADE_RETCODE_REJECT), request,
                                  comment=exc.message)  # fmt: skip
        self._net()
        if failure is not None:  # carried out, but the answer is lost
            return None if failure["retcode"] is None else result._replace(
                retcode=failure["retcode"], comment="Injected failure"
            )  # fmt: skip
        return result

    def order_check(self, request: dict[str, Any]) -> Any:
        if self._enter("order_check") is not None:
            return None
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
