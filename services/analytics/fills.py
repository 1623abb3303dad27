"""Real fills next to signals: for each closed signal, how subscribers' terminals executed it.

The figures are aggregates over every terminal's fill of the signal (`Execution` rows, each
measured by `services.miniapp.performance.measure`: adverse slippage against the signal's
entry in points of the terminal's symbol and in R via `trading.metrics.slippage_r`, latency
from the signal's publication to the fill), medians by `trading.metrics.median` over the fills
that have the measure, and the spread at the fill in points as the EA reported it
(`Execution.spread_points`). Each summary also breaks the fills down by the terminals' broker
(`services.analytics.brokers`: a broker is named only with at least three terminals of three
subscribers; the rest are one "other" group). They carry no personal data: no user, terminal
name, ticket, volume or fill price, and no broker of fewer than three subscribers, only counts
and medians, so the public page may show them. `period_by_broker` gives the same breakdown over
every fill of a set of signals (the page's period).

Only closed signals are summarised: a live signal's fills say nothing public yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from models.devices import Device
from models.devices import Execution as ExecutionRow
from models.signals import Signal, SignalStatus
from services.analytics.brokers import BrokerSummary, FillFacts, by_broker, median_of
from services.miniapp.performance import measure


@dataclass(frozen=True, slots=True)
class ExecutionSummary:
    """How the subscribers' terminals executed one closed signal (None: no fill had it)."""

    signal_id: int
    terminals: int  # distinct terminals with a fill of it
    fills: int
    median_slippage_points: float | None  # > 0: worse than the signal's entry
    median_slippage_r: float | None
    median_latency_ms: float | None  # the signal's publication -> the fill
    median_spread_points: float | None  # the symbol's spread at the fill, as the EA reported it
    brokers: tuple[BrokerSummary, ...]  # by the terminals' broker (see services.analytics.brokers)


@dataclass(frozen=True, slots=True)
class MeasuredFill:
    """One subscriber's fill of a closed signal, measured (never shown as such)."""

    signal_id: int
    facts: FillFacts
    latency_ms: int | None


def summarise(signal_id: int, fills: list[MeasuredFill]) -> ExecutionSummary:
    """The summary of one signal from its measured fills."""
    facts = [f.facts for f in fills]
    return ExecutionSummary(
        signal_id=signal_id,
        terminals=len({f.terminal for f in facts}),
        fills=len(fills),
        median_slippage_points=median_of(f.slippage_points for f in facts),
        median_slippage_r=median_of(f.slippage_r for f in facts),
        median_latency_ms=median_of(f.latency_ms for f in fills),
        median_spread_points=median_of(f.spread_points for f in facts),
        brokers=by_broker(facts),
    )


async def closed_ids(ids: list[int]) -> list[int]:
    """Those of `ids` that are closed signals, in id order."""
    # by primary key alone, the status checked here: with it in the WHERE of a long IN list,
    # SQLite's planner walks the status index instead
    rows = await Signal.filter(id__in=ids).values_list("id", "status")
    return sorted(int(i) for i, status in rows if status == SignalStatus.CLOSED)


async def measured_fills(signal_ids: Iterable[int]) -> dict[int, list[MeasuredFill]]:
    """Every fill of the given CLOSED signals, measured, with its terminal, owner and broker,
    grouped by signal (signals without a fill, or not closed, are absent)."""
    wanted = list(set(signal_ids))
    return await _measured(await closed_ids(wanted) if wanted else [])


async def _measured(closed: list[int]) -> dict[int, list[MeasuredFill]]:
    """`measured_fills` of ids known to be closed signals."""
    if not closed:
        return {}
    rows = await ExecutionRow.filter(signal_id__in=closed).order_by("id")
    devices = {d.id: d for d in await Device.filter(id__in=list({r.device_id for r in rows}))}  # type: ignore[attr-defined]
    pairs = [(devices[r.device_id], r) for r in rows]  # type: ignore[attr-defined]
    grouped: dict[int, list[MeasuredFill]] = {}
    for (device, row), item in zip(pairs, await measure(pairs), strict=True):
        if item.signal_id is None:
            continue
        facts = FillFacts(
            terminal=device.id, owner=device.user_id, broker=device.broker,  # type: ignore[attr-defined]
            spread_points=row.spread_points,
            slippage_points=None if item.slippage_points is None else float(item.slippage_points),
            slippage_r=item.slippage_r,
        )  # fmt: skip
        grouped.setdefault(item.signal_id, []).append(
            MeasuredFill(item.signal_id, facts, item.latency_ms)
        )
    return grouped


async def signal_execution_summary(signal_ids: Iterable[int]) -> dict[int, ExecutionSummary]:
    """One `ExecutionSummary` per requested signal that is closed (0 terminals and no medians
    when nobody's terminal filled it); not-closed or unknown ids are left out."""
    ids = list(set(signal_ids))
    if not ids:
        return {}
    closed = await closed_ids(ids)
    grouped = await _measured(closed)  # checked closed just now
    return {i: summarise(i, grouped.get(i, [])) for i in closed}


async def period_by_broker(signal_ids: Iterable[int]) -> tuple[BrokerSummary, ...]:
    """Every fill of the given closed signals (a period's) by the terminals' broker, with the
    same rule as one signal's breakdown counted over the whole set: a broker is named when
    at least three subscribers' terminals filled any of these signals through it."""
    grouped = await measured_fills(signal_ids)
    return by_broker(f.facts for fills in grouped.values() for f in fills)
