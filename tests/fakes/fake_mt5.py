"""A fake ``MetaTrader5`` module for Linux tests, driven by the paper broker underneath.

Same function names, argument names, namedtuple shapes (the documented fields; ``SymbolInfo``
keeps the subset we read) and constant values as the real package, so ``MT5Broker`` and
``Mt5Feed`` run unchanged against it and behave like the paper broker. Bars come from
``Candles``: position 0 of ``copy_rates_from_pos`` is the forming bar at ``cursor[symbol]``;
``advance(symbol)`` closes it (feeding it to the paper engine) and starts the next one.
Failures are injected per function: ``inject("order_send", retcode=...)`` (with
``execute=True`` the request is carried out and only its answer is lost: a timeout) or
``inject("account_info", last_error=(-10004, "No IPC connection"))``. ``tick(symbol, bid)``
moves a symbol without candles. Terminal state: ``connected`` and ``algo_trading`` (off:
``order_send`` answers 10027 as the real terminal does); ``margin_mode`` netting or hedging;
``filling_mode`` the symbol's flags (0: a RETURN-only symbol); ``partial_volume`` makes market
orders fill only that much (DONE_PARTIAL); ``incomplete`` symbols report a tick value of 0.
Times are server-zone unix seconds: ``server = utc + server_utc_offset_s``.

``FakeMT5`` is the module's surface: the terminal's switches above, the session and market
data, the failure injection, and the calls it hands to collaborators that own their state:
``desk`` (:class:`~tests.fakes.fake_mt5_trading.OrderDesk`: trade requests into engine
calls), ``book`` (:class:`~tests.fakes.fake_mt5_book.Book`: positions, orders and history
as MT5 shows them), ``account`` (:class:`~tests.fakes.fake_mt5_netting.AccountModel`:
netting or hedging, settled after every change) and ``race``
(:class:`~tests.fakes.fake_mt5_netting.FillRace`: fills the terminal does not show yet).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tests.fakes import mt5_api as api
from tests.fakes.fake_mt5_book import Book
from tests.fakes.fake_mt5_netting import AccountModel, FillRace
from tests.fakes.fake_mt5_trading import OrderDesk
from trading.brokers.base import BrokerError, MarketClosed
from trading.brokers.paper import PaperEngine
from trading.candles import Candles
from trading.timeutil import utc_from_unix_s

_TIMEFRAME_S = {
    api.TIMEFRAME_M1: 60, api.TIMEFRAME_M5: 300, api.TIMEFRAME_M15: 900, api.TIMEFRAME_M30: 1800,
    api.TIMEFRAME_H1: 3600, api.TIMEFRAME_H4: 14400, api.TIMEFRAME_D1: 86400,
}  # fmt: skip


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
        margin_mode: int = api.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING,
    ) -> None:
        for name, value in vars(api).items():
            if name.isupper():
                setattr(self, name, value)
        self.engine = engine
        self.candles = dict(candles or {})
        self.offset_s = server_utc_offset_s
        self.account_login = login
        self.server = server
        self.connected = True
        self.algo_trading = True
        self.account_trade_allowed = True
        self.partial_volume: float | None = None
        self.incomplete: set[str] = set()  # symbols whose tick value is not loaded yet (0)
        self.initialized = False
        self.requests: list[dict[str, Any]] = []  # every order_send request, as sent
        self.desk = OrderDesk(engine, filling_mode=filling_mode, offset_s=server_utc_offset_s)
        self.race = FillRace()
        self.book = Book(engine.ledger, self.race, self.desk.placed, offset_s=server_utc_offset_s)
        self.account = AccountModel(engine.ledger, margin_mode)
        self._last_error: tuple[int, str] = (api.RES_S_OK, "Success")
        self._failures: dict[str, list[dict[str, Any]]] = {}
        self.cursor: dict[str, int] = {}
        for symbol, series in self.candles.items():
            self.cursor[symbol] = start
            spread = engine.market.costs(symbol).spread_f
            close = float(series.close[start - 1])
            engine.market.set_quote(symbol, close, close + spread, int(series.time[start]))

    # -- test controls ---------------------------------------------------------------------
    def inject(
        self,
        function: str,
        *,
        retcode: int | None = None,
        last_error: tuple[int, str] | None = None,
        times: int = 1,
        execute: bool = False,
    ) -> None:
        """Make the next ``times`` calls of ``function`` fail: ``order_send`` answers with
        ``retcode`` (after carrying the request out when ``execute``); any function can
        return None with ``last_error`` set."""
        failure = {
            "retcode": retcode,
            "last_error": last_error or (api.RES_E_FAIL, "Fail"),
            "execute": execute,
        }
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
        self.account.settle()
        return events

    def tick(self, symbol: str, bid: float, ask: float | None = None, time_s: int = 0) -> None:
        """A new quote for ``symbol`` (ask = bid + the engine's spread when not given): pending
        orders it reaches fill, levels it reaches close."""
        costs = self.engine.market.costs(symbol)
        now_s = time_s or self.engine.market.now_s + 60
        ask_f = bid + costs.spread_f if ask is None else ask
        self.engine.on_tick(symbol, costs.price(bid), costs.price(ask_f), utc_from_unix_s(now_s))
        self.account.settle()

    def hide_fill(self, order_ticket: int, *, order_in_history: bool = False) -> None:
        """The fill race: hide the deals and the position of ``order_ticket`` (and its history
        order unless ``order_in_history``) until :meth:`reveal`."""
        self.race.hide(order_ticket, order_in_history=order_in_history)

    def reveal(self) -> None:
        self.race.reveal()

    def _enter(self, function: str) -> dict[str, Any] | None:
        queue = self._failures.get(function)
        if queue:
            failure = queue.pop(0)
            self._last_error = failure["last_error"]
            return failure
        if not self.initialized and function not in ("initialize", "last_error"):
            self._last_error = (api.RES_E_INTERNAL_FAIL_CONNECT, "No IPC connection")
            return {"retcode": None, "last_error": self._last_error, "execute": False}
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
        a = self.engine.ledger.account()
        free = a.equity - a.margin
        level = float(a.equity / a.margin * 100) if a.margin else 0.0
        return api.AccountInfo(
            self.account_login, 0, self.engine.ledger.leverage, 200, 0, self.account_trade_allowed,
            self.account_trade_allowed, self.account.margin_mode, 2, False,
            float(a.balance), 0.0, float(a.equity - a.balance), float(a.equity),
            float(a.margin), float(free), level, 50.0, 30.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            "Paper Trader", self.server, a.currency, "SignalDesk Paper",
        )  # fmt: skip

    def terminal_info(self) -> Any:
        if self._enter("terminal_info") is not None:
            return None
        return api.TerminalInfo(
            False, False, self.connected, False, self.algo_trading, False, False, False, False,
            0, 4755, 100000, 0, 30000, 0.0, 0.0, "SignalDesk Paper", "MetaTrader 5 (fake)",
            "English", "C:\\MT5", "C:\\MT5\\data", "C:\\MT5\\common",
        )  # fmt: skip

    def symbol_info(self, symbol: str) -> Any:
        if self._enter("symbol_info") is not None:
            return None
        spec = self.engine.market.specs.get(symbol)
        if spec is None:
            self._fail(api.RES_E_NOT_FOUND, "Terminal: Not found")
            return None
        try:
            tick = self.engine.market.quote(symbol)
        except MarketClosed:  # no quote yet
            tick = None
        bid = float(tick.bid) if tick else 0.0
        ask = float(tick.ask) if tick else 0.0
        spread = int(self.engine.market.costs(symbol).spread / spec.point)
        return api.SymbolInfo(
            False, True, True, spec.digits, spread, spec.stops_level, 0, 4, 15,
            self.desk.filling_mode, 127, bid, ask, float(spec.point),
            0.0 if symbol in self.incomplete else float(spec.tick_value),
            float(spec.tick_size), float(spec.contract_size), float(spec.volume_min),
            float(spec.volume_max), float(spec.volume_step), symbol[:3], symbol[3:], symbol[:3],
            symbol, symbol, f"Forex\\{symbol}",
        )  # fmt: skip

    def symbol_select(self, symbol: str, enable: bool = True) -> bool:
        if self._enter("symbol_select") is not None:
            return False
        if symbol not in self.engine.market.specs:
            self._fail(api.RES_E_NOT_FOUND, "Terminal: Not found")
            return False
        return True

    def symbol_info_tick(self, symbol: str) -> Any:
        if self._enter("symbol_info_tick") is not None:
            return None
        try:
            t = self.engine.market.quote(symbol)
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
    def order_send(self, request: dict[str, Any]) -> Any:
        """Every request is kept in ``requests`` (also those answered with a failure)."""
        failure = self._enter("order_send")
        if failure is None or failure["retcode"] is not None:
            self.requests.append(dict(request))
        if failure is not None and not failure["execute"]:
            if failure["retcode"] is None:
                return None
            return self.desk.result(failure["retcode"], request, comment="Injected failure")
        if not self.algo_trading:
            return self.desk.result(api.TRADE_RETCODE_CLIENT_DISABLES_AT, request,
                                    comment="AutoTrading disabled by client")  # fmt: skip
        if not self.connected:
            return self.desk.result(api.TRADE_RETCODE_CONNECTION, request, comment="No connection")
        result = self.desk.send(request, partial_volume=self.partial_volume)
        self.account.settle()
        if failure is not None:  # carried out, but the answer is lost
            return None if failure["retcode"] is None else result._replace(
                retcode=failure["retcode"], comment="Injected failure"
            )  # fmt: skip
        return result

    def order_check(self, request: dict[str, Any]) -> Any:
        if self._enter("order_check") is not None:
            return None
        return self.desk.check(request)

    # -- the book (empty while not connected: a terminal that has not loaded it yet) -------
    def positions_get(
        self, symbol: str | None = None, group: str | None = None, ticket: int | None = None
    ) -> Any:
        if self._enter("positions_get") is not None:
            return None
        return self.book.positions(symbol, ticket) if self.connected else ()

    def orders_get(
        self, symbol: str | None = None, group: str | None = None, ticket: int | None = None
    ) -> Any:
        if self._enter("orders_get") is not None:
            return None
        return self.book.orders(symbol, ticket) if self.connected else ()

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
        if not self.connected:
            return ()
        return self.book.history_deals(date_from, date_to, ticket, position)

    def history_orders_get(
        self,
        date_from: Any = None,
        date_to: Any = None,
        group: str | None = None,
        ticket: int | None = None,
        position: int | None = None,
    ) -> Any:
        """Finished orders (filled, cancelled, expired) with their final ``state``."""
        if self._enter("history_orders_get") is not None:
            return None
        if not self.connected:
            return ()
        return self.book.history_orders(date_from, date_to, ticket, position)
