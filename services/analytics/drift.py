"""The owner's drift report: does the live strategy still behave like its backtest?

For a period (`services.analytics.period`; the weekly job: the last ISO week):

- *backtest*: `trading.backtest.run_backtest` (the live code path, the live loop's default
  `BacktestConfig`) over the stored market bars of every symbol that has them
  (`market_data.candles_before` the period's end: the bars before the period only warm the
  detector up), trading ``[start, end)``; its trades' R multiples (a trade still open at the
  end of the data, exit "end", has no result yet and is left out);
- *live*: the signals closed in the period with a result (`mystats.period_signals`), their
  ``result_r``;
- *fills*: every subscriber's closed fill of those signals, `trading.metrics.realised_r`.

The range: `trading.metrics.bootstrap_mean_range` of the backtest trades for a run of as many
trades as there were live signals (2,000 resamples, seed 13, the 5th and 95th percentiles).
The live mean R below the range's low end is an alert ("below"), above its high end a note
("above": live better than the backtest is drift too); no backtest trade or no live signal:
no verdict ("unknown").
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Literal

from models.devices import Execution as ExecutionRow
from models.signals import MarketBar
from models.users import Role
from services.analytics.mystats import period_signals
from services.analytics.period import Period
from services.errors import PermissionDenied
from services.signals import market_data
from services.users.profiles import UserInfo
from trading import metrics
from trading.backtest import BacktestConfig, run_backtest
from trading.candles import Candles
from trading.symbols import UnknownSymbolError, get_spec

SEED = 13
RESAMPLES = 2000
LOW_PCT, HIGH_PCT = 5.0, 95.0
Verdict = Literal["below", "inside", "above", "unknown"]


@dataclass(frozen=True, slots=True)
class SymbolRun:
    """One symbol's backtest over the period."""

    symbol: str
    bars: int  # bars traded in the period
    trades: int  # closed trades
    mean_r: float | None


@dataclass(frozen=True, slots=True)
class DriftReport:
    period: Period
    runs: tuple[SymbolRun, ...]  # symbols with stored bars in the period, by name
    backtest_trades: int
    backtest_mean_r: float | None
    live_signals: int
    live_mean_r: float | None
    live_total_r: float
    fills: int  # subscribers' closed fills with a result
    fills_mean_r: float | None
    range_low_r: float | None  # the bootstrap range of a run of `live_signals` trades
    range_high_r: float | None
    verdict: Verdict

    @property
    def alert(self) -> bool:
        """Live results outside the backtest's range."""
        return self.verdict in ("below", "above")


def _defined(value: float) -> float | None:
    return None if math.isnan(value) else value


def _closed_trades_r(candles: Candles, period: Period) -> tuple[int, list[float]]:
    """The backtest of `candles` trading the period: (bars traded, closed trades' R)."""
    spec = get_spec(candles.symbol)
    config = BacktestConfig(start=period.start, end=period.end)
    try:
        result = run_backtest(candles, spec, config)
    except ValueError:  # no bar inside the period
        return 0, []
    return result.bars, [t.r_multiple for t in result.trades if t.exit_reason != "end"]


async def backtest_runs(period: Period) -> tuple[tuple[SymbolRun, ...], list[float]]:
    """Each stored symbol's backtest over the period (run in a worker thread: a few
    thousand bars take a second) and every closed trade's R."""
    names = sorted(
        {str(n) for n in await MarketBar.all().distinct().values_list("symbol", flat=True)}
    )
    runs, every = [], []
    for name in names:
        try:
            get_spec(name)
        except UnknownSymbolError:
            continue
        candles = await market_data.candles_before(name, period.end)
        if candles is None:
            continue
        bars, trades = await asyncio.to_thread(_closed_trades_r, candles, period)
        if bars == 0:
            continue
        runs.append(SymbolRun(name, bars, len(trades), _defined(metrics.average_r(trades))))
        every += trades
    return tuple(runs), every


async def _fill_results(
    signal_ids: list[int], stops: dict[int, tuple[float, float]]
) -> list[float]:
    if not signal_ids:
        return []
    out = []
    rows = await ExecutionRow.filter(
        signal_id__in=signal_ids, closed_at__isnull=False, close_price__isnull=False
    )
    for row in rows:
        entry, stop = stops[row.signal_id or 0]
        if row.side in ("buy", "sell") and row.close_price is not None:
            r = metrics.realised_r(
                row.side, float(row.fill_price), float(row.close_price), entry, stop
            )
            if not math.isnan(r):
                out.append(r)
    return out


def verdict(live_mean: float | None, low: float | None, high: float | None) -> Verdict:
    if live_mean is None or low is None or high is None:
        return "unknown"
    if live_mean < low:
        return "below"
    if live_mean > high:
        return "above"
    return "inside"


async def drift(period: Period) -> DriftReport:
    """The report for `period` (see the module's text)."""
    runs, backtest = await backtest_runs(period)
    signals = await period_signals(period)
    live = [float(s.result_r) for s in signals if s.result_r is not None]
    stops = {s.id: (float(s.entry), float(s.stop)) for s in signals}
    fills = await _fill_results(list(stops), stops)
    low, high = metrics.bootstrap_mean_range(
        backtest, len(live), low_pct=LOW_PCT, high_pct=HIGH_PCT, resamples=RESAMPLES, seed=SEED
    ) if backtest and live else (math.nan, math.nan)  # fmt: skip
    live_mean = _defined(metrics.average_r(live))
    return DriftReport(
        period=period, runs=runs, backtest_trades=len(backtest),
        backtest_mean_r=_defined(metrics.average_r(backtest)), live_signals=len(live),
        live_mean_r=live_mean, live_total_r=float(sum(live)), fills=len(fills),
        fills_mean_r=_defined(metrics.average_r(fills)), range_low_r=_defined(low),
        range_high_r=_defined(high), verdict=verdict(live_mean, _defined(low), _defined(high)),
    )  # fmt: skip


async def drift_for(actor: UserInfo, period: Period) -> DriftReport:
    """`drift` for the owner only: anyone else gets PermissionDenied (checked here too, not
    only by the chat's role filter)."""
    if actor.role is not Role.OWNER:
        raise PermissionDenied("rbac.denied")
    return await drift(period)
