"""Validated shapes of what terminals send and receive (the EA protocol, /ea/v1).

Parsing and validation happen in the HTTP layer (ea/); services receive these frozen values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from models.devices import CommandStatus


@dataclass(frozen=True, slots=True)
class WireCommand:
    """A command as the terminal receives it (GET /ea/v1/commands)."""

    id: str
    type: str  # open | modify | cancel | close
    signal_id: int | None
    symbol: str  # the BROKER's symbol name (suffix mapping applied)
    side: str  # buy | sell
    order_type: str  # limit | market
    price: Decimal | None
    sl: Decimal | None
    tp: Decimal | None
    volume: Decimal | None
    expires_at: datetime | None
    ticket: int | None
    comment: str


@dataclass(frozen=True, slots=True)
class AckIn:
    command_id: str
    status: CommandStatus
    ticket: int | None
    price: Decimal | None
    volume: Decimal | None
    time: datetime | None
    error: str | None
    spread_points: int | None = None  # a fill's spread (SYMBOL_SPREAD), when the EA reports it


@dataclass(frozen=True, slots=True)
class PositionIn:
    ticket: int
    symbol: str
    side: str
    volume: Decimal
    open_price: Decimal
    sl: Decimal | None
    tp: Decimal | None
    profit: Decimal
    comment: str


@dataclass(frozen=True, slots=True)
class AccountReport:
    balance: Decimal
    equity: Decimal
    margin: Decimal
    currency: str
    positions: tuple[PositionIn, ...]
    broker: str | None = None  # the account's company (ACCOUNT_COMPANY), when reported
    quotes: tuple[QuoteIn, ...] = ()  # bid/ask of the symbols the terminal trades


@dataclass(frozen=True, slots=True)
class QuoteIn:
    """A terminal's current bid and ask of one symbol (0 < bid <= ask)."""

    symbol: str  # broker name; mapped to ours by the device's symbol map
    bid: Decimal
    ask: Decimal


@dataclass(frozen=True, slots=True)
class SymbolReport:
    name: str
    digits: int
    point: Decimal
    tick_size: Decimal
    tick_value: Decimal
    contract_size: Decimal
    volume_min: Decimal
    volume_max: Decimal
    volume_step: Decimal
    stops_level: int


@dataclass(frozen=True, slots=True)
class SymbolRefusal:
    """A reported symbol that was refused: `path` locates it in the report
    (``symbols[2].tick_size``), `field` is the spec field at fault ("spec" when the entry is
    not even an object), `detail` says what a sane value is. `name` is None when the entry
    carried no usable name."""

    name: str | None
    path: str
    field: str
    detail: str


@dataclass(frozen=True, slots=True)
class BarIn:
    symbol: str  # broker name; mapped to ours by the device's symbol map
    time: datetime  # bar open time, UTC
    open: float
    high: float
    low: float
    close: float
    volume: float
