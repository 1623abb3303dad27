"""The paper broker's book: orders, positions, deals and the Decimal ledger.

Bar and tick processing live in :mod:`trading.brokers.paper`, checks and records in
``paper_rules``; this module holds the state they change. Everything public is Decimal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from trading.brokers.base import (
    AccountInfo,
    Deal,
    DealEntry,
    DealReason,
    MarketClosed,
    Order,
    OrderNotFound,
    OrderRequest,
    OrderResult,
    OrderState,
    OrderType,
    Position,
    Side,
    Tick,
    UnknownSymbol,
)
from trading.brokers.paper_rules import (
    PaperEvent,
    PaperEventKind,
    Record,
    SymbolCosts,
    check_levels,
    check_margin,
    check_request,
    symbol_costs,
)
from trading.symbols import SymbolSpec
from trading.timeutil import to_unix_s, utc_from_unix_s

CENT = Decimal("0.01")


class Ledger:
    """State and bookkeeping of one paper account (single currency, no swaps)."""

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
        if balance <= 0 or leverage <= 0 or commission_per_lot_money < 0:
            msg = "balance and leverage must be > 0 and commission_per_lot_money >= 0"
            raise ValueError(msg)
        self.specs = dict(specs)
        self.balance = balance
        self.currency = currency
        self.leverage = leverage
        self.commission_per_lot_money = commission_per_lot_money
        self.market_open = market_open
        spreads = spread_points if isinstance(spread_points, Mapping) else {}
        default = 0 if isinstance(spread_points, Mapping) else spread_points
        self._costs = {n: symbol_costs(s, spreads.get(n, default)) for n, s in self.specs.items()}
        self._quotes: dict[str, tuple[float, float, int]] = {}
        self.pending_by_symbol: dict[str, dict[int, Record]] = {}
        self.open_by_symbol: dict[str, dict[int, Record]] = {}
        self.deals: list[Deal] = []
        self.order_states: dict[int, OrderState] = {}  # orders no longer pending
        self._next_ticket = 1
        self.now_s = 0

    def costs(self, symbol: str) -> SymbolCosts:
        costs = self._costs.get(symbol)
        if costs is None:
            msg = f"unknown symbol {symbol!r}; the paper broker knows {sorted(self._costs)}"
            raise UnknownSymbol(msg)
        return costs

    def set_quote(self, symbol: str, bid: float, ask: float, time_s: int) -> None:
        self._quotes[symbol] = (bid, ask, time_s)
        self.now_s = max(self.now_s, time_s)

    def quote(self, symbol: str) -> Tick:
        """The last bid/ask on the tick grid; :class:`MarketClosed` before the first quote."""
        costs = self.costs(symbol)
        if symbol not in self._quotes:
            msg = f"no quote for {symbol} yet: feed a bar or a tick before trading it"
            raise MarketClosed(msg)
        bid, ask, time_s = self._quotes[symbol]
        return Tick(costs.price(bid), costs.price(ask), utc_from_unix_s(time_s))

    def _open_quote(self, symbol: str) -> Tick:
        tick = self.quote(symbol)
        if self.market_open is not None and not self.market_open(symbol, tick.time):
            msg = f"market closed for {symbol} at {tick.time.isoformat()}; retry when it opens"
            raise MarketClosed(msg)
        return tick

    def place(self, request: OrderRequest) -> OrderResult:
        """Validate and place a limit order, or fill a market order at the current ask/bid."""
        costs = self.costs(request.symbol)
        tick = self._open_quote(request.symbol)
        now_s = to_unix_s(tick.time)
        expires_s = None if request.expires_at is None else to_unix_s(request.expires_at)
        price = check_request(request, costs, tick.bid, tick.ask, expires_s, now_s)
        check_margin(self._free_margin(), costs.margin(price, request.volume, self.leverage))
        ticket = self._next_ticket
        self._next_ticket += 1
        record = Record(
            ticket, request, request.side == Side.BUY, request.volume, price, float(price),
            request.sl, request.tp, now_s, expires_s,
        )  # fmt: skip
        filled = request.order_type == OrderType.MARKET
        if filled:
            self.fill(record, now_s, fresh_until_s=None)
        else:
            self.pending_by_symbol.setdefault(request.symbol, {})[ticket] = record
        position = ticket if filled else None
        return OrderResult(
            ticket, filled, price, request.volume, tick.time, position, request.client_id
        )

    def modify_order(
        self, ticket: int, price: Decimal, sl: Decimal | None, tp: Decimal | None
    ) -> Order:
        """Move a pending order's price and levels (the checks of a new order apply)."""
        record = self._find(self.pending_by_symbol, ticket, "pending order")
        tick = self._open_quote(record.request.symbol)
        r = record.request
        check = OrderRequest(r.symbol, r.side, OrderType.LIMIT, record.volume, price, sl, tp)
        check_request(check, self.costs(r.symbol), tick.bid, tick.ask, None, 0)
        record.price, record.price_f, record.sl, record.tp = price, float(price), sl, tp
        return record.public_order()

    def modify_position(self, ticket: int, sl: Decimal | None, tp: Decimal | None) -> Position:
        """Move an open position's stop/take-profit (checked against its exit-side quote)."""
        record = self._find(self.open_by_symbol, ticket, "open position")
        tick = self._open_quote(record.request.symbol)
        exit_price = tick.bid if record.is_buy else tick.ask
        check_levels(record.is_buy, exit_price, sl, tp, self.costs(record.request.symbol))
        record.sl, record.tp = sl, tp
        return self.public_position(record)

    def cancel(self, ticket: int) -> None:
        """Delete a pending order (:class:`OrderNotFound` when it is not pending)."""
        record = self._find(self.pending_by_symbol, ticket, "pending order")
        del self.pending_by_symbol[record.request.symbol][ticket]
        self.order_states[ticket] = OrderState.CANCELLED

    def close_at_market(
        self, ticket: int, volume: Decimal | None = None, comment: str | None = None
    ) -> Deal:
        """Close at the current exit-side quote (bid for a buy, ask for a sell)."""
        record = self._find(self.open_by_symbol, ticket, "open position")
        tick = self._open_quote(record.request.symbol)
        price = tick.bid if record.is_buy else tick.ask
        time_s = to_unix_s(tick.time)
        return self.close(record, volume, price, time_s, DealReason.CLIENT, comment)

    def close_all(self, reason: DealReason = DealReason.END) -> list[Deal]:
        """Close every position at its current quote (the end of a backtest)."""
        deals = []
        for positions in self.open_by_symbol.values():
            for record in list(positions.values()):
                tick = self.quote(record.request.symbol)
                price = tick.bid if record.is_buy else tick.ask
                deals.append(self.close(record, None, price, to_unix_s(tick.time), reason))
        return deals

    def expire(self, record: Record, time_s: int) -> PaperEvent:
        """Remove a pending order that reached its ``expires_at`` (stamped with that time)."""
        del self.pending_by_symbol[record.request.symbol][record.ticket]
        self.order_states[record.ticket] = OrderState.EXPIRED
        return PaperEvent(
            PaperEventKind.EXPIRED, record.ticket, utc_from_unix_s(time_s), record.price
        )

    def fill(self, record: Record, time_s: int, *, fresh_until_s: int | None) -> PaperEvent:
        """Turn an order into a position at its price; books the entry deal."""
        self.pending_by_symbol.get(record.request.symbol, {}).pop(record.ticket, None)
        self.order_states[record.ticket] = OrderState.FILLED
        record.opened_s, record.fresh_until_s = time_s, fresh_until_s
        self.open_by_symbol.setdefault(record.request.symbol, {})[record.ticket] = record
        self._book(record, DealEntry.IN, record.volume, record.price, time_s, Decimal(0))
        return PaperEvent(
            PaperEventKind.FILLED, record.ticket, utc_from_unix_s(time_s), record.price
        )

    def close(
        self,
        record: Record,
        volume: Decimal | None,
        price: Decimal,
        time_s: int,
        reason: DealReason,
        comment: str | None = None,
    ) -> Deal:
        """Close ``volume`` lots (all when None) at ``price``, booking
        ``profit = (price - open) * direction * money_per_unit * lots`` (rounded to cents).
        The deal carries ``comment`` (default: the position's)."""
        lots = record.volume if volume is None else volume
        if not Decimal(0) < lots <= record.volume:
            msg = f"close volume {lots} must be > 0 and <= the position's {record.volume} lots"
            raise ValueError(msg)
        profit = self._profit(record, price, lots)
        deal = self._book(record, DealEntry.OUT, lots, price, time_s, profit, reason, comment)
        record.volume -= lots
        if record.volume == 0:
            del self.open_by_symbol[record.request.symbol][record.ticket]
        return deal

    def _profit(self, record: Record, price: Decimal, lots: Decimal) -> Decimal:
        move = (price - record.price) * (1 if record.is_buy else -1)
        money = move * self.costs(record.request.symbol).money_per_unit * lots
        return money.quantize(CENT, ROUND_HALF_EVEN)

    def _book(
        self,
        record: Record,
        entry: DealEntry,
        lots: Decimal,
        price: Decimal,
        time_s: int,
        profit: Decimal,
        reason: DealReason = DealReason.CLIENT,
        comment: str | None = None,
    ) -> Deal:
        commission = -(self.commission_per_lot_money * lots).quantize(CENT, ROUND_HALF_EVEN)
        self.balance += profit + commission
        r = record.request
        side = r.side if entry == DealEntry.IN else (Side.SELL if record.is_buy else Side.BUY)
        deal = Deal(
            len(self.deals) + 1, record.ticket, record.ticket, r.symbol, side, entry, lots,
            price, utc_from_unix_s(time_s), profit, commission, reason,
            r.comment if comment is None else comment,
        )  # fmt: skip
        self.deals.append(deal)
        return deal

    @staticmethod
    def _find(book: dict[str, dict[int, Record]], ticket: int, what: str) -> Record:
        for records in book.values():
            if ticket in records:
                return records[ticket]
        msg = f"no {what} #{ticket} (filled, closed, expired, cancelled or never placed)"
        raise OrderNotFound(msg)

    def floating_money(self, record: Record) -> Decimal:
        """Profit of an open position if closed at the current exit-side quote (cents)."""
        tick = self.quote(record.request.symbol)
        return self._profit(record, tick.bid if record.is_buy else tick.ask, record.volume)

    def equity_float(self) -> float:
        """Fast float equity for curves: ``balance + sum(move * money_per_unit * lots)``."""
        equity = float(self.balance)
        for symbol, positions in self.open_by_symbol.items():
            if positions:
                bid, ask, _ = self._quotes[symbol]
                per_unit = self._costs[symbol].money_per_unit_f
                for p in positions.values():
                    move = (bid - p.price_f) if p.is_buy else (p.price_f - ask)
                    equity += move * per_unit * float(p.volume)
        return equity

    def _all_positions(self) -> list[Record]:
        return [p for ps in self.open_by_symbol.values() for p in ps.values()]

    def _free_margin(self) -> Decimal:
        account = self.account()
        return account.equity - account.margin

    def account(self) -> AccountInfo:
        """``equity = balance + sum(floating)``, ``margin = sum(open * money_per_unit * lots /
        leverage)`` (see the margin formula of :class:`SymbolCosts`)."""
        positions = self._all_positions()
        floating = sum((self.floating_money(p) for p in positions), Decimal(0))
        margin = sum(
            (
                self._costs[p.request.symbol].margin(p.price, p.volume, self.leverage)
                for p in positions
            ),
            Decimal(0),
        )
        return AccountInfo(self.balance, self.balance + floating, margin, self.currency)

    def public_position(self, p: Record) -> Position:
        r = p.request
        opened = utc_from_unix_s(p.opened_s if p.opened_s is not None else p.placed_s)
        return Position(
            p.ticket, r.symbol, r.side, p.volume, p.price, p.sl, p.tp, opened,
            self.floating_money(p), r.comment, r.magic, r.client_id,
        )  # fmt: skip

    def positions(self, symbol: str | None = None) -> list[Position]:
        return [
            self.public_position(p)
            for p in self._all_positions()
            if symbol is None or p.request.symbol == symbol
        ]

    def orders(self, symbol: str | None = None) -> list[Order]:
        return [
            o.public_order()
            for name, records in self.pending_by_symbol.items()
            if symbol is None or name == symbol
            for o in records.values()
        ]

    def history(self, since: datetime) -> list[Deal]:
        return [d for d in self.deals if d.time >= since]
