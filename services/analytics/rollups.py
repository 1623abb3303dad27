"""Rollups of the track record: each closed signal counted once per scope, its result added to
one row per period (day, month, hour of day, weekday), so a page reads sums, not every signal.

Two ways in, one effect (`count`):
- `on_close`, called by `services.signals.lifecycle.transition` inside the transaction that
  closes the signal, counts it in the `all` scope: the rollups commit with the close or not at
  all.
- `catch_up(scope, cutoff)` counts every closed signal with a result (closed at or before
  `cutoff`) that the scope has not counted yet: the `public` scope (the public page's delay:
  a signal becomes public once it closed `PERFORMANCE_DELAY_HOURS` ago) and any history closed
  before this module existed or written without `transition`. It is keyed by signal id.

Idempotence under races: `count_many` inserts the scope's `AnalyticsResult` rows with ON
CONFLICT DO NOTHING and a token of its own, and adds to the rollups only the signals whose row
that stands is its own; a concurrent counter of the same signal (another replica's catch-up)
waits on the unique key and finds the other token. The rollup rows are created empty with ON
CONFLICT DO NOTHING, then locked in one order (FOR UPDATE on PostgreSQL; SQLite serialises
writers) and added to with exact Decimals: one update per bucket touched, so a catch-up over a
long history is a few hundred statements per batch, not several per signal.

Buckets are UTC: days and months since 1970-01-01 (`RollupPeriod`), hour 0..23, weekday
Monday 0 .. Sunday 6.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from core import clock
from models.analytics import AnalyticsResult, AnalyticsRollup, RollupPeriod, RollupScope
from models.signals import Signal, SignalStatus

EPOCH = date(1970, 1, 1)
ZERO = Decimal(0)
CATCH_UP_BATCH = 500  # signals per transaction (SQLite's variable limit is far above)


@dataclass(frozen=True, slots=True)
class Bucket:
    """The sums of one bucket (R as Decimal: exact sums of 4-decimal results)."""

    period: RollupPeriod
    bucket: int
    signals: int
    wins: int
    losses: int
    total_r: Decimal
    gross_win_r: Decimal
    gross_loss_r: Decimal  # a magnitude: >= 0


@dataclass(frozen=True, slots=True)
class Revision:
    """What a scope has counted: changes whenever a signal is counted (a cache key)."""

    counted: int
    last_id: int


def buckets_of(closed_at: datetime) -> dict[RollupPeriod, int]:
    """The bucket of each period a close at `closed_at` falls in (UTC)."""
    at = closed_at.astimezone(UTC)
    return {
        RollupPeriod.DAY: (at.date() - EPOCH).days,
        RollupPeriod.MONTH: (at.year - 1970) * 12 + at.month - 1,
        RollupPeriod.HOUR: at.hour,
        RollupPeriod.WEEKDAY: at.weekday(),
    }


def day_of(bucket: int) -> date:
    return date.fromordinal(EPOCH.toordinal() + bucket)


def month_of_day(bucket: int) -> int:
    d = day_of(bucket)
    return (d.year - 1970) * 12 + d.month - 1


@dataclass(frozen=True, slots=True)
class Closed:
    """A closed signal to count: its id, close time and result."""

    signal_id: int
    closed_at: datetime
    result_r: Decimal


@dataclass(slots=True)
class _Sums:
    signals: int = 0
    wins: int = 0
    losses: int = 0
    total_r: Decimal = ZERO
    gross_win_r: Decimal = ZERO
    gross_loss_r: Decimal = ZERO

    def add(self, r: Decimal) -> None:
        self.signals += 1
        self.wins += 1 if r > 0 else 0
        self.losses += 1 if r < 0 else 0
        self.total_r += r
        self.gross_win_r += max(r, ZERO)
        self.gross_loss_r += max(-r, ZERO)


async def count(
    scope: RollupScope, signal_id: int, closed_at: datetime, result_r: Decimal
) -> bool:
    """Count one closed signal in `scope` (True) unless it already is (False)."""
    return await count_many(scope, [Closed(signal_id, closed_at, result_r)]) == 1


async def count_many(scope: RollupScope, closed: list[Closed]) -> int:
    """Count closed signals in `scope`, each unless it already is; how many were counted now.
    One transaction: an `AnalyticsResult` row per signal, then per bucket touched +signals,
    +R, +wins or losses, +R won or lost (one update per bucket, however many signals)."""
    if not closed:
        return 0
    token = uuid.uuid4().hex
    now = clock.now()
    async with in_transaction():
        await AnalyticsResult.bulk_create(
            [AnalyticsResult(scope=scope, signal_id=c.signal_id, closed_at=c.closed_at,
                             result_r=c.result_r, token=token, counted_at=now) for c in closed],
            ignore_conflicts=True,
        )  # fmt: skip
        ours = AnalyticsResult.filter(
            scope=scope, token=token, signal_id__in=[c.signal_id for c in closed]
        )  # the others were counted before, or by a concurrent run: not ours to add
        mine = {int(r["signal_id"]) for r in await ours.values("signal_id")}
        sums: dict[tuple[RollupPeriod, int], _Sums] = {}
        for c in closed:
            if c.signal_id in mine:
                for where in buckets_of(c.closed_at).items():
                    sums.setdefault(where, _Sums()).add(c.result_r)
        await AnalyticsRollup.bulk_create(
            [AnalyticsRollup(scope=scope, period=p, bucket=b, updated_at=now) for p, b in sums],
            ignore_conflicts=True,
        )  # fmt: skip
        for (period, bucket), add in sorted(sums.items()):  # one lock order: no deadlock
            await _add(scope, period, bucket, add, now)
    return len(mine)


async def _add(
    scope: RollupScope, period: RollupPeriod, bucket: int, add: _Sums, now: datetime
) -> None:
    row = await AnalyticsRollup.select_for_update().get(scope=scope, period=period, bucket=bucket)
    row.signals += add.signals
    row.wins += add.wins
    row.losses += add.losses
    row.total_r = Decimal(row.total_r) + add.total_r
    row.gross_win_r = Decimal(row.gross_win_r) + add.gross_win_r
    row.gross_loss_r = Decimal(row.gross_loss_r) + add.gross_loss_r
    row.updated_at = now
    await row.save(
        update_fields=["signals", "wins", "losses", "total_r", "gross_win_r", "gross_loss_r",
                       "updated_at"]
    )  # fmt: skip


async def on_close(signal_id: int, closed_at: datetime, result_r: Decimal | None) -> bool:
    """The close transition's hook: count the signal in the `all` scope (a close without a
    result, a manual close without a price, is not a result and is not counted)."""
    if result_r is None:
        return False
    return await count(RollupScope.ALL, signal_id, closed_at, result_r)


async def catch_up(scope: RollupScope, cutoff: datetime | None = None) -> int:
    """Count every closed signal with a result, closed at or before `cutoff` (None: any time),
    that `scope` has not counted; the number counted now. Idempotent."""
    counted = AnalyticsResult.filter(scope=scope).values("signal_id")
    query = Signal.filter(
        status=SignalStatus.CLOSED, result_r__isnull=False, closed_at__isnull=False
    ).exclude(id__in=Subquery(counted))
    if cutoff is not None:
        query = query.filter(closed_at__lte=cutoff)
    rows = await query.order_by("closed_at", "id").values_list("id", "closed_at", "result_r")
    done = 0
    for start in range(0, len(rows), CATCH_UP_BATCH):
        batch = [Closed(i, c, Decimal(r)) for i, c, r in rows[start : start + CATCH_UP_BATCH]]
        done += await count_many(scope, batch)
    return done


async def buckets(
    scope: RollupScope, period: RollupPeriod, first: int | None = None, last: int | None = None
) -> list[Bucket]:
    """The scope's rollup rows of `period` (only buckets something closed in), in bucket order,
    those from `first` to `last` (inclusive) when given."""
    query = AnalyticsRollup.filter(scope=scope, period=period)
    if first is not None:
        query = query.filter(bucket__gte=first)
    if last is not None:
        query = query.filter(bucket__lte=last)
    return [
        Bucket(period, r.bucket, r.signals, r.wins, r.losses, Decimal(r.total_r),
               Decimal(r.gross_win_r), Decimal(r.gross_loss_r))
        for r in await query.order_by("bucket")
    ]  # fmt: skip


async def revision(scope: RollupScope) -> Revision:
    """How many signals the scope has counted and the last counted row's id."""
    last = await AnalyticsResult.filter(scope=scope).order_by("-id").first()
    counted = await AnalyticsResult.filter(scope=scope).count()
    return Revision(counted, 0 if last is None else last.id)
