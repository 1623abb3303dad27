"""Real fills next to signals: for each closed signal, how subscribers' terminals executed it.

The figures are aggregates over every terminal's fill of the signal (`Execution` rows, each
measured by `services.miniapp.performance.measure`: adverse slippage against the signal's
entry in points of the terminal's symbol and in R via `trading.metrics.slippage_r`, latency
from the signal's publication to the fill), medians by `trading.metrics.median` over the fills
that have the measure. They carry no personal data: no user, terminal name, ticket, volume or
fill price, only counts and medians, so the public page may show them.

Only closed signals are summarised: a live signal's fills say nothing public yet.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from models.devices import Device
from models.devices import Execution as ExecutionRow
from models.signals import Signal, SignalStatus
from services.miniapp.performance import MyExecution, measure
from trading import metrics


@dataclass(frozen=True, slots=True)
class ExecutionSummary:
    """How the subscribers' terminals executed one closed signal (None: no fill had it)."""

    signal_id: int
    terminals: int  # distinct terminals with a fill of it
    fills: int
    median_slippage_points: float | None  # > 0: worse than the signal's entry
    median_slippage_r: float | None
    median_latency_ms: float | None  # the signal's publication -> the fill


def _defined(value: float) -> float | None:
    return None if math.isnan(value) else value


def summarise(signal_id: int, fills: list[tuple[int, MyExecution]]) -> ExecutionSummary:
    """The summary of one signal from its measured fills, each with its terminal's key."""
    measured = [m for _, m in fills]
    points = [float(m.slippage_points) for m in measured if m.slippage_points is not None]
    in_r = [m.slippage_r for m in measured if m.slippage_r is not None]
    latency = [float(m.latency_ms) for m in measured if m.latency_ms is not None]
    return ExecutionSummary(
        signal_id=signal_id,
        terminals=len({device for device, _ in fills}),
        fills=len(measured),
        median_slippage_points=_defined(metrics.median(points)),
        median_slippage_r=_defined(metrics.median(in_r)),
        median_latency_ms=_defined(metrics.median(latency)),
    )


async def closed_ids(ids: list[int]) -> list[int]:
    """Those of `ids` that are closed signals, in id order."""
    rows = await Signal.filter(id__in=ids, status=SignalStatus.CLOSED).only("id").order_by("id")
    return [r.id for r in rows]


async def measured_fills(signal_ids: Iterable[int]) -> dict[int, list[tuple[int, MyExecution]]]:
    """Every fill of the given CLOSED signals, measured, with its terminal's primary key,
    grouped by signal (signals without a fill, or not closed, are absent)."""
    wanted = list(set(signal_ids))
    if not wanted:
        return {}
    closed = await closed_ids(wanted)
    if not closed:
        return {}
    rows = await ExecutionRow.filter(signal_id__in=closed).order_by("id")
    devices = {d.id: d for d in await Device.filter(id__in=list({r.device_id for r in rows}))}  # type: ignore[attr-defined]
    pairs = [(devices[r.device_id], r) for r in rows]  # type: ignore[attr-defined]
    grouped: dict[int, list[tuple[int, MyExecution]]] = {}
    for (device, _), item in zip(pairs, await measure(pairs), strict=True):
        if item.signal_id is not None:
            grouped.setdefault(item.signal_id, []).append((device.id, item))
    return grouped


async def signal_execution_summary(signal_ids: Iterable[int]) -> dict[int, ExecutionSummary]:
    """One `ExecutionSummary` per requested signal that is closed (0 terminals and no medians
    when nobody's terminal filled it); not-closed or unknown ids are left out."""
    ids = list(set(signal_ids))
    if not ids:
        return {}
    closed = await closed_ids(ids)
    grouped = await measured_fills(closed)
    return {i: summarise(i, grouped.get(i, [])) for i in closed}
