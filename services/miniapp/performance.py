"""The Performance page: the strategy's track record from the real closed signals, and the
user's own executions against those signals.

Who sees what (the routes enforce it): the track record (figures, curves, monthly R, the CSV
and PNG exports) is for every signed-in user, free tier included: it holds only results in R
and times of signals that are over (no entry, stop or take-profit, nothing left to act on), and
it is the same record the public ledger proves. A user's executions are the paid feature's
(only paid users have terminals).

The record (figures, curve, months) is `services.analytics.public.track_record` over every
signal closed with a result (a manual close without a price has none and is left out): the same
computation, from the same rollups, as the public /performance page, which only adds its delay.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from models.analytics import RollupScope
from models.devices import Device
from models.devices import Execution as ExecutionRow
from models.signals import Signal
from services.analytics import public as analytics
from services.analytics.public import TrackRecord
from services.copy.sizing import slippage_points
from services.terminals import symbol_map
from services.text.i18n import translator
from services.users.profiles import UserInfo
from trading import metrics
from trading.equity_chart import EquityLabels, render_equity_png
from trading.symbols import UnknownSymbolError, get_spec


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


async def track_record() -> TrackRecord:
    """The strategy's record from every closed signal with a result (`services.analytics`:
    the same computation as the public page's, without its delay)."""
    return await analytics.track_record(RollupScope.ALL)


async def track_record_csv() -> str:
    """The closed signals as CSV (`services.analytics.public.closed_csv`)."""
    return analytics.closed_csv(await track_record())


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
