"""A deterministic paper broker: bars or ticks in, fills out, with a Decimal ledger.

Price model. Bars are BID prices (as MetaTrader charts are); ``ask = bid + spread_points * point``.
Buys fill and sells exit on the ask, sells fill and buys exit on the bid.

Fill rules for one closed bar (``on_bar``), applied in this order:

1. A pending order whose ``expires_at <= bar open`` expires untouched.
2. A buy limit fills when the bar's ask low ``low + spread <= price``; a sell limit when
   ``high >= price``. It fills AT the limit price, never better, even after a gap.
3. Open positions: a bar that OPENS beyond the stop closes it at the open (slippage, the gap is
   paid); a bar that opens beyond the take-profit closes it at the open (gap in our favour).
   Otherwise a bar touching both levels is assumed to hit the stop first (pessimistic, as the
   path inside the bar is unknown); else whichever level it touches fills at that level.
4. A position filled within this very bar can still be stopped out by it (the price went
   through the entry toward the stop); its take-profit only counts if the bar CLOSES beyond it.
5. Pending orders with ``expires_at <= bar close`` that did not fill expire.

Fills inside a bar are stamped with the bar's open time (the moment inside it is unknown).
Money: ``profit = (exit - entry) * direction / tick_size * tick_value * lots``; commission is
charged per lot per side on every deal; ``equity = balance + floating profit``;
``margin = price * tick_value / tick_size * lots / leverage``.

Who owns what. :class:`~trading.brokers.paper_market.Market` holds the specs, per-symbol
costs and last quotes; :class:`~trading.brokers.paper_ledger.Ledger` holds the book (pending
orders, open positions, order states), the deals and the money, and changes only as told;
:class:`PaperEngine` holds one of each and decides: it validates requests and applies the
fill rules above (the pure checks and ``exit_in_bar`` are in ``paper_rules``), then tells
the ledger what happened. :class:`PaperBroker` is the async ``Broker`` protocol over it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal

from trading.brokers.base import (
    AccountInfo,
    Deal,
    DealReason,
    Order,
    OrderRequest,
    OrderResult,
    OrderState,
    OrderType,
    Position,
    Side,
    Tick,
    UnknownSymbol,
)
from trading.brokers.paper_ledger import Ledger
from trading.brokers.paper_market import Market
from trading.brokers.paper_rules import (
    PaperEvent,
    PaperEventKind,
    Record,
    check_levels,
    check_margin,
    check_request,
    exit_in_bar,
    exit_level,
)
from trading.candles import Bar
from trading.symbols import SymbolSpec
from trading.timeutil import to_unix_s

__all__ = ["PaperBroker", "PaperEngine", "PaperEvent", "PaperEventKind"]


class PaperEngine:
    """The synchronous core (used directly by the backtester; :class:`PaperBroker` wraps it).

    It applies the rules of :mod:`trading.brokers.paper_rules` (request checks, the fill
    rules above) to its :attr:`ledger` at the prices of its :attr:`market`; read quotes and
    costs from ``market``, the book and the money from ``ledger``.
    """

    def __init__(
        self,
        specs: Mapping[str, SymbolSpec],
        *,
        balance: Decimal = Decimal(10_000),
        currency: str = "USD",
        leverage: int = 100,
        spread_points: int | Mapping[str, int] = 0,
        commission_per_lot_money: Decimal = Decimal(0),
        market_open: Callable[[str, datetime], bool] | None = None,
    ) -> None:
        self.market = Market(specs, spread_points, market_open)
        self.ledger = Ledger(
            self.market,
            balance=balance,
            currency=currency,
            leverage=leverage,
            commission_per_lot_money=commission_per_lot_money,
        )

    # -- requests ------------------------------------------------------------------------
    def place(self, request: OrderRequest) -> OrderResult:
        """Validate and place a limit order, or fill a market order at the current ask/bid."""
        costs = self.market.costs(request.symbol)
        tick = self.market.open_quote(request.symbol)
        now_s = to_unix_s(tick.time)
        expires_s = None if request.expires_at is None else to_unix_s(request.expires_at)
        price = check_request(request, costs, tick.bid, tick.ask, expires_s, now_s)
        ledger = self.ledger
        check_margin(ledger.free_margin(), costs.margin(price, request.volume, ledger.leverage))
        ticket = ledger.new_ticket()
        record = Record(
            ticket, request, request.side == Side.BUY, request.volume, price, float(price),
            request.sl, request.tp, now_s, expires_s,
        )  # fmt: skip
        filled = request.order_type == OrderType.MARKET
        if filled:
            ledger.fill(record, now_s, fresh_until_s=None)
        else:
            ledger.add_pending(record)
        position = ticket if filled else None
        return OrderResult(
            ticket, filled, price, request.volume, tick.time, position, request.client_id
        )

    def modify_order(
        self, ticket: int, price: Decimal, sl: Decimal | None, tp: Decimal | None
    ) -> Order:
        """Move a pending order's price and levels (the checks of a new order apply)."""
        record = self.ledger.pending(ticket)
        r = record.request
        tick = self.market.open_quote(r.symbol)
        check = OrderRequest(r.symbol, r.side, OrderType.LIMIT, record.volume, price, sl, tp)
        check_request(check, self.market.costs(r.symbol), tick.bid, tick.ask, None, 0)
        record.price, record.price_f, record.sl, record.tp = price, float(price), sl, tp
        return record.public_order()

    def modify_position(self, ticket: int, sl: Decimal | None, tp: Decimal | None) -> Position:
        """Move an open position's stop/take-profit (checked against its exit-side quote)."""
        record = self.ledger.open_position(ticket)
        tick = self.market.open_quote(record.request.symbol)
        exit_price = tick.bid if record.is_buy else tick.ask
        check_levels(record.is_buy, exit_price, sl, tp, self.market.costs(record.request.symbol))
        record.sl, record.tp = sl, tp
        return self.ledger.public_position(record)

    def cancel(self, ticket: int) -> None:
        """Delete a pending order (:class:`OrderNotFound` when it is not pending)."""
        self.ledger.cancel(ticket)

    def close_at_market(
        self, ticket: int, volume: Decimal | None = None, comment: str | None = None
    ) -> Deal:
        """Close at the current exit-side quote (bid for a buy, ask for a sell)."""
        record = self.ledger.open_position(ticket)
        tick = self.market.open_quote(record.request.symbol)
        price = tick.bid if record.is_buy else tick.ask
        time_s = to_unix_s(tick.time)
        return self.ledger.close(record, volume, price, time_s, DealReason.CLIENT, comment)

    def close_all(self, reason: DealReason = DealReason.END) -> list[Deal]:
        """Close every position at its current quote (the end of a backtest)."""
        deals = []
        for record in self.ledger.all_positions():
            tick = self.market.quote(record.request.symbol)
            price = tick.bid if record.is_buy else tick.ask
            deals.append(self.ledger.close(record, None, price, to_unix_s(tick.time), reason))
        return deals

    # -- market events -------------------------------------------------------------------
    def on_bar(
        self,
        symbol: str,
        time_s: int,
        timeframe_s: int,
        open_: float,
        high: float,
        low: float,
        close: float,
    ) -> list[PaperEvent]:
        """Apply one CLOSED bar (bid prices, open time ``time_s``) with the rules above.

        The per-bar cost is a dict lookup when the symbol has no orders and no positions.
        """
        market, ledger = self.market, self.ledger
        spread = market.costs(symbol).spread_f
        close_s = time_s + timeframe_s
        events: list[PaperEvent] = []
        if ledger.pending_by_symbol.get(symbol):
            events.extend(self._bar_pending(symbol, time_s, close_s, high, low + spread))
        if ledger.open_by_symbol.get(symbol):
            ohlc = (open_, high, low, close)
            events.extend(self._bar_positions(symbol, time_s, close_s, ohlc, spread))
        market.set_quote(symbol, close, close + spread, close_s)
        return events

    def _bar_pending(
        self, symbol: str, open_s: int, close_s: int, high_bid: float, low_ask: float
    ) -> list[PaperEvent]:
        ledger = self.ledger
        events: list[PaperEvent] = []
        for order in list(ledger.pending_by_symbol[symbol].values()):
            expires_s = order.expires_s
            if expires_s is not None and expires_s <= open_s:
                events.append(ledger.expire(order, expires_s))
            elif (order.is_buy and low_ask <= order.price_f) or (
                not order.is_buy and high_bid >= order.price_f
            ):
                events.append(ledger.fill(order, open_s, fresh_until_s=close_s))
            elif expires_s is not None and expires_s <= close_s:
                events.append(ledger.expire(order, expires_s))
        return events

    def _bar_positions(
        self,
        symbol: str,
        open_s: int,
        close_s: int,
        ohlc: tuple[float, float, float, float],
        spread: float,
    ) -> list[PaperEvent]:
        costs, ledger = self.market.costs(symbol), self.ledger
        events: list[PaperEvent] = []
        for pos in list(ledger.open_by_symbol[symbol].values()):
            side_ohlc = (
                ohlc
                if pos.is_buy
                else (ohlc[0] + spread, ohlc[1] + spread, ohlc[2] + spread, ohlc[3] + spread)
            )
            hit = exit_in_bar(
                pos.is_buy,
                None if pos.sl is None else float(pos.sl),
                None if pos.tp is None else float(pos.tp),
                side_ohlc,
                fresh=pos.fresh_until_s == close_s,
            )
            if hit is not None:
                reason, at_open = hit
                price = costs.price(side_ohlc[0]) if at_open else exit_level(pos, reason)
                deal = ledger.close(pos, None, price, open_s, reason)
                events.append(
                    PaperEvent(PaperEventKind.CLOSED, pos.ticket, deal.time, price, reason)
                )
        return events

    def on_tick(self, symbol: str, bid: Decimal, ask: Decimal, time: datetime) -> list[PaperEvent]:
        """Apply one quote: expiry (``expires_at <= time``), limit fills at the limit, exits at
        the quote (a tick beyond a level is a gap: the quote is the fill price)."""
        time_s = to_unix_s(time)
        ledger = self.ledger
        self.market.set_quote(symbol, float(bid), float(ask), time_s)
        events: list[PaperEvent] = []
        for order in list(ledger.pending_by_symbol.get(symbol, {}).values()):
            if order.expires_s is not None and order.expires_s <= time_s:
                events.append(ledger.expire(order, order.expires_s))
            elif (order.is_buy and ask <= order.price) or (
                not order.is_buy and bid >= order.price
            ):
                events.append(ledger.fill(order, time_s, fresh_until_s=None))
        for pos in list(ledger.open_by_symbol.get(symbol, {}).values()):
            price = bid if pos.is_buy else ask
            direction = 1 if pos.is_buy else -1
            reason: DealReason | None = None
            if pos.sl is not None and (price - pos.sl) * direction <= 0:
                reason = DealReason.SL
            elif pos.tp is not None and (price - pos.tp) * direction >= 0:
                reason = DealReason.TP
            if reason is not None:
                deal = ledger.close(pos, None, price, time_s, reason)
                events.append(
                    PaperEvent(PaperEventKind.CLOSED, pos.ticket, deal.time, price, reason)
                )
        return events


class PaperBroker:
    """The :class:`~trading.brokers.base.Broker` protocol over a :class:`PaperEngine`.

    It wraps the engine it is given (``PaperBroker(PaperEngine(specs, balance=...))``), so the
    account's terms are declared once, by the engine's constructor.
    """

    def __init__(self, engine: PaperEngine) -> None:
        self.blocked: str | None = None  # tests: why trading is impossible (None: it is not)
        self.engine = engine

    def on_bar(self, symbol: str, bar: Bar, timeframe_s: int = 3600) -> list[PaperEvent]:
        """Feed one CLOSED bar (bid prices); see :meth:`PaperEngine.on_bar` for the rules."""
        return self.engine.on_bar(
            symbol, to_unix_s(bar.time), timeframe_s, bar.open, bar.high, bar.low, bar.close
        )

    def on_tick(self, symbol: str, bid: Decimal, ask: Decimal, time: datetime) -> list[PaperEvent]:
        """Feed one quote; see :meth:`PaperEngine.on_tick`."""
        return self.engine.on_tick(symbol, bid, ask, time)

    async def account(self) -> AccountInfo:
        return self.engine.ledger.account()

    async def symbol_spec(self, symbol: str) -> SymbolSpec:
        specs = self.engine.market.specs
        spec = specs.get(symbol)
        if spec is None:
            msg = f"unknown symbol {symbol!r}; the paper broker knows {sorted(specs)}"
            raise UnknownSymbol(msg)
        return spec

    async def tick(self, symbol: str) -> Tick:
        return self.engine.market.quote(symbol)

    async def place_order(self, request: OrderRequest) -> OrderResult:
        return self.engine.place(request)

    async def modify_order(
        self, ticket: int, price: Decimal, sl: Decimal | None, tp: Decimal | None
    ) -> Order:
        return self.engine.modify_order(ticket, price, sl, tp)

    async def modify_position(
        self, ticket: int, sl: Decimal | None, tp: Decimal | None
    ) -> Position:
        return self.engine.modify_position(ticket, sl, tp)

    async def cancel_order(self, ticket: int) -> None:
        self.engine.cancel(ticket)

    async def close_position(
        self, ticket: int, volume: Decimal | None = None, *, comment: str = ""
    ) -> Deal:
        return self.engine.close_at_market(ticket, volume, comment or None)

    async def positions(self, symbol: str | None = None) -> list[Position]:
        return self.engine.ledger.positions(symbol)

    async def orders(self, symbol: str | None = None) -> list[Order]:
        return self.engine.ledger.orders(symbol)

    async def history(self, since: datetime) -> list[Deal]:
        return self.engine.ledger.history(since)

    async def order_state(self, ticket: int) -> OrderState | None:
        return self.engine.ledger.order_states.get(ticket)

    async def trading_blocked(self) -> str | None:
        return self.blocked
