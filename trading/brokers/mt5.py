"""MetaTrader 5 through the official ``MetaTrader5`` Python package (Windows only).

The package is imported lazily, so this module imports anywhere; tests pass a fake module.
Every terminal call blocks, so it runs in a worker thread (``asyncio.to_thread``). MT5 stamps
times in the trade server's zone: ``utc = server_time - server_utc_offset_s``.
Reference: MQL5 docs, "Python Integration" (order_send, positions_get, history_deals_get...).
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from trading.brokers.base import (
    AccountInfo,
    BrokerError,
    ConnectionLost,
    Deal,
    Order,
    OrderNotFound,
    OrderRequest,
    OrderResult,
    OrderState,
    OrderType,
    Position,
    ResultUnknown,
    Side,
    SpecIncomplete,
    Tick,
    UnknownSymbol,
)
from trading.brokers.mt5_codes import SUCCESS_RETCODES, error_from_last_error, error_from_retcode
from trading.brokers.mt5_convert import Mt5Converter
from trading.numeric import to_decimal
from trading.symbols import SymbolSpec

__all__ = ["MT5Broker", "Mt5Unavailable", "load_mt5"]


class Mt5Unavailable(BrokerError):
    code = "mt5_unavailable"


def load_mt5() -> Any:
    """``import MetaTrader5``, or a clear error where the package cannot exist."""
    try:
        return importlib.import_module("MetaTrader5")
    except ImportError as exc:
        where = "" if sys.platform == "win32" else f" (this is {sys.platform}; it is Windows-only)"
        msg = (
            f"the MetaTrader5 package is not installed{where}: run the bot on the terminal's "
            "Windows machine with `pip install MetaTrader5`, or use the paper broker / the EA"
        )
        raise Mt5Unavailable(msg) from exc


class MT5Broker:
    """The :class:`~trading.brokers.base.Broker` protocol over a MetaTrader 5 terminal."""

    def __init__(
        self,
        module: Any | None = None,
        *,
        login: int | None = None,
        password: str = "",
        server: str = "",
        path: str | None = None,
        deviation_points: int = 10,
        server_utc_offset_s: int = 0,
    ) -> None:
        self.mt5 = module if module is not None else load_mt5()
        self._login = login
        self._password = password
        self._server = server
        self._path = path
        self.deviation_points = deviation_points
        self.convert = Mt5Converter(self.mt5, server_utc_offset_s)

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Run ``mt5.<name>(...)`` in a thread; a None answer raises the ``last_error``."""
        function: Callable[..., Any] = getattr(self.mt5, name)
        result = await asyncio.to_thread(function, *args, **kwargs)
        if result is None or result is False:
            raise error_from_last_error(self.mt5.last_error(), f"MT5 {name}")
        return result

    async def connect(self) -> None:
        """``initialize`` the terminal link, then ``login`` when credentials were given."""
        kwargs = {} if self._path is None else {"path": self._path}
        await self._call("initialize", **kwargs)
        if self._login is not None:
            await self._call("login", self._login, password=self._password, server=self._server)

    async def close(self) -> None:
        await asyncio.to_thread(self.mt5.shutdown)

    async def account(self) -> AccountInfo:
        info = await self._call("account_info")
        c = self.convert
        hedging = info.margin_mode == self.mt5.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING
        return AccountInfo(
            c.money(info.balance), c.money(info.equity), c.money(info.margin), info.currency,
            hedging, getattr(info, "company", None) or None,
        )  # fmt: skip

    async def symbol_spec(self, symbol: str) -> SymbolSpec:
        info = await self._symbol_info(symbol)
        try:
            return self.convert.spec(info)
        except ValueError as exc:  # e.g. a tick value of 0 right after symbol_select
            msg = f"MT5 has not loaded the specification of {symbol} yet: {exc}"
            raise SpecIncomplete(msg) from exc

    async def _symbol_info(self, symbol: str) -> Any:
        try:
            await self._call("symbol_select", symbol, True)
            return await self._call("symbol_info", symbol)
        except BrokerError as exc:
            msg = f"MT5 does not know {symbol!r} (check the broker's symbol name/suffix): {exc}"
            raise UnknownSymbol(msg, retcode=exc.retcode) from exc

    async def tick(self, symbol: str) -> Tick:
        return self.convert.tick(await self._call("symbol_info_tick", symbol))

    async def _send(self, request: dict[str, Any], action: str) -> Any:
        try:
            result = await self._call("order_send", request)
        except ConnectionLost as exc:  # the request may have reached the trade server
            msg = f"{action}: {exc.message}"
            raise ResultUnknown(msg, retcode=exc.retcode) from exc
        names = [getattr(self.mt5, n) for n in SUCCESS_RETCODES]
        if result.retcode not in names:
            raise error_from_retcode(self.mt5, result.retcode, result.comment, action)
        return result

    async def place_order(self, request: OrderRequest) -> OrderResult:
        mt5 = self.mt5
        is_buy = request.side == Side.BUY
        market = request.order_type == OrderType.MARKET
        info = await self._symbol_info(request.symbol)
        if market:
            tick = await self.tick(request.symbol)
            price = tick.ask if is_buy else tick.bid
        elif request.price is None:
            msg = "a limit order needs a price; pass OrderRequest(price=...)"
            raise ValueError(msg)
        else:
            price = request.price
        order_type = (
            (mt5.ORDER_TYPE_BUY if is_buy else mt5.ORDER_TYPE_SELL)
            if market
            else (mt5.ORDER_TYPE_BUY_LIMIT if is_buy else mt5.ORDER_TYPE_SELL_LIMIT)
        )
        send = {
            "action": mt5.TRADE_ACTION_DEAL if market else mt5.TRADE_ACTION_PENDING,
            "symbol": request.symbol,
            "volume": float(request.volume),
            "type": order_type,
            "price": float(price),
            "sl": 0.0 if request.sl is None else float(request.sl),
            "tp": 0.0 if request.tp is None else float(request.tp),
            "deviation": self.deviation_points,
            "magic": request.magic,
            "comment": (request.client_id or request.comment)[:31],
            "type_filling": self.convert.filling(info.filling_mode, market=market),
            **self.convert.expiry(request.expires_at),
        }
        result = await self._send(send, f"placing {request.side} {request.order_type}")
        fill = self.convert.price(result.price) if market and result.price else price
        now = (await self.tick(request.symbol)).time
        # A netting account merges a fill into the symbol's position: its id is the deal's
        # position_id, not the order ticket. A partial fill (IOC) reports its own volume.
        position = (await self._position_of(result.deal) or result.order) if market else None
        volume = to_decimal(result.volume) if result.volume else request.volume
        return OrderResult(result.order, market, fill, volume, now, position, request.client_id)

    async def _position_of(self, deal: int) -> int | None:
        found = await asyncio.to_thread(self.mt5.history_deals_get, ticket=deal) if deal else None
        return int(found[0].position_id) if found else None

    async def modify_order(
        self, ticket: int, price: Decimal, sl: Decimal | None, tp: Decimal | None
    ) -> Order:
        current = await self._one("orders_get", ticket, "pending order")
        send = {
            "action": self.mt5.TRADE_ACTION_MODIFY,
            "order": ticket,
            "symbol": current.symbol,
            "price": float(price),
            "sl": 0.0 if sl is None else float(sl),
            "tp": 0.0 if tp is None else float(tp),
            "type_time": current.type_time,
            "expiration": current.time_expiration,
        }
        await self._send(send, f"modifying order #{ticket}")
        return self.convert.order(await self._one("orders_get", ticket, "pending order"))

    async def modify_position(
        self, ticket: int, sl: Decimal | None, tp: Decimal | None
    ) -> Position:
        current = await self._one("positions_get", ticket, "open position")
        send = {
            "action": self.mt5.TRADE_ACTION_SLTP,
            "position": ticket,
            "symbol": current.symbol,
            "sl": 0.0 if sl is None else float(sl),
            "tp": 0.0 if tp is None else float(tp),
        }
        await self._send(send, f"modifying position #{ticket}")
        return self.convert.position(await self._one("positions_get", ticket, "open position"))

    async def cancel_order(self, ticket: int) -> None:
        send = {"action": self.mt5.TRADE_ACTION_REMOVE, "order": ticket}
        await self._send(send, f"cancelling order #{ticket}")

    async def close_position(
        self, ticket: int, volume: Decimal | None = None, *, comment: str = ""
    ) -> Deal:
        mt5 = self.mt5
        pos = await self._one("positions_get", ticket, "open position")
        is_buy = pos.type == mt5.POSITION_TYPE_BUY
        tick = await self.tick(pos.symbol)
        info = await self._symbol_info(pos.symbol)
        send = {
            "action": mt5.TRADE_ACTION_DEAL,
            "position": ticket,
            "symbol": pos.symbol,
            "volume": pos.volume if volume is None else float(volume),
            "type": mt5.ORDER_TYPE_SELL if is_buy else mt5.ORDER_TYPE_BUY,
            "price": float(tick.bid if is_buy else tick.ask),
            "deviation": self.deviation_points,
            "magic": pos.magic,
            "comment": comment[:31],
            "type_filling": self.convert.filling(info.filling_mode, market=True),
        }
        result = await self._send(send, f"closing position #{ticket}")
        deals = await self._call("history_deals_get", ticket=result.deal)
        return self.convert.deal(deals[0])

    async def _one(self, getter: str, ticket: int, what: str) -> Any:
        found = await self._call(getter, ticket=ticket)
        if not found:
            msg = f"MT5 has no {what} #{ticket} (filled, closed, expired or never placed)"
            raise OrderNotFound(msg)
        return found[0]

    async def positions(self, symbol: str | None = None) -> list[Position]:
        kwargs = {} if symbol is None else {"symbol": symbol}
        return [self.convert.position(p) for p in await self._call("positions_get", **kwargs)]

    async def orders(self, symbol: str | None = None) -> list[Order]:
        kwargs = {} if symbol is None else {"symbol": symbol}
        raw = await self._call("orders_get", **kwargs)
        limits = (self.mt5.ORDER_TYPE_BUY_LIMIT, self.mt5.ORDER_TYPE_SELL_LIMIT)
        return [self.convert.order(o) for o in raw if o.type in limits]

    async def history(self, since: datetime) -> list[Deal]:
        date_from, date_to = self.convert.history_range(since)
        raw = await self._call("history_deals_get", date_from, date_to)
        trade_types = (self.mt5.DEAL_TYPE_BUY, self.mt5.DEAL_TYPE_SELL)
        return [self.convert.deal(d) for d in raw if d.type in trade_types]

    async def order_state(self, ticket: int) -> OrderState | None:
        """From ``history_orders_get(ticket=...)``: None while history does not show it."""
        found = await asyncio.to_thread(self.mt5.history_orders_get, ticket=ticket)
        return self.convert.order_state(found[0].state) if found else None

    async def trading_blocked(self) -> str | None:
        """The terminal's and the account's trade permissions (MQL5: TERMINAL_CONNECTED,
        TERMINAL_TRADE_ALLOWED, ACCOUNT_TRADE_ALLOWED, ACCOUNT_TRADE_EXPERT)."""
        try:
            terminal = await self._call("terminal_info")
            account = await self._call("account_info")
        except BrokerError as exc:
            return f"cannot reach the terminal: {exc.message}"
        checks = (
            (terminal.connected, "the terminal is not connected to the trade server"),
            (terminal.trade_allowed, "AutoTrading is off in the terminal (press 'Algo Trading')"),
            (not terminal.tradeapi_disabled, "API trading is disabled in the terminal options"),
            (account.trade_allowed, "trading is not allowed on this account (investor login?)"),
            (account.trade_expert, "the broker does not allow automated trading on this account"),
        )
        return next((why for ok, why in checks if not ok), None)
