"""Value types of a backtest run: configuration, order events, trades and the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from trading.brokers.base import Side
from trading.detector import Setup, StrategyParams
from trading.metrics import Metrics

__all__ = ["BacktestConfig", "BacktestResult", "OrderEvent", "OrderEventKind", "Trade"]


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """``balance`` in account money, ``risk_pct`` percent of balance per trade, spread in
    points, commission in money per lot per side. ``start``/``end`` (aware, ``[start, end)``
    on bar open times) select the bars TRADED; earlier bars only warm up the detector.
    ``market_hours``: skip placement/revision while the market is closed (STRATEGY.md)."""

    balance: Decimal = Decimal(10_000)
    risk_pct: Decimal = Decimal(2)
    spread_points: int = 0
    commission_per_lot_money: Decimal = Decimal(0)
    leverage: int = 100
    start: datetime | None = None
    end: datetime | None = None
    params: StrategyParams = field(default_factory=StrategyParams)
    market_hours: bool = True


class OrderEventKind(StrEnum):
    PLACED = "placed"
    REVISED = "revised"
    REPLACED = "replaced"  # cancelled because a newer setup on the same side took over
    CANCELLED = "cancelled"  # setup rejected by a revision, or the end of the data
    EXPIRED = "expired"
    FILLED = "filled"
    REFUSED = "refused"  # build_order or the broker refused; no order exists
    SKIPPED = "skipped"  # market closed or setup too old: not placed / not revised


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One step in the life of a setup's order. ``setup_key`` = (side, leg-2 start); prices
    on the tick grid (None when no order exists); ``note`` = adjustments or the reason."""

    kind: OrderEventKind
    time: datetime
    side: Side
    setup_key: datetime
    ticket: int | None
    price: Decimal | None = None
    stop: Decimal | None = None
    take_profit: Decimal | None = None
    volume: Decimal | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Trade:
    """A filled order from entry to exit. Times are the open times of the entry/exit bars
    (an "end" exit: the close time of the last bar).
    ``pips = (exit - entry) * direction / pip``, ``r_multiple = (exit - entry) * direction /
    |entry - stop|`` with the stop at entry; ``profit_money`` is net of commission."""

    ticket: int
    side: Side
    setup_key: datetime
    entry_time: datetime
    entry_price: Decimal
    exit_time: datetime
    exit_price: Decimal
    exit_reason: str  # tp | sl | manual | end
    stop: Decimal
    take_profit: Decimal
    volume: Decimal
    pips: float
    r_multiple: float
    profit_money: Decimal
    commission_money: Decimal


@dataclass(frozen=True, slots=True, eq=False)
class BacktestResult:
    """Everything one run produced. ``equity_time_s``: bar CLOSE times (unix s UTC);
    ``equity``: account equity in money at each close (read-only arrays)."""

    symbol: str
    config: BacktestConfig
    bars: int
    setups: tuple[Setup, ...]
    orders: tuple[OrderEvent, ...]
    trades: tuple[Trade, ...]
    equity_time_s: NDArray[np.int64]
    equity: NDArray[np.float64]
    metrics: Metrics
