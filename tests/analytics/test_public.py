"""The track record read from the rollups equals `trading.metrics` over the seeded results, for
the whole record and for a period; the public record hides what closed within the delay."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from models.analytics import RollupScope
from services.analytics import public
from services.analytics.public import Period
from services.errors import NotFound
from tests.analytics.seed import HISTORY, at, closed, defined, expected, seed_history, still_open

FIGURES = ("signals", "wins", "losses", "total_r", "average_r", "win_rate_pct",
           "profit_factor", "max_drawdown_r", "annual_r", "sharpe", "sortino", "calmar")  # fmt: skip


def assert_figures(figures: public.Figures, want: object) -> None:
    for name in FIGURES:
        got, exp = getattr(figures, name), getattr(want, name)
        exp = defined(exp) if isinstance(exp, float) else exp
        assert got == (exp if exp is None else pytest.approx(exp, rel=1e-9, abs=1e-12)), name


async def test_the_whole_record_equals_the_metrics_of_the_seeded_results(database: str) -> None:
    rows = await seed_history()
    await closed(at(2026, 2, 20), None)  # no result: not in the record
    await still_open(at(2026, 5, 12))
    record = await public.track_record()
    want = expected()
    assert_figures(record.figures, want)
    assert [(m.year, m.month, pytest.approx(m.r), m.signals) for m in record.months] == want.months
    assert [c.cumulative_r for c in record.closed] == pytest.approx(want.equity)
    assert [c.id for c in record.closed] == [r.id for r in rows]
    # hours: 09:00 holds 2 - 1 + 0 - 1 - 0.25 = -0.25 over 5 closes; 14:00 -1 - 1 + 1.5
    assert (record.hours[9].r, record.hours[9].signals) == (pytest.approx(-0.25), 5)
    assert (record.hours[14].r, record.hours[14].signals) == (pytest.approx(-0.5), 3)
    assert sum(c.signals for c in record.hours) == 10 and len(record.hours) == 24
    # weekdays: Monday (Jan 5, Feb 2, Mar 30, May 11) 2 - 1 + 1.5 - 0.25
    assert (record.weekdays[0].r, record.weekdays[0].signals) == (pytest.approx(2.25), 4)
    assert (record.weekdays[5].r, record.weekdays[5].signals) == (0.0, 1)  # the break-even
    # equity 2 1 1.5 .5 3.752 3.752 2.752 1.752 3.252 3.002: the peak 3.752 after the 5th (and
    # 6th, break-even), the trough 1.752 after the 8th: the drawdown is signals 7 and 8
    assert record.drawdown_ids == (rows[6].id, rows[7].id)
    assert record.figures.max_drawdown_r == pytest.approx(2.0)


async def test_a_period_is_the_metrics_of_its_own_signals(database: str) -> None:
    await seed_history()
    period = Period(date(2026, 2, 1), date(2026, 3, 4))  # Feb 2 .. Mar 4 (both days included)
    record = await public.track_record(period=period)
    inside = tuple(h for h in HISTORY if date(2026, 2, 1) <= h[0].date() <= date(2026, 3, 4))
    assert len(inside) == 5
    assert_figures(record.figures, expected(inside))
    assert [(m.year, m.month) for m in record.months] == [(2026, 2), (2026, 3)]
    assert record.hours[22].signals == 1 and record.weekdays[4].r == pytest.approx(3.252)
    with pytest.raises(ValueError, match="starts"):
        Period(date(2026, 3, 1), date(2026, 2, 1))


async def test_the_public_record_hides_what_closed_within_the_delay(database: str) -> None:
    rows = await seed_history()
    now = at(2026, 5, 12, 8)  # 23 hours after the last close (May 11, 09:00)
    record = await public.public_record(now, timedelta(hours=24))
    assert [c.id for c in record.closed] == [r.id for r in rows[:-1]]
    assert_figures(record.figures, expected(HISTORY[:-1]))
    assert record.cutoff == now - timedelta(hours=24)
    with pytest.raises(NotFound):
        await public.public_signal(rows[-1].id, now, timedelta(hours=24))
    shared = await public.public_signal(rows[0].id, now, timedelta(hours=24))
    assert (shared.result_r, shared.entry, shared.close_reason) == (D(2), D("1.07592"), "tp")
    later = await public.public_record(now + timedelta(hours=1), timedelta(hours=24))
    assert len(later.closed) == len(rows)  # an hour later it is 24 hours old: shown
    assert_figures(later.figures, expected())
    # the Mini App's scope has no delay and counts the same figures
    assert_figures((await public.track_record(RollupScope.ALL)).figures, expected())


async def test_an_open_or_unknown_signal_is_not_shared(database: str) -> None:
    row = await still_open(at(2026, 1, 1))
    for signal_id in (row.id, 999_999):
        with pytest.raises(NotFound):
            await public.public_signal(signal_id, at(2027, 1, 1), timedelta(hours=24))
