"""The broker interface: one async protocol, frozen value types and one error hierarchy.

Adapters (``paper``, ``mt5``) implement :class:`Broker`. Units: prices in the symbol's quote
units, volumes in lots, money in the account currency, all ``Decimal`` (DESIGN.md: money and
broker prices are Decimal); times are aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, Protocol, runtime_checkable

from trading.detector import Side
from trading.symbols import SymbolSpec

__all__ = [
    "AccountInfo",
    "Broker",
    "BrokerError",
    "ConnectionLost",
    "Deal",
    "DealEntry",
    "DealReason",
    "InvalidPrice",
    "InvalidStops",
    "InvalidVolume",
    "MarketClosed",
    "NoMoney",
    "Order",
    "OrderNotFound",
    "OrderRejected",
    "OrderRequest",
    "OrderResult",
    "OrderState",
    "OrderType",
    "Position",
    "Requote",
    "ResultUnknown",
    "Side",
    "SpecIncomplete",
    "Tick",
    "TradingDisabled",
    "UnknownSymbol",
]


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class DealEntry(StrEnum):
    IN = "in"
    OUT = "out"


class OrderState(StrEnum):
    """What became of an order that left the pending list (MT5 ``ORDER_STATE_*`` in history)."""

    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"


class DealReason(StrEnum):
    CLIENT = "client"
    SL = "sl"
    TP = "tp"
    END = "end"


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """``hedging`` False: a netting account (one position per symbol; fills merge into it)."""

    balance: Decimal
    equity: Decimal
    margin: Decimal
    currency: str
    hedging: bool = True
    company: str | None = None  # the broker's name (MT5 ACCOUNT_COMPANY)


@dataclass(frozen=True, slots=True)
class Tick:
    bid: Decimal
    ask: Decimal
    time: datetime


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A new order. ``price`` is required for limits and ignored for market orders."""

    symbol: str
    side: Side
    order_type: OrderType
    volume: Decimal
    price: Decimal | None = None
    sl: Decimal | None = None
    tp: Decimal | None = None
    expires_at: datetime | None = None
    comment: str = ""
    magic: int = 0
    client_id: str = ""


@dataclass(frozen=True, slots=True)
class OrderResult:
    """``filled`` is True for a market fill (``position`` set), False for a placed pending order."""

    ticket: int
    filled: bool
    price: Decimal
    volume: Decimal
    time: datetime
    position: int | None = None
    client_id: str = ""


@dataclass(frozen=True, slots=True)
class Order:
    """A pending limit order."""

    ticket: int
    symbol: str
    side: Side
    volume: Decimal
    price: Decimal
    sl: Decimal | None
    tp: Decimal | None
    placed_at: datetime
    expires_at: datetime | None
    comment: str = ""
    magic: int = 0
    client_id: str = ""


@dataclass(frozen=True, slots=True)
class Position:
    """An open position; ``profit_money`` is the floating profit at the last quote."""

    ticket: int
    symbol: str
    side: Side
    volume: Decimal
    open_price: Decimal
    sl: Decimal | None
    tp: Decimal | None
    opened_at: datetime
    profit_money: Decimal
    comment: str = ""
    magic: int = 0
    client_id: str = ""


@dataclass(frozen=True, slots=True)
class Deal:
    """One fill. ``profit_money`` is realised on ``OUT`` deals; commission is negative (a cost)."""

    ticket: int
    order: int
    position: int
    symbol: str
    side: Side
    entry: DealEntry
    volume: Decimal
    price: Decimal
    time: datetime
    profit_money: Decimal
    commission_money: Decimal
    reason: DealReason
    comment: str = ""


class BrokerError(Exception):
    """A broker refused or failed a request. ``code`` is stable (logs, API bodies, i18n keys)."""

    code: ClassVar[str] = "broker_error"

    def __init__(self, message: str, *, retcode: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retcode = retcode


class InvalidStops(BrokerError):
    code = "invalid_stops"


class InvalidPrice(BrokerError):
    code = "invalid_price"


class InvalidVolume(BrokerError):
    code = "invalid_volume"


class NoMoney(BrokerError):
    code = "no_money"


class MarketClosed(BrokerError):
    code = "market_closed"


class Requote(BrokerError):
    code = "requote"


class OrderRejected(BrokerError):
    code = "order_rejected"


class OrderNotFound(BrokerError):
    code = "order_not_found"


class ConnectionLost(BrokerError):
    code = "connection_lost"


class ResultUnknown(ConnectionLost):
    """The request reached the terminal but its result did not come back (timeout, lost link):
    the order may exist at the broker. Look it up (by comment or ticket) before deciding."""

    code = "result_unknown"


class TradingDisabled(BrokerError):
    """Nothing was sent: AutoTrading is off or the terminal cannot trade right now; retry later."""

    code = "trading_disabled"


class SpecIncomplete(BrokerError):
    """The terminal has not loaded the symbol's specification yet (e.g. a tick value of 0)."""

    code = "spec_incomplete"


class UnknownSymbol(BrokerError):
    code = "unknown_symbol"


@runtime_checkable
class Broker(Protocol):
    """What the trading loop needs from a broker; every call may raise :class:`BrokerError`."""

    async def account(self) -> AccountInfo:
        """Balance, equity (balance + floating profit), used margin; account money."""
        ...

    async def symbol_spec(self, symbol: str) -> SymbolSpec:
        """The broker's facts for ``symbol`` (digits, tick size/value, volumes, stops level)."""
        ...

    async def tick(self, symbol: str) -> Tick:
        """The current bid/ask and its time."""
        ...

    async def place_order(self, request: OrderRequest) -> OrderResult:
        """Place a limit order, or fill a market order at the current ask (buy) / bid (sell)."""
        ...

    async def modify_order(
        self, ticket: int, price: Decimal, sl: Decimal | None, tp: Decimal | None
    ) -> Order:
        """Move a PENDING order's price, stop and take-profit (None removes a level)."""
        ...

    async def modify_position(
        self, ticket: int, sl: Decimal | None, tp: Decimal | None
    ) -> Position:
        """Move an open position's stop and take-profit (None removes a level)."""
        ...

    async def cancel_order(self, ticket: int) -> None:
        """Delete a pending order; :class:`OrderNotFound` when it is no longer pending."""
        ...

    async def close_position(
        self, ticket: int, volume: Decimal | None = None, *, comment: str = ""
    ) -> Deal:
        """Close ``volume`` lots (all when None) at the market; returns the closing deal, which
        carries ``comment`` (so a close whose result was lost can be found again)."""
        ...

    async def positions(self, symbol: str | None = None) -> list[Position]:
        """Open positions, of one symbol or all."""
        ...

    async def orders(self, symbol: str | None = None) -> list[Order]:
        """Pending limit orders, of one symbol or all."""
        ...

    async def history(self, since: datetime) -> list[Deal]:
        """Deals (fills) at or after ``since``, oldest first."""
        ...

    async def order_state(self, ticket: int) -> OrderState | None:
        """The final state of an order that is no longer pending; None while the broker's
        history does not show it (yet): a fill's deal can reach history after the order left
        the pending list, so "gone and no deal" alone never means cancelled."""
        ...

    async def trading_blocked(self) -> str | None:
        """Why orders cannot be sent right now (terminal not connected, AutoTrading off), or
        None. Commands wait while this is set: nothing is placed, nothing is acked."""
        ...
