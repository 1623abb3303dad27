"""The rollups: a close through the state machine counts the signal in its own transaction, one
more close adds to its buckets only (the stored rows of the others stay as they were), the
catch-up counts history once and respects the cutoff, and counting is idempotent."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal as D

import pytest

from core.clock import ManualClock
from models.analytics import AnalyticsResult, AnalyticsRollup, RollupPeriod, RollupScope
from models.signals import CloseReason, SignalStatus
from services.analytics import rollups
from services.signals import lifecycle
from tests.analytics.seed import TP, at, closed
from tests.services.terminals import helpers as th

ALL, PUBLIC = RollupScope.ALL, RollupScope.PUBLIC
P = RollupPeriod


async def close(when: object, price: D = TP) -> int:
    view = await th.publish()
    await lifecycle.transition(view.id, SignalStatus.FILLED, price=th.ENTRY)
    done = await lifecycle.transition(
        view.id,
        SignalStatus.CLOSED,
        at=when,
        price=price,
        reason=CloseReason.TP,  # type: ignore[arg-type]
    )
    assert done.result_r is not None
    return view.id


async def stored(scope: RollupScope = ALL) -> dict[tuple[str, int], tuple[object, ...]]:
    return {
        (str(r.period), r.bucket): (r.signals, r.wins, r.losses, D(r.total_r), D(r.gross_win_r),
                                    D(r.gross_loss_r), r.updated_at)
        for r in await AnalyticsRollup.filter(scope=scope)
    }  # fmt: skip


async def test_a_close_counts_the_signal_in_every_period_of_its_transaction(
    database: str, clock: ManualClock
) -> None:
    when = at(2026, 3, 4, 9)  # a Wednesday, 09:00 UTC
    signal_id = await close(when)
    # sell from 1.07592, stop 1.07965 (risk 0.00373), exit at 1.06379: 0.01213 / 0.00373 R
    r = D("3.2520")
    result = await AnalyticsResult.get(scope=ALL, signal_id=signal_id)
    assert (result.closed_at, D(result.result_r)) == (when, r)
    day = (when.date() - rollups.EPOCH).days
    rows = await stored()
    assert set(rows) == {("day", day), ("month", 56 * 12 + 2), ("hour", 9), ("weekday", 2)}
    for values in rows.values():
        assert values[:6] == (1, 1, 0, r, r, D(0))
    assert await rollups.catch_up(ALL) == 0  # nothing left to count
    assert not await AnalyticsResult.exists(scope=PUBLIC)  # the public scope catches up later


async def test_one_more_close_adds_to_its_own_buckets_only(
    database: str, clock: ManualClock
) -> None:
    first = await close(at(2026, 3, 4, 9))
    await close(at(2026, 3, 5, 14), price=th.STOP)  # -1 R on Thursday 14:00
    before = await stored()
    counted = {r.signal_id: (r.id, r.token, r.counted_at) for r in await AnalyticsResult.all()}
    clock.advance(timedelta(hours=1))
    third = await close(at(2026, 3, 5, 9), price=th.STOP)  # another -1 R, Thursday 09:00
    after = await stored()
    # the rows of the first two signals are the same rows, not recounted
    assert {r.signal_id: (r.id, r.token, r.counted_at)
            for r in await AnalyticsResult.filter(signal_id__not=third)} == counted  # fmt: skip
    assert await AnalyticsResult.filter(signal_id=third).count() == 1
    day4, day5 = day4_plus(0), day4_plus(1)
    untouched = [("day", day4), ("hour", 14), ("weekday", 2)]
    assert all(after[k] == before[k] for k in untouched), "a bucket the close is not in changed"
    assert after[("day", day5)][:6] == (2, 0, 2, D("-2"), D(0), D(2))
    assert after[("hour", 9)][:6] == (2, 1, 1, D("2.2520"), D("3.2520"), D(1))
    assert after[("month", 56 * 12 + 2)][:6] == (3, 1, 2, D("1.2520"), D("3.2520"), D(2))
    assert after[("day", day5)][6] == clock.now() != before[("day", day5)][6]
    assert first in counted


def day4_plus(n: int) -> int:
    return (at(2026, 3, 4).date() - rollups.EPOCH).days + n


async def test_the_catch_up_counts_history_once_up_to_the_cutoff(
    database: str, clock: ManualClock
) -> None:
    old = [await closed(at(2026, 1, 5), "2"), await closed(at(2026, 1, 6), "-1")]
    await closed(at(2026, 1, 7), None)  # a manual close without a price: not a result
    recent = await closed(at(2026, 1, 9), "0.5")
    assert await rollups.catch_up(PUBLIC, at(2026, 1, 8)) == 2
    assert await rollups.catch_up(PUBLIC, at(2026, 1, 8)) == 0
    assert {r.signal_id for r in await AnalyticsResult.filter(scope=PUBLIC)} == {o.id for o in old}
    month = await AnalyticsRollup.get(scope=PUBLIC, period=P.MONTH, bucket=56 * 12)
    assert (month.signals, D(month.total_r), D(month.gross_loss_r)) == (2, D(1), D(1))
    assert await rollups.catch_up(PUBLIC, at(2026, 1, 9)) == 1  # the cutoff moved past it
    assert await AnalyticsResult.exists(scope=PUBLIC, signal_id=recent.id)
    month = await AnalyticsRollup.get(scope=PUBLIC, period=P.MONTH, bucket=56 * 12)
    assert (month.signals, D(month.total_r)) == (3, D("1.5"))
    assert not await AnalyticsRollup.exists(scope=ALL)  # scopes are separate


async def test_counting_is_idempotent_even_when_runs_race(
    database: str, clock: ManualClock
) -> None:
    rows = [await closed(at(2026, 2, d), r) for d, r in ((2, "1"), (3, "-0.5"), (4, "2"))]
    done = await asyncio.gather(*(rollups.catch_up(ALL) for _ in range(3)))
    assert sum(done) == 3  # each signal counted by exactly one of the runs
    assert await rollups.count(ALL, rows[0].id, at(2026, 2, 2), D(1)) is False
    month = await AnalyticsRollup.get(scope=ALL, period=P.MONTH, bucket=56 * 12 + 1)
    assert (month.signals, month.wins, month.losses, D(month.total_r)) == (3, 2, 1, D("2.5"))
    revision = await rollups.revision(ALL)
    assert revision.counted == 3
    await closed(at(2026, 2, 5), "1")
    await rollups.catch_up(ALL)
    assert await rollups.revision(ALL) != revision  # caches see the change


async def test_a_long_history_is_caught_up_in_batches_with_the_same_sums(
    database: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rollups, "CATCH_UP_BATCH", 4)  # 10 signals: batches of 4, 4 and 2
    rows = [
        await closed(at(2026, 1 + i % 3, 1 + i, 9 + i % 2), str(i % 4 - 1.5)) for i in range(10)
    ]
    assert await rollups.catch_up(ALL) == 10
    total = sum(D(str(i % 4 - 1.5)) for i in range(10))
    months = await AnalyticsRollup.filter(scope=ALL, period=P.MONTH)
    assert sum(m.signals for m in months) == 10 and sum(D(m.total_r) for m in months) == total
    hours = {r.bucket: r.signals for r in await AnalyticsRollup.filter(scope=ALL, period=P.HOUR)}
    assert hours == {9: 5, 10: 5}
    assert {r.signal_id for r in await AnalyticsResult.filter(scope=ALL)} == {r.id for r in rows}
