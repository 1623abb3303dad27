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
    Position,
    Tick,
    UnknownSymbol,
)
from trading.brokers.paper_ledger import Ledger
from trading.brokers.paper_rules import PaperEvent, PaperEventKind, Record
from trading.candles import Bar
from trading.symbols import SymbolSpec
from trading.timeutil import to_unix_s

__all__ = ["PaperBroker", "PaperEngine", "PaperEvent", "PaperEventKind", "exit_in_bar"]


class PaperEngine(Ledger):
    """The synchronous core (used directly by the backtester; :class:`PaperBroker` wraps it)."""

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
        spread = self.costs(symbol).spread_f
        close_s = time_s + timeframe_s
        events: list[PaperEvent] = []
        if self.pending_by_symbol.get(symbol):
            events.extend(self._bar_pending(symbol, time_s, close_s, high, low + spread))
        if self.open_by_symbol.get(symbol):
            ohlc = (open_, high, low, close)
            events.extend(self._bar_positions(symbol, time_s, close_s, ohlc, spread))
        self.set_quote(symbol, close, close + spread, close_s)
        return events

    def _bar_pending(
        self, symbol: str, open_s: int, close_s: int, high_bid: float, low_ask: float
    ) -> list[PaperEvent]:
        events: list[PaperEvent] = []
        for order in list(self.pending_by_symbol[symbol].values()):
            expires_s = order.expires_s
            if expires_s is not None and expires_s <= open_s:
                events.append(self.expire(order, expires_s))
            elif (order.is_buy and low_ask <= order.price_f) or (
                not order.is_buy and high_bid >= order.price_f
            ):
                events.append(self.fill(order, open_s, fresh_until_s=close_s))
            elif expires_s is not None and expires_s <= close_s:
                events.append(self.expire(order, expires_s))
        return events

    def _bar_positions(
        self,
        symbol: str,
        open_s: int,
        close_s: int,
        ohlc: tuple[float, float, float, float],
        spread: float,
    ) -> list[PaperEvent]:
        costs = self.costs(symbol)
        events: list[PaperEvent] = []
        for pos in list(self.open_by_symbol[symbol].values()):
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
                price = costs.price(side_ohlc[0]) if at_open else _level(pos, reason)
                deal = self.close(pos, None, price, open_s, reason)
                events.append(
                    PaperEvent(PaperEventKind.CLOSED, pos.ticket, deal.time, price, reason)
                )
        return events

    def on_tick(self, symbol: str, bid: Decimal, ask: Decimal, time: datetime) -> list[PaperEvent]:
        """Apply one quote: expiry (``expires_at <= time``), limit fills at the limit, exits at
        the quote (a tick beyond a level is a gap: the quote is the fill price)."""
        time_s = to_unix_s(time)
        self.set_quote(symbol, float(bid), float(ask), time_s)
        events: list[PaperEvent] = []
        for order in list(self.pending_by_symbol.get(symbol, {}).values()):
            if order.expires_s is not None and order.expires_s <= time_s:
                events.append(self.expire(order, order.expires_s))
            elif (order.is_buy and ask <= order.price) or (
                not order.is_buy and bid >= order.price
            ):
                events.append(self.fill(order, time_s, fresh_until_s=None))
        for pos in list(self.open_by_symbol.get(symbol, {}).values()):
            price = bid if pos.is_buy else ask
            direction = 1 if pos.is_buy else -1
            reason: DealReason | None = None
            if pos.sl is not None and (price - pos.sl) * direction <= 0:
                reason = DealReason.SL
            elif pos.tp is not None and (price - pos.tp) * direction >= 0:
                reason = DealReason.TP
            if reason is not None:
                deal = self.close(pos, None, price, time_s, reason)
                events.append(
                    PaperEvent(PaperEventKind.CLOSED, pos.ticket, deal.time, price, reason)
                )
        return events


def _level(pos: Record, reason: DealReason) -> Decimal:
    level = pos.sl if reason == DealReason.SL else pos.tp
    if level is None:  # unreachable: exit_in_bar only reports levels that are set
        msg = f"position #{pos.ticket} has no {reason} level"
        raise RuntimeError(msg)
    return level


def exit_in_bar(
    is_buy: bool,
    sl: float | None,
    tp: float | None,
    ohlc: tuple[float, float, float, float],
    *,
    fresh: bool,
) -> tuple[DealReason, bool] | None:
    """``(reason, at_open)`` when a position exits within one bar, else None.

    ``ohlc`` are the bar's EXIT-side prices: bids for a buy position, asks for a sell.
    ``at_open`` True means the bar opened beyond the level (a gap): the exit price is the open;
    otherwise it is the level itself. Stop before take-profit when both are touched; ``fresh``
    (filled within this bar) disables the gap rule and requires the close beyond the TP.
    """
    open_, high, low, close = ohlc
    d = 1.0 if is_buy else -1.0
    if not fresh:
        if sl is not None and (open_ - sl) * d <= 0:
            return DealReason.SL, True
        if tp is not None and (open_ - tp) * d >= 0:
            return DealReason.TP, True
    worst, best = (low, high) if is_buy else (high, low)
    if sl is not None and (worst - sl) * d <= 0:
        return DealReason.SL, False
    if tp is not None and ((close if fresh else best) - tp) * d >= 0:
        return DealReason.TP, False
    return None


class PaperBroker:
    """The :class:`~trading.brokers.base.Broker` protocol over a :class:`PaperEngine`."""

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
        self.blocked: str | None = None  # tests: why trading is impossible (None: it is not)
        self.engine = PaperEngine(
            specs,
            balance=balance,
            currency=currency,
            leverage=leverage,
            spread_points=spread_points,
            commission_per_lot_money=commission_per_lot_money,
            market_open=market_open,
        )

    def on_bar(self, symbol: str, bar: Bar, timeframe_s: int = 3600) -> list[PaperEvent]:
        """Feed one CLOSED bar (bid prices); see :meth:`PaperEngine.on_bar` for the rules."""
        return self.engine.on_bar(
            symbol, to_unix_s(bar.time), timeframe_s, bar.open, bar.high, bar.low, bar.close
        )

    def on_tick(self, symbol: str, bid: Decimal, ask: Decimal, time: datetime) -> list[PaperEvent]:
        """Feed one quote; see :meth:`PaperEngine.on_tick`."""
        return self.engine.on_tick(symbol, bid, ask, time)

    async def account(self) -> AccountInfo:
        return self.engine.account()

    async def symbol_spec(self, symbol: str) -> SymbolSpec:
        spec = self.engine.specs.get(symbol)
        if spec is None:
            msg = f"unknown symbol {symbol!r}; the paper broker knows {sorted(self.engine.specs)}"
            raise UnknownSymbol(msg)
        return spec

    async def tick(self, symbol: str) -> Tick:
        return self.engine.quote(symbol)

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
        return self.engine.positions(symbol)

    async def orders(self, symbol: str | None = None) -> list[Order]:
        return self.engine.orders(symbol)

    async def history(self, since: datetime) -> list[Deal]:
        return self.engine.history(since)

    async def order_state(self, ticket: int) -> OrderState | None:
        return self.engine.order_states.get(ticket)

    async def trading_blocked(self) -> str | None:
        return self.blocked
