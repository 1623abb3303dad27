"""A fake ``MetaTrader5`` module for Linux tests, driven by the paper broker underneath.

Same function names, argument names, namedtuple shapes (the documented fields; ``SymbolInfo``
keeps the subset we read) and constant values as the real package, so ``MT5Broker`` and
``Mt5Feed`` run unchanged against it and behave like the paper broker. Bars come from
``Candles``: position 0 of ``copy_rates_from_pos`` is the forming bar at ``cursor[symbol]``;
``advance(symbol)`` closes it (feeding it to the paper engine) and starts the next one.
Failures are injected per function: ``inject("order_send", retcode=...)`` or
``inject("account_info", last_error=(-10004, "No IPC connection"))``.
Times are server-zone unix seconds: ``server = utc + server_utc_offset_s``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np

from tests.fakes import mt5_api as api
from trading.brokers.base import (
    BrokerError,
    DealEntry,
    DealReason,
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
from trading.candles import Candles
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

_TIMEFRAME_S = {
    api.TIMEFRAME_M1: 60, api.TIMEFRAME_M5: 300, api.TIMEFRAME_M15: 900, api.TIMEFRAME_M30: 1800,
    api.TIMEFRAME_H1: 3600, api.TIMEFRAME_H4: 14400, api.TIMEFRAME_D1: 86400,
}  # fmt: skip


def _level(value: float | None) -> Decimal | None:
    return None if not value else to_decimal(float(value))


def _as_server_s(value: Any) -> int:
    return int(value.timestamp()) if hasattr(value, "timestamp") else int(value)


class FakeMT5:
    """Module-like fake: pass an instance wherever the ``MetaTrader5`` module is expected."""

    def __init__(
        self,
        engine: PaperEngine,
        candles: Mapping[str, Candles] | None = None,
        *,
        start: int = 100,
        server_utc_offset_s: int = 0,
        filling_mode: int = 2,
        login: int = 5001234,
        server: str = "Paper-Demo",
    ) -> None:
        for name, value in vars(api).items():
            if name.isupper():
                setattr(self, name, value)
        self.engine = engine
        self.candles = dict(candles or {})
        self.offset_s = server_utc_offset_s
        self.filling_mode = filling_mode
        self.account_login = login
        self.server = server
        self.initialized = False
        self.requests: list[dict[str, Any]] = []
        self._last_error: tuple[int, str] = (api.RES_S_OK, "Success")
        self._failures: dict[str, list[dict[str, Any]]] = {}
        self.cursor: dict[str, int] = {}
        for symbol, series in self.candles.items():
            self.cursor[symbol] = start
            spread = engine.costs(symbol).spread_f
            close = float(series.close[start - 1])
            engine.set_quote(symbol, close, close + spread, int(series.time[start]))

    # -- test controls ---------------------------------------------------------------------
    def inject(
        self,
        function: str,
        *,
        retcode: int | None = None,
        last_error: tuple[int, str] | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``function`` fail: ``order_send`` answers with
        ``retcode``; any function can return None with ``last_error`` set."""
        failure = {"retcode": retcode, "last_error": last_error or (api.RES_E_FAIL, "Fail")}
        self._failures.setdefault(function, []).extend([failure] * times)

    def advance(self, symbol: str, bars: int = 1) -> list[Any]:
        """Close the forming bar(s) of ``symbol``: the paper engine sees them, events return."""
        series = self.candles[symbol]
        events = []
        for _ in range(bars):
            i = self.cursor[symbol]
            events += self.engine.on_bar(
                symbol, int(series.time[i]), series.timeframe_s, float(series.open[i]),
                float(series.high[i]), float(series.low[i]), float(series.close[i]),
            )  # fmt: skip
            self.cursor[symbol] = i + 1
        return events

    def _enter(self, function: str) -> dict[str, Any] | None:
        queue = self._failures.get(function)
        if queue:
            failure = queue.pop(0)
            self._last_error = failure["last_error"]
            return failure
        if not self.initialized and function not in ("initialize", "last_error"):
            self._last_error = (api.RES_E_INTERNAL_FAIL_CONNECT, "No IPC connection")
            return {"retcode": None, "last_error": self._last_error}
        self._last_error = (api.RES_S_OK, "Success")
        return None

    def _fail(self, code: int, description: str) -> None:
        self._last_error = (code, description)

    # -- session ---------------------------------------------------------------------------
    def initialize(self, path: str | None = None, **_: Any) -> bool:
        if self._enter("initialize") is not None:
            return False
        self.initialized = True
        return True

    def login(
        self, login: int, password: str = "", server: str = "", timeout: int = 60000
    ) -> bool:
        if self._enter("login") is not None:
            return False
        self.account_login = login
        return True

    def shutdown(self) -> None:
        self.initialized = False

    def version(self) -> tuple[int, int, str]:
        return (500, 4755, "14 Feb 2025")

    def last_error(self) -> tuple[int, str]:
        return self._last_error

    # -- market data -----------------------------------------------------------------------
    def account_info(self) -> Any:
        if self._enter("account_info") is not None:
            return None
        a = self.engine.account()
        free = a.equity - a.margin
        level = float(a.equity / a.margin * 100) if a.margin else 0.0
        return api.AccountInfo(
            self.account_login, 0, self.engine.leverage, 200, 0, True, True, 2, 2, False,
            float(a.balance), 0.0, float(a.equity - a.balance), float(a.equity),
            float(a.margin), float(free), level, 50.0, 30.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            "Paper Trader", self.server, a.currency, "SignalDesk Paper",
        )  # fmt: skip

    def symbol_info(self, symbol: str) -> Any:
        if self._enter("symbol_info") is not None:
            return None
        spec = self.engine.specs.get(symbol)
        if spec is None:
            self._fail(api.RES_E_NOT_FOUND, "Terminal: Not found")
            return None
        tick = self.engine.quote(symbol) if symbol in self.cursor else None
        bid = float(tick.bid) if tick else 0.0
        ask = float(tick.ask) if tick else 0.0
        spread = int(self.engine.costs(symbol).spread / spec.point)
        return api.SymbolInfo(
            False, True, True, spec.digits, spread, spec.stops_level, 0, 4, 15,
            self.filling_mode, 127, bid, ask, float(spec.point), float(spec.tick_value),
            float(spec.tick_size), float(spec.contract_size), float(spec.volume_min),
            float(spec.volume_max), float(spec.volume_step), symbol[:3], symbol[3:], symbol[:3],
            symbol, symbol, f"Forex\\{symbol}",
        )  # fmt: skip

    def symbol_select(self, symbol: str, enable: bool = True) -> bool:
        if self._enter("symbol_select") is not None:
            return False
        if symbol not in self.engine.specs:
            self._fail(api.RES_E_NOT_FOUND, "Terminal: Not found")
            return False
        return True

    def symbol_info_tick(self, symbol: str) -> Any:
        if self._enter("symbol_info_tick") is not None:
            return None
        try:
            t = self.engine.quote(symbol)
        except BrokerError:
            self._fail(api.RES_E_NOT_FOUND, "Terminal: Not found")
            return None
        server_s = int(t.time.timestamp()) + self.offset_s
        return api.Tick(server_s, float(t.bid), float(t.ask), 0.0, 0, server_s * 1000, 6, 0.0)

    def copy_rates_from_pos(self, symbol: str, timeframe: int, start_pos: int, count: int) -> Any:
        if self._enter("copy_rates_from_pos") is not None:
            return None
        series = self.candles.get(symbol)
        if series is None or _TIMEFRAME_S.get(timeframe) != series.timeframe_s:
            self._fail(api.RES_E_INVALID_PARAMS, "Invalid params")
            return None
        end = self.cursor[symbol] - start_pos + 1
        begin = max(0, end - count)
        rates = np.zeros(max(0, end - begin), dtype=api.RATES_DTYPE)
        sl = slice(begin, end)
        rates["time"] = series.time[sl] + self.offset_s
        for field in ("open", "high", "low", "close"):
            rates[field] = getattr(series, field)[sl]
        rates["tick_volume"] = series.volume[sl]
        return rates

    # -- trading ---------------------------------------------------------------------------
    def _result(self, retcode: int, request: dict[str, Any], **kw: Any) -> Any:
        fields = {"deal": 0, "order": 0, "volume": 0.0, "price": 0.0, "bid": 0.0, "ask": 0.0}
        fields.update(kw)
        symbol = request.get("symbol", "")
        if symbol in self.cursor:
            t = self.engine.quote(symbol)
            fields["bid"], fields["ask"] = float(t.bid), float(t.ask)
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
            expires = utc_from_unix_s(_as_server_s(request["expiration"]) - self.offset_s)
        comment = str(request.get("comment", ""))
        return OrderRequest(
            request["symbol"], Side.BUY if request["type"] in buy_types else Side.SELL,
            OrderType.MARKET if market else OrderType.LIMIT, to_decimal(float(request["volume"])),
            None if market else to_decimal(float(request["price"])), _level(request.get("sl")),
            _level(request.get("tp")), expires, comment, int(request.get("magic", 0)), comment,
        )  # fmt: skip

    def _filling_ok(self, request: dict[str, Any]) -> bool:
        filling = request.get("type_filling", api.ORDER_FILLING_FOK)
        if filling == api.ORDER_FILLING_FOK:
            return bool(self.filling_mode & 1)
        if filling == api.ORDER_FILLING_IOC:
            return bool(self.filling_mode & 2)
        return False

    def _dispatch(self, request: dict[str, Any]) -> Any:
        engine, action = self.engine, request.get("action")
        if action == api.TRADE_ACTION_DEAL and request.get("position"):
            volume = request.get("volume")
            deal = engine.close_at_market(
                int(request["position"]), None if volume is None else to_decimal(float(volume))
            )
            return self._result(api.TRADE_RETCODE_DONE, request, deal=deal.ticket,
                                order=deal.order, volume=float(deal.volume), price=float(deal.price))  # fmt: skip
        if action == api.TRADE_ACTION_DEAL:
            if not self._filling_ok(request):
                return self._result(
                    api.TRADE_RETCODE_INVALID_FILL, request, comment="Unsupported filling mode"
                )
            placed = engine.place(self._order_request(request, market=True))
            return self._result(api.TRADE_RETCODE_DONE, request, deal=engine.deals[-1].ticket,
                                order=placed.ticket, volume=float(placed.volume), price=float(placed.price))  # fmt: skip
        if action == api.TRADE_ACTION_PENDING:
            placed = engine.place(self._order_request(request, market=False))
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
        failure = self._enter("order_send")
        if failure is not None:
            if failure["retcode"] is None:
                return None
            return self._result(failure["retcode"], request, comment="Injected failure")
        self.requests.append(dict(request))
        try:
            return self._dispatch(request)
        except BrokerError as exc:
            return self._result(_RETCODE_OF.get(type(exc), api.TRADE_RETCODE_REJECT), request,
                                comment=exc.message)  # fmt: skip

    def order_check(self, request: dict[str, Any]) -> Any:
        if self._enter("order_check") is not None:
            return None
        a = self.engine.account()
        retcode, comment = 0, "Done"
        try:
            market = request.get("action") == api.TRADE_ACTION_DEAL
            order = self._order_request(request, market=market)
            tick = self.engine.quote(order.symbol)
            costs = self.engine.costs(order.symbol)
            check_request(order, costs, tick.bid, tick.ask, None, 0)
        except BrokerError as exc:
            retcode, comment = _RETCODE_OF.get(type(exc), api.TRADE_RETCODE_REJECT), exc.message
        trade_request = api.TradeRequest(*(request.get(f, 0) for f in api.TradeRequest._fields))
        return api.OrderCheckResult(
            retcode, float(a.balance), float(a.equity), float(a.equity - a.balance),
            float(a.margin), float(a.equity - a.margin), 0.0, comment, trade_request,
        )  # fmt: skip

    # -- book ------------------------------------------------------------------------------
    def _server(self, utc_s: int | None) -> int:
        return 0 if utc_s is None else utc_s + self.offset_s

    def positions_get(
        self, symbol: str | None = None, group: str | None = None, ticket: int | None = None
    ) -> Any:
        if self._enter("positions_get") is not None:
            return None
        out = []
        for record in self.engine._all_positions():
            r = record.request
            if (symbol and r.symbol != symbol) or (ticket and record.ticket != ticket):
                continue
            t = self.engine.quote(r.symbol)
            opened = self._server(record.opened_s)
            out.append(api.TradePosition(
                record.ticket, opened, opened * 1000, opened, opened * 1000,
                api.POSITION_TYPE_BUY if record.is_buy else api.POSITION_TYPE_SELL, r.magic,
                record.ticket, api.DEAL_REASON_EXPERT, float(record.volume), float(record.price),
                float(record.sl or 0), float(record.tp or 0),
                float(t.bid if record.is_buy else t.ask), 0.0,
                float(self.engine.floating_money(record)), r.symbol, r.comment, "",
            ))  # fmt: skip
        return tuple(out)

    def orders_get(
        self, symbol: str | None = None, group: str | None = None, ticket: int | None = None
    ) -> Any:
        if self._enter("orders_get") is not None:
            return None
        out = []
        for records in self.engine.pending_by_symbol.values():
            for record in records.values():
                r = record.request
                if (symbol and r.symbol != symbol) or (ticket and record.ticket != ticket):
                    continue
                placed = self._server(record.placed_s)
                specified = record.expires_s is not None
                out.append(api.TradeOrder(
                    record.ticket, placed, placed * 1000, 0, 0, self._server(record.expires_s),
                    api.ORDER_TYPE_BUY_LIMIT if record.is_buy else api.ORDER_TYPE_SELL_LIMIT,
                    api.ORDER_TIME_SPECIFIED if specified else api.ORDER_TIME_GTC, api.ORDER_FILLING_RETURN,
                    api.ORDER_STATE_PLACED, r.magic, 0, 0, 3, float(record.volume),
                    float(record.volume), float(record.price), float(record.sl or 0),
                    float(record.tp or 0), float(record.price), 0.0, r.symbol, r.comment, "",
                ))  # fmt: skip
        return tuple(out)

    def history_deals_get(
        self,
        date_from: Any = None,
        date_to: Any = None,
        group: str | None = None,
        ticket: int | None = None,
        position: int | None = None,
    ) -> Any:
        if self._enter("history_deals_get") is not None:
            return None
        reasons = {DealReason.SL: api.DEAL_REASON_SL, DealReason.TP: api.DEAL_REASON_TP}
        out = []
        for d in self.engine.deals:
            server_s = int(d.time.timestamp()) + self.offset_s
            if ticket is not None and d.ticket != ticket:
                continue
            if position is not None and d.position != position:
                continue
            if date_from is not None and not (
                _as_server_s(date_from) <= server_s <= _as_server_s(date_to)
            ):
                continue
            out.append(api.TradeDeal(
                d.ticket, d.order, server_s, server_s * 1000,
                api.DEAL_TYPE_BUY if d.side == Side.BUY else api.DEAL_TYPE_SELL,
                api.DEAL_ENTRY_IN if d.entry == DealEntry.IN else api.DEAL_ENTRY_OUT, 0, d.position,
                reasons.get(d.reason, api.DEAL_REASON_EXPERT), float(d.volume), float(d.price),
                float(d.commission_money), 0.0, float(d.profit_money), 0.0, d.symbol,
                d.comment, "",
            ))  # fmt: skip
        return tuple(out)
