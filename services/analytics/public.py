"""The track record from closed signals: one computation for the Mini App and the public page.

A record is read from one scope of the rollups (`services.analytics.rollups`): the Mini App's
`all` (every closed signal with a result) or the public page's `public` (only those closed at
least `delay` ago). The figures come from the rollup sums (counts, total R, gross R won and
lost, R per month) and the curve from the counted signals in close order; every formula is
`trading.metrics`'s:

- equity curve: cumulative R; drawdown from its running peak, the 0 R start counting as the
  first peak; the maximum drawdown's window (the signals from the peak to the trough);
- win rate = wins / signals (R > 0 wins; break-even is neither win nor loss), profit factor =
  gross R won / gross R lost, average R = total R / signals;
- monthly R: the sum per UTC calendar month, quiet months between the first close and the last
  counting as 0 R; annual R = mean month * 12; Sharpe and Sortino over the monthly sums
  annualised with sqrt(12) (Sortino's downside deviation over all months); Calmar = annual R /
  maximum drawdown R. An undefined figure (no signal, no loss, one month) is None.

A period (`Period`: whole UTC days, both ends included) reads the day rollups in its range
(months and weekdays are sums of days) and the signals closed in it (the hours of day).
Nothing here carries personal data: signals have no owner; who created a manual signal, its
rationale text and any subscriber's execution are never read into a record.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from models.analytics import AnalyticsResult, RollupPeriod, RollupScope
from models.signals import Signal, SignalStatus
from services.analytics import rollups
from services.analytics.rollups import Bucket, Revision
from services.errors import NotFound
from trading import metrics
from trading.symbols import UnknownSymbolError, get_spec

CSV_COLUMNS = ("signal_id", "symbol", "side", "published_at", "closed_at", "close_reason",
               "result_r", "cumulative_r", "drawdown_r")  # fmt: skip
HOURS, WEEKDAYS = 24, 7
EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)


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
class Cell:
    """One bucket of a heatmap (an hour of day 0..23 or a weekday, Monday 0)."""

    bucket: int
    r: float
    signals: int


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
class Period:
    """Whole UTC days from `first` to `last`, both included (None: open-ended)."""

    first: date | None = None
    last: date | None = None

    def __post_init__(self) -> None:
        if self.first and self.last and self.first > self.last:
            msg = f"the period starts ({self.first}) after it ends ({self.last})"
            raise ValueError(msg)

    @property
    def start(self) -> datetime | None:
        return None if self.first is None else datetime.combine(self.first, time(), UTC)

    @property
    def end(self) -> datetime | None:
        """The first moment after the period."""
        if self.last is None:
            return None
        return datetime.combine(self.last + timedelta(days=1), time(), UTC)


@dataclass(frozen=True, slots=True)
class TrackRecord:
    figures: Figures
    closed: tuple[ClosedSignal, ...]  # in close order
    months: tuple[Month, ...]  # every month from the first close to the last
    hours: tuple[Cell, ...]  # 24: R by the hour of day of the close (UTC)
    weekdays: tuple[Cell, ...]  # 7: R by the weekday of the close (UTC), Monday first
    drawdown_ids: tuple[int, ...]  # the signals of the maximum drawdown, peak to trough
    cutoff: datetime | None  # signals closed after it are not in the record (the delay)
    period: Period | None
    scope: RollupScope
    revision: Revision  # changes whenever the scope counts a signal (caches)


@dataclass(frozen=True, slots=True)
class SharedSignal:
    """One closed signal as the public may see it: levels are history once it is over."""

    id: int
    symbol: str
    side: str
    digits: int
    published_at: datetime
    filled_at: datetime | None
    closed_at: datetime
    close_reason: str | None
    version: int  # how many times its levels were set (1 + revisions)
    entry: Decimal
    stop: Decimal
    take_profit: Decimal
    fill_price: Decimal | None
    exit_price: Decimal | None
    result_r: Decimal


@dataclass(frozen=True, slots=True)
class _Totals:
    signals: int = 0
    wins: int = 0
    losses: int = 0
    total_r: Decimal = Decimal(0)
    gross_win_r: Decimal = Decimal(0)
    gross_loss_r: Decimal = Decimal(0)


def _defined(value: float) -> float | None:
    return None if math.isnan(value) else value


def _totals(buckets: Iterable[Bucket]) -> _Totals:
    t = _Totals()
    for b in buckets:
        t = _Totals(t.signals + b.signals, t.wins + b.wins, t.losses + b.losses,
                    t.total_r + b.total_r, t.gross_win_r + b.gross_win_r,
                    t.gross_loss_r + b.gross_loss_r)  # fmt: skip
    return t


def _figures(t: _Totals, monthly: list[float], r: list[float]) -> Figures:
    max_dd = metrics.max_drawdown_r(r)
    annual = metrics.annual_r(monthly)
    return Figures(
        signals=t.signals,
        wins=t.wins,
        losses=t.losses,
        total_r=float(t.total_r),
        average_r=_defined(metrics.average_r_of_sum(float(t.total_r), t.signals)),
        win_rate_pct=_defined(metrics.win_rate_pct_of_counts(t.wins, t.signals)),
        profit_factor=_defined(
            metrics.profit_factor_of_sums(float(t.gross_win_r), float(t.gross_loss_r))
        ),
        max_drawdown_r=_defined(max_dd),
        annual_r=_defined(annual),
        sharpe=_defined(metrics.sharpe(monthly, metrics.MONTHS_PER_YEAR)),
        sortino=_defined(metrics.sortino(monthly, metrics.MONTHS_PER_YEAR)),
        calmar=_defined(metrics.calmar_r(annual, max_dd)),
    )


def _months(per_month: Mapping[int, tuple[Decimal, int]]) -> tuple[Month, ...]:
    """Every month from the first with a close to the last (quiet ones: 0 R, 0 signals)."""
    if not per_month:
        return ()
    first, last = min(per_month), max(per_month)
    return tuple(
        Month(1970 + m // 12, m % 12 + 1, float(per_month.get(m, (Decimal(0), 0))[0]),
              per_month.get(m, (Decimal(0), 0))[1])
        for m in range(first, last + 1)
    )  # fmt: skip


def _cells(size: int, sums: Mapping[int, tuple[Decimal, int]]) -> tuple[Cell, ...]:
    return tuple(
        Cell(b, float(sums.get(b, (Decimal(0), 0))[0]), sums.get(b, (Decimal(0), 0))[1])
        for b in range(size)
    )


def _add(into: dict[int, tuple[Decimal, int]], key: int, r: Decimal, n: int) -> None:
    total, count = into.get(key, (Decimal(0), 0))
    into[key] = (total + r, count + n)


@dataclass(frozen=True, slots=True)
class _Sums:
    totals: _Totals
    months: dict[int, tuple[Decimal, int]]
    hours: dict[int, tuple[Decimal, int]]
    weekdays: dict[int, tuple[Decimal, int]]


def _by_bucket(rows: Iterable[Bucket]) -> dict[int, tuple[Decimal, int]]:
    return {b.bucket: (b.total_r, b.signals) for b in rows}


async def _whole(scope: RollupScope) -> _Sums:
    months = await rollups.buckets(scope, RollupPeriod.MONTH)
    return _Sums(
        _totals(months),
        _by_bucket(months),
        _by_bucket(await rollups.buckets(scope, RollupPeriod.HOUR)),
        _by_bucket(await rollups.buckets(scope, RollupPeriod.WEEKDAY)),
    )


async def _within(scope: RollupScope, period: Period, closed: list[_Row]) -> _Sums:
    first = None if period.start is None else rollups.buckets_of(period.start)[RollupPeriod.DAY]
    last = (
        None if period.end is None
        else rollups.buckets_of(period.end)[RollupPeriod.DAY] - 1
    )  # fmt: skip
    days = await rollups.buckets(scope, RollupPeriod.DAY, first, last)
    months: dict[int, tuple[Decimal, int]] = {}
    weekdays: dict[int, tuple[Decimal, int]] = {}
    for d in days:
        _add(months, rollups.month_of_day(d.bucket), d.total_r, d.signals)
        _add(weekdays, (d.bucket + EPOCH_WEEKDAY) % WEEKDAYS, d.total_r, d.signals)
    hours: dict[int, tuple[Decimal, int]] = {}
    for row in closed:  # no rollup holds hours within days: the period's own signals
        _add(hours, row.closed_at.astimezone(UTC).hour, row.result_r, 1)
    return _Sums(_totals(days), months, hours, weekdays)


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    closed_at: datetime
    result_r: Decimal
    symbol: str
    side: str
    published_at: datetime
    close_reason: str | None


async def _counted(scope: RollupScope, period: Period | None) -> list[_Row]:
    query = AnalyticsResult.filter(scope=scope)
    if period is not None and period.start is not None:
        query = query.filter(closed_at__gte=period.start)
    if period is not None and period.end is not None:
        query = query.filter(closed_at__lt=period.end)
    rows = await query.order_by("closed_at", "signal_id").values_list(
        "signal_id", "closed_at", "result_r", "signal__symbol", "signal__side",
        "signal__published_at", "signal__close_reason",
    )  # fmt: skip
    return [
        _Row(i, c, Decimal(r), s, side, p, None if reason is None else str(reason))
        for i, c, r, s, side, p, reason in rows
    ]


async def track_record(
    scope: RollupScope = RollupScope.ALL,
    *,
    cutoff: datetime | None = None,
    period: Period | None = None,
) -> TrackRecord:
    """The record of `scope` (see the module's text), counting first any closed signal the
    scope has not counted yet (closed at or before `cutoff`), then of `period` if given."""
    await rollups.catch_up(scope, cutoff)
    revision = await rollups.revision(scope)
    rows = await _counted(scope, period)
    sums = await _whole(scope) if period is None else await _within(scope, period, rows)
    r = [float(x.result_r) for x in rows]
    equity, drawdown = metrics.cumulative_r(r), metrics.drawdown_r(r)
    closed = tuple(
        ClosedSignal(x.id, x.symbol, x.side, x.published_at, x.closed_at, x.close_reason,
                     x.result_r, float(equity[i]), float(drawdown[i]))
        for i, x in enumerate(rows)
    )  # fmt: skip
    months = _months(sums.months)
    window = metrics.max_drawdown_window_r(r)
    drawdown_ids = () if window is None else tuple(x.id for x in rows[window[0] : window[1] + 1])
    return TrackRecord(
        figures=_figures(sums.totals, [m.r for m in months], r),
        closed=closed,
        months=months,
        hours=_cells(HOURS, sums.hours),
        weekdays=_cells(WEEKDAYS, sums.weekdays),
        drawdown_ids=drawdown_ids,
        cutoff=cutoff,
        period=period,
        scope=scope,
        revision=revision,
    )


def public_cutoff(now: datetime, delay: timedelta) -> datetime:
    """The last close time the public page shows: `delay` before `now`."""
    return now - delay


async def public_record(
    now: datetime, delay: timedelta, period: Period | None = None
) -> TrackRecord:
    """The public page's record: signals closed at least `delay` before `now`."""
    return await track_record(RollupScope.PUBLIC, cutoff=public_cutoff(now, delay), period=period)


def _digits(symbol: str) -> int:
    try:
        return get_spec(symbol).digits
    except UnknownSymbolError:
        return 5


async def public_signal(signal_id: int, now: datetime, delay: timedelta) -> SharedSignal:
    """One closed signal of the public record (its levels, times and result); NotFound for a
    signal that is not in it (open, without a result, closed within the delay, unknown)."""
    await rollups.catch_up(RollupScope.PUBLIC, public_cutoff(now, delay))
    counted = await AnalyticsResult.exists(scope=RollupScope.PUBLIC, signal_id=signal_id)
    row = await Signal.get_or_none(id=signal_id, status=SignalStatus.CLOSED) if counted else None
    if row is None or row.closed_at is None or row.result_r is None:
        raise NotFound("error.performance_signal", id=signal_id)
    return SharedSignal(
        id=row.id, symbol=row.symbol, side=row.side, digits=_digits(row.symbol),
        published_at=row.published_at, filled_at=row.filled_at, closed_at=row.closed_at,
        close_reason=None if row.close_reason is None else str(row.close_reason),
        version=row.version, entry=row.entry, stop=row.stop, take_profit=row.take_profit,
        fill_price=row.fill_price, exit_price=row.exit_price, result_r=row.result_r,
    )  # fmt: skip


def _number(value: float) -> str:
    return f"{value:.4f}"


def closed_rows(record: TrackRecord) -> list[dict[str, str | int]]:
    """The closed signals as flat rows of `CSV_COLUMNS` (ISO 8601 UTC times, R with 4
    decimals): machine-readable, the same in every language."""
    return [
        {
            "signal_id": s.id,
            "symbol": s.symbol,
            "side": s.side,
            "published_at": s.published_at.astimezone(UTC).isoformat(),
            "closed_at": s.closed_at.astimezone(UTC).isoformat(),
            "close_reason": s.close_reason or "",
            "result_r": f"{s.result_r:.4f}",
            "cumulative_r": _number(s.cumulative_r),
            "drawdown_r": _number(s.drawdown_r),
        }
        for s in record.closed
    ]


def closed_csv(
    record: TrackRecord,
    extra_columns: tuple[str, ...] = (),
    extra: Mapping[int, Mapping[str, str]] | None = None,
) -> str:
    """`closed_rows` as CSV (UTF-8, a header row of `CSV_COLUMNS`, CRLF line ends), then
    `extra_columns` of each signal from `extra` by signal id (a missing one: empty)."""
    out = io.StringIO()
    columns = (*CSV_COLUMNS, *extra_columns)
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n", restval="")
    writer.writeheader()
    more = extra or {}
    for row in closed_rows(record):
        added = more.get(int(row["signal_id"]), {})
        writer.writerow({**row, **{c: added.get(c, "") for c in extra_columns}})
    return out.getvalue()
