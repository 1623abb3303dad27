"""The Performance page: the strategy's track record from the real closed signals, and the
user's own executions against those signals.

Who sees what (the routes enforce it): the track record (figures, curves, monthly R, the CSV
and PNG exports) is for every signed-in user, free tier included: it holds only results in R
and times of signals that are over (no entry, stop or take-profit, nothing left to act on), and
it is the same record the public ledger proves. A user's executions are the paid feature's
(only paid users have terminals).

The record: every signal `closed` with a result in R (a manual close without a price has none
and is left out), in close order. Formulas are `trading.metrics`'s R functions: the equity
curve is the cumulative R, the drawdown is from its running peak (0 R counts as the first
peak), monthly R is the sum per UTC calendar month (quiet months count as 0 R), Sharpe and
Sortino are over those monthly sums annualised with sqrt(12), and Calmar is the annual R
(mean month * 12) over the maximum drawdown in R. An undefined ratio is None.
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from models.devices import Device
from models.devices import Execution as ExecutionRow
from models.signals import Signal, SignalStatus
from services.copy.sizing import slippage_points
from services.terminals import symbol_map
from services.text.i18n import translator
from services.users.profiles import UserInfo
from trading import metrics
from trading.equity_chart import EquityLabels, render_equity_png
from trading.symbols import UnknownSymbolError, get_spec

CSV_COLUMNS = ("signal_id", "symbol", "side", "published_at", "closed_at", "close_reason",
               "result_r", "cumulative_r", "drawdown_r")  # fmt: skip


@dataclass(frozen=True, slots=True)
class ClosedSignal:
    """One closed signal of the record, with the curve's value after it (no price levels)."""

    id: int
    symbol: str
    side: str
    published_at: datetime
    closed_at: datetime
    close_reason: str | None
    result_r: Decimal
    cumulative_r: float
    drawdown_r: float


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int
    r: float  # the sum of the month's results
    signals: int  # how many closed in it (0: a quiet month)


@dataclass(frozen=True, slots=True)
class Figures:
    """The record's statistics; None where a ratio is undefined (no trades, no loss, ...)."""

    signals: int
    wins: int  # R > 0
    losses: int  # R < 0 (break-even is neither)
    total_r: float
    average_r: float | None
    win_rate_pct: float | None
    profit_factor: float | None
    max_drawdown_r: float | None
    annual_r: float | None
    sharpe: float | None
    sortino: float | None
    calmar: float | None


@dataclass(frozen=True, slots=True)
class TrackRecord:
    figures: Figures
    closed: tuple[ClosedSignal, ...]  # in close order
    months: tuple[Month, ...]  # every month from the first close to the last


@dataclass(frozen=True, slots=True)
class MyExecution:
    """One fill of the user's terminal, measured against the signal it executed."""

    id: int
    signal_id: int | None
    symbol: str
    side: str
    terminal: str
    volume: Decimal
    fill_price: Decimal
    signal_entry: Decimal | None
    filled_at: datetime
    slippage_points: Decimal | None  # adverse: positive = worse than the signal's entry
    slippage_r: float | None
    latency_ms: int | None  # the signal's publication -> the fill


@dataclass(frozen=True, slots=True)
class MyExecutions:
    items: tuple[MyExecution, ...]  # newest first (by id)
    median_slippage_points: float | None
    median_slippage_r: float | None
    median_latency_ms: float | None


def _defined(value: float) -> float | None:
    return None if math.isnan(value) else value


@dataclass(frozen=True, slots=True)
class _Closed:
    row: Signal
    closed_at: datetime
    result_r: Decimal


async def _closed_rows() -> list[_Closed]:
    rows = await Signal.filter(
        status=SignalStatus.CLOSED, result_r__isnull=False, closed_at__isnull=False
    ).order_by("closed_at", "id")
    return [
        _Closed(r, r.closed_at, r.result_r) for r in rows if r.closed_at and r.result_r is not None
    ]


def _figures(r: list[float], monthly: list[float]) -> Figures:
    max_dd = metrics.max_drawdown_r(r)
    annual = metrics.annual_r(monthly)
    return Figures(
        signals=len(r),
        wins=sum(1 for x in r if x > 0),
        losses=sum(1 for x in r if x < 0),
        total_r=float(sum(r)),
        average_r=_defined(metrics.average_r(r)),
        win_rate_pct=_defined(metrics.win_rate_pct(r)),
        profit_factor=_defined(metrics.profit_factor(r)),
        max_drawdown_r=_defined(max_dd),
        annual_r=_defined(annual),
        sharpe=_defined(metrics.sharpe(monthly, metrics.MONTHS_PER_YEAR)),
        sortino=_defined(metrics.sortino(monthly, metrics.MONTHS_PER_YEAR)),
        calmar=_defined(metrics.calmar_r(annual, max_dd)),
    )


async def track_record() -> TrackRecord:
    """The strategy's record from every closed signal with a result (see the module's text)."""
    rows = await _closed_rows()
    r = [float(c.result_r) for c in rows]
    times = [int(c.closed_at.timestamp()) for c in rows]
    equity, drawdown = metrics.cumulative_r(r), metrics.drawdown_r(r)
    months, sums, counts = metrics.monthly_r(times, r)
    closed = tuple(
        ClosedSignal(
            c.row.id,
            c.row.symbol,
            c.row.side,
            c.row.published_at,
            c.closed_at,
            None if c.row.close_reason is None else str(c.row.close_reason),
            c.result_r,
            float(equity[i]),
            float(drawdown[i]),
        )  # fmt: skip
        for i, c in enumerate(rows)
    )
    month_list = tuple(
        Month(1970 + int(m) // 12, int(m) % 12 + 1, float(s), int(c))
        for m, s, c in zip(months, sums, counts, strict=True)
    )
    return TrackRecord(_figures(r, [float(s) for s in sums]), closed, month_list)


def _number(value: float) -> str:
    return f"{value:.4f}"


async def track_record_csv() -> str:
    """The closed signals as CSV (UTF-8, a header row of `CSV_COLUMNS`, ISO 8601 UTC times, R
    with 4 decimals): machine-readable, the same in every language."""
    record = await track_record()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for s in record.closed:
        writer.writerow([s.id, s.symbol, s.side, s.published_at.isoformat(),
                         s.closed_at.isoformat(), s.close_reason or "", str(s.result_r),
                         _number(s.cumulative_r), _number(s.drawdown_r)])  # fmt: skip
    return out.getvalue()


async def track_record_png(language: str | None) -> bytes:
    """The equity and drawdown chart in R as a PNG, titled in `language`."""
    record = await track_record()
    _ = translator(language)
    labels = EquityLabels(
        title=_("miniapp.performance_png_title"),
        equity=_("miniapp.performance_equity_axis"),
        drawdown=_("miniapp.performance_drawdown_axis"),
        empty=_("miniapp.performance_empty"),
    )
    times = [int(s.closed_at.timestamp()) for s in record.closed]
    equity = [s.cumulative_r for s in record.closed]
    drawdown = [s.drawdown_r for s in record.closed]
    return await asyncio.to_thread(render_equity_png, times, equity, drawdown, labels)


async def _point(device: Device, broker_symbol: str, symbol: str) -> Decimal | None:
    """The symbol's point: as the terminal reported it (the fill's own), else built in."""
    spec = await symbol_map.spec_for(device, broker_symbol)
    if spec is not None:
        return spec.point
    try:
        return get_spec(symbol).point
    except UnknownSymbolError:
        return None


def _on_grid(price: Decimal, point: Decimal | None) -> Decimal:
    return price if point is None else price.quantize(point)


Points = dict[tuple[int, str], Decimal | None]  # (device pk, broker symbol) -> point


async def _measure(
    row: ExecutionRow, device: Device, signal: Signal | None, points: Points
) -> MyExecution:
    """Slippage in points and R against the signal's entry; latency from its publication."""
    slip_points = slip_r = latency = point = None
    if signal is not None:
        key = (device.id, row.symbol)
        if key not in points:  # one spec look-up per terminal and symbol, not per fill
            points[key] = await _point(device, row.symbol, signal.symbol)
        point = points[key]
        if point:
            slip_points = slippage_points(row.side, signal.entry, row.fill_price, point)
        slip_r = _defined(metrics.slippage_r(
            row.side, float(signal.entry), float(row.fill_price), float(signal.stop)))  # fmt: skip
        latency = max(0, int((row.filled_at - signal.published_at).total_seconds() * 1000))
    return MyExecution(
        id=row.id, signal_id=row.signal_id, symbol=row.symbol, side=row.side,
        terminal=device.name, volume=row.volume, fill_price=_on_grid(row.fill_price, point),
        signal_entry=None if signal is None else _on_grid(signal.entry, point),
        filled_at=row.filled_at, slippage_points=slip_points, slippage_r=slip_r,
        latency_ms=latency,
    )  # fmt: skip


async def measure(fills: list[tuple[Device, ExecutionRow]]) -> tuple[MyExecution, ...]:
    """Each fill measured against its signal (as `my_executions` explains), in the given
    order; the analytics use it for every subscriber's fills (services.analytics.fills)."""
    ids = {row.signal_id for _, row in fills if row.signal_id is not None}
    signals = {s.id: s for s in await Signal.filter(id__in=list(ids))} if ids else {}
    grid: Points = {}
    return tuple(
        [
            await _measure(row, device, signals.get(row.signal_id or 0), grid)
            for device, row in fills
        ]
    )


async def my_executions(user: UserInfo) -> MyExecutions:
    """Every fill of the user's terminals (revoked ones too: the trades happened), newest first,
    with slippage against the signal's entry (its latest revision: the price every subscriber
    was asked for) in points and in R, latency from the signal's publication, and the medians
    (over the fills that have each measure)."""
    fills = [
        (device, row)
        for device in await Device.filter(user_id=user.id)
        for row in await ExecutionRow.filter(device_id=device.id)
    ]
    fills.sort(key=lambda f: f[1].id, reverse=True)  # ids follow the fills: the API pages by id
    items = await measure(fills)
    points = [float(i.slippage_points) for i in items if i.slippage_points is not None]
    in_r = [i.slippage_r for i in items if i.slippage_r is not None]
    latency = [float(i.latency_ms) for i in items if i.latency_ms is not None]
    return MyExecutions(
        items,
        _defined(metrics.median(points)),
        _defined(metrics.median(in_r)),
        _defined(metrics.median(latency)),
    )
