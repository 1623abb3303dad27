"""Closed signals seeded as rows (history written before the rollups existed, or by a close that
did not go through `transition`), and the figures `trading.metrics` computes from them directly."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from itertools import count

from models.signals import CloseReason, Signal, SignalSource, SignalStatus
from trading import metrics

_keys = count(1)
ENTRY, STOP, TP = D("1.07592"), D("1.07965"), D("1.06379")


async def closed(at: datetime, r: str | None, *, symbol: str = "EURUSD", side: str = "sell",
                 created_by: int | None = None, rationale: str = "") -> Signal:  # fmt: skip
    """A signal closed at `at` with result `r` (None: a manual close without a price)."""
    published = at - timedelta(hours=5)
    return await Signal.create(
        setup_key=f"seed:{next(_keys)}", symbol=symbol, side=side, entry=ENTRY, stop=STOP,
        take_profit=TP, status=SignalStatus.CLOSED, published_at=published,
        expires_at=published + timedelta(hours=100), filled_at=published + timedelta(hours=1),
        fill_price=ENTRY, closed_at=at, exit_price=TP if r and not r.startswith("-") else STOP,
        close_reason=CloseReason.MANUAL if r is None
        else CloseReason.TP if not r.startswith("-") else CloseReason.SL,
        result_r=None if r is None else D(r),
        source=SignalSource.MANUAL if created_by else SignalSource.STRATEGY,
        created_by=created_by, rationale=rationale,
    )  # fmt: skip


async def still_open(at: datetime) -> Signal:
    return await Signal.create(
        setup_key=f"seed:{next(_keys)}", symbol="XAUUSD", side="buy", entry=D("2000"),
        stop=D("1990"), take_profit=D("2020"), status=SignalStatus.FILLED, published_at=at,
        expires_at=at + timedelta(hours=100), filled_at=at, fill_price=D("2000"),
    )  # fmt: skip


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


# (close time, R): Jan..May 2026 over several hours and weekdays; one quiet month (April)
HISTORY: tuple[tuple[datetime, str], ...] = (
    (at(2026, 1, 5, 9), "2"),  # Monday
    (at(2026, 1, 7, 14), "-1"),  # Wednesday
    (at(2026, 1, 7, 16), "0.5"),
    (at(2026, 2, 2, 9), "-1"),  # Monday
    (at(2026, 2, 13, 22), "3.2520"),  # Friday
    (at(2026, 2, 14, 9), "0"),  # Saturday: break-even
    (at(2026, 3, 3, 14), "-1"),
    (at(2026, 3, 4, 9), "-1"),
    (at(2026, 3, 30, 14), "1.5"),
    (at(2026, 5, 11, 9), "-0.25"),
)


async def seed_history() -> list[Signal]:
    return [await closed(t, r) for t, r in HISTORY]


@dataclass(frozen=True)
class Expected:
    signals: int
    wins: int
    losses: int
    total_r: float
    average_r: float
    win_rate_pct: float
    profit_factor: float
    max_drawdown_r: float
    annual_r: float
    sharpe: float
    sortino: float
    calmar: float
    months: list[tuple[int, int, float, int]]
    equity: list[float]


def expected(history: tuple[tuple[datetime, str], ...] = HISTORY) -> Expected:
    """The figures straight from `trading.metrics`' list functions over the seeded results."""
    ordered = sorted(history, key=lambda h: h[0])
    r = [float(x) for _, x in ordered]
    months, sums, counts = metrics.monthly_r([int(t.timestamp()) for t, _ in ordered], r)
    monthly = [float(s) for s in sums]
    annual = metrics.annual_r(monthly)
    max_dd = metrics.max_drawdown_r(r)
    return Expected(
        signals=len(r), wins=sum(x > 0 for x in r), losses=sum(x < 0 for x in r),
        total_r=sum(r), average_r=metrics.average_r(r), win_rate_pct=metrics.win_rate_pct(r),
        profit_factor=metrics.profit_factor(r), max_drawdown_r=max_dd, annual_r=annual,
        sharpe=metrics.sharpe(monthly, 12), sortino=metrics.sortino(monthly, 12),
        calmar=metrics.calmar_r(annual, max_dd),
        months=[(1970 + int(m) // 12, int(m) % 12 + 1, float(s), int(c))
                for m, s, c in zip(months, sums, counts, strict=True)],
        equity=[float(x) for x in metrics.cumulative_r(r)],
    )  # fmt: skip


def defined(value: float) -> float | None:
    return None if math.isnan(value) else value
