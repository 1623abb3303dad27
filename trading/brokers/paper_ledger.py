"""The paper broker's ledger: the book of pending orders and open positions, the deals and
the Decimal money (balance, floating profit, margin) of one account.

It changes state only as it is told: validation and the fill rules live in
:class:`trading.brokers.paper.PaperEngine`, the quotes it marks to in
:class:`trading.brokers.paper_market.Market`. Everything public is Decimal.

Money: ``profit = (exit - entry) * direction * money_per_unit * lots`` rounded half-even to
cents; commission is ``-commission_per_lot_money * lots`` (cents) on every deal;
``balance`` moves by ``profit + commission`` of each deal booked, so
``balance == initial + sum(profit + commission over deals)`` at all times.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from trading.brokers.base import (
    AccountInfo,
    Deal,
    DealEntry,
    DealReason,
    Order,
    OrderNotFound,
    OrderState,
    Position,
    Side,
)
from trading.brokers.paper_market import Market
from trading.brokers.paper_rules import PaperEvent, PaperEventKind, Record
from trading.timeutil import utc_from_unix_s

CENT = Decimal("0.01")
PAPER_COMPANY = "SignalDesk Paper"  # the simulated account's broker, as the EA reports it


class Ledger:
    """Book and money of one paper account (single currency, no swaps), marked to ``market``."""

    def __init__(
        self,
        market: Market,
        *,
        balance: Decimal = Decimal(10_000),
        currency: str = "USD",
        leverage: int = 100,
        commission_per_lot_money: Decimal = Decimal(0),
    ) -> None:
        if balance <= 0 or leverage <= 0 or commission_per_lot_money < 0:
            msg = "balance and leverage must be > 0 and commission_per_lot_money >= 0"
            raise ValueError(msg)
        self.market = market
        self.balance = balance
        self.currency = currency
        self.leverage = leverage
        self.commission_per_lot_money = commission_per_lot_money
        self.pending_by_symbol: dict[str, dict[int, Record]] = {}
        self.open_by_symbol: dict[str, dict[int, Record]] = {}
        self.deals: list[Deal] = []
        self.order_states: dict[int, OrderState] = {}  # orders no longer pending
        self._next_ticket = 1

    # -- the book ------------------------------------------------------------------------
    def new_ticket(self) -> int:
        """The next order ticket (a position keeps its opening order's ticket)."""
        ticket = self._next_ticket
        self._next_ticket += 1
        return ticket

    def add_pending(self, record: Record) -> None:
        self.pending_by_symbol.setdefault(record.request.symbol, {})[record.ticket] = record

    def pending(self, ticket: int) -> Record:
        """The pending order ``ticket`` (:class:`OrderNotFound` when it is not pending)."""
        return _find(self.pending_by_symbol, ticket, "pending order")

    def open_position(self, ticket: int) -> Record:
        """The open position ``ticket`` (:class:`OrderNotFound` when it is not open)."""
        return _find(self.open_by_symbol, ticket, "open position")

    def all_positions(self) -> list[Record]:
        return [p for ps in self.open_by_symbol.values() for p in ps.values()]

    def cancel(self, ticket: int) -> None:
        """Delete a pending order (:class:`OrderNotFound` when it is not pending)."""
        record = self.pending(ticket)
        del self.pending_by_symbol[record.request.symbol][ticket]
        self.order_states[ticket] = OrderState.CANCELLED

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
        self.book(record, DealEntry.IN, record.volume, record.price, time_s, Decimal(0))
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
        profit = self.profit_money(record, price, lots)
        deal = self.book(record, DealEntry.OUT, lots, price, time_s, profit, reason, comment)
        record.volume -= lots
        if record.volume == 0:
            self.discard_position(record)
        return deal

    def discard_position(self, record: Record) -> None:
        """Take an open position off the book (its deals stay)."""
        del self.open_by_symbol[record.request.symbol][record.ticket]

    # -- money ---------------------------------------------------------------------------
    def profit_money(self, record: Record, price: Decimal, lots: Decimal) -> Decimal:
        """``(price - open) * direction * money_per_unit * lots``, rounded half-even to cents."""
        move = (price - record.price) * (1 if record.is_buy else -1)
        money = move * self.market.costs(record.request.symbol).money_per_unit * lots
        return money.quantize(CENT, ROUND_HALF_EVEN)

    def book(
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
        """Append a deal of ``record`` charging ``commission_per_lot_money * lots`` (cents);
        the balance moves by ``profit + commission``. An OUT deal is on the opposite side."""
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

    def amend_deal(self, index: int, **changes: Any) -> Deal:
        """Replace fields of ``deals[index]`` (as :func:`dataclasses.replace`); the balance
        moves by the change of its ``profit_money + commission_money``, so it stays the sum
        of the deals."""
        old = self.deals[index]
        new = dataclasses.replace(old, **changes)
        self.balance += (new.profit_money + new.commission_money) - (
            old.profit_money + old.commission_money
        )
        self.deals[index] = new
        return new

    def floating_money(self, record: Record) -> Decimal:
        """Profit of an open position if closed at the current exit-side quote (cents)."""
        tick = self.market.quote(record.request.symbol)
        return self.profit_money(record, tick.bid if record.is_buy else tick.ask, record.volume)

    def equity_float(self) -> float:
        """Fast float equity for curves: ``balance + sum(move * money_per_unit * lots)``."""
        equity = float(self.balance)
        market = self.market
        for symbol, positions in self.open_by_symbol.items():
            if positions:
                bid, ask, _ = market.last(symbol)
                per_unit = market.costs(symbol).money_per_unit_f
                for p in positions.values():
                    move = (bid - p.price_f) if p.is_buy else (p.price_f - ask)
                    equity += move * per_unit * float(p.volume)
        return equity

    def free_margin(self) -> Decimal:
        account = self.account()
        return account.equity - account.margin

    def account(self) -> AccountInfo:
        """``equity = balance + sum(floating)``, ``margin = sum(open * money_per_unit * lots /
        leverage)`` (see the margin formula of :class:`SymbolCosts`)."""
        positions = self.all_positions()
        floating = sum((self.floating_money(p) for p in positions), Decimal(0))
        margin = sum(
            (
                self.market.costs(p.request.symbol).margin(p.price, p.volume, self.leverage)
                for p in positions
            ),
            Decimal(0),
        )
        return AccountInfo(
            self.balance, self.balance + floating, margin, self.currency, company=PAPER_COMPANY
        )

    # -- public shapes -------------------------------------------------------------------
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
            for p in self.all_positions()
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


def _find(book: dict[str, dict[int, Record]], ticket: int, what: str) -> Record:
    for records in book.values():
        if ticket in records:
            return records[ticket]
    msg = f"no {what} #{ticket} (filled, closed, expired, cancelled or never placed)"
    raise OrderNotFound(msg)
