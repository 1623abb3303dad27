"""The owner's drift report: backtest over the stored bars vs live signals vs fills, the
bootstrap range and its alert, /drift (owner only, checked on the server) and the weekly
report through the outbox to the emulator, once per week."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.clock import ManualClock
from jobs.drift_jobs import drift_job, schedule_drift
from jobs.ea_jobs import build_scheduler
from models.notifications import Notification
from models.signals import MarketBar
from models.users import Role
from services.analytics import drift, drift_weekly
from services.analytics.period import Period, month
from services.errors import PermissionDenied
from tests.analytics import fills_seed as seed
from tests.analytics.conftest import Chat
from tests.jobs.helpers import bot_messages, drained, running
from tests.tgemu.helpers import TOKEN, make_bot
from tests.waiting import until
from tgemu import EmulatorServer
from trading.backtest import BacktestConfig, run_backtest
from trading.candles import Candles, load_csv
from trading.metrics import bootstrap_mean_range
from trading.symbols import get_spec

DATA = Path(__file__).resolve().parents[2] / "data" / "samples" / "EURUSD_H1.csv"
STORED_FROM = datetime(2017, 5, 15, tzinfo=UTC)  # the bars the trading loop kept
JUNE, AUGUST = datetime(2017, 6, 1, tzinfo=UTC), datetime(2017, 8, 1, tzinfo=UTC)
PERIOD = Period("days", JUNE, AUGUST, days=61)
OWNER, SUB = 900, 11


def _candles() -> Candles:
    return load_csv(DATA, "EURUSD").candles


async def _store_bars(until_time: datetime = AUGUST) -> None:
    rows = [
        MarketBar(symbol="EURUSD", time=b.time, timeframe_s=3600, open=b.open, high=b.high,
                  low=b.low, close=b.close, volume=b.volume, recorded_at=b.time)
        for b in _candles().bars() if STORED_FROM <= b.time < until_time
    ]  # fmt: skip
    await MarketBar.bulk_create(rows, batch_size=500)


def _expected_backtest_r(start: datetime, end: datetime) -> list[float]:
    """The test's own backtest of the same bars (warm-up from the first stored bar)."""
    c = _candles()
    keep = (c.time >= int(STORED_FROM.timestamp())) & (c.time < int(end.timestamp()))
    stored = Candles("EURUSD", 3600, c.time[keep], c.open[keep], c.high[keep], c.low[keep],
                     c.close[keep], c.volume[keep])  # fmt: skip
    result = run_backtest(stored, get_spec("EURUSD"), BacktestConfig(start=start, end=end))
    return [t.r_multiple for t in result.trades if t.exit_reason != "end"]


async def _live(results: list[float], first: datetime = JUNE) -> list[int]:
    ids = []
    for i, r in enumerate(results):
        s = await seed.signal(first + timedelta(days=2 * i + 1), f"{r:.4f}")
        ids.append(s.id)
    return ids


async def test_live_much_worse_than_the_backtest_fires_the_alert(database: str) -> None:
    await _store_bars()
    expected = _expected_backtest_r(JUNE, AUGUST)
    assert len(expected) >= 5  # the bundled data has setups in these two months
    await _live([-1.0] * 12)
    report = await drift.drift(PERIOD)
    assert report.backtest_trades == len(expected)
    assert report.backtest_mean_r == pytest.approx(sum(expected) / len(expected))
    low, high = bootstrap_mean_range(expected, 12, seed=drift.SEED, resamples=drift.RESAMPLES)
    assert (report.range_low_r, report.range_high_r) == (pytest.approx(low), pytest.approx(high))
    assert (report.live_signals, report.live_mean_r) == (12, pytest.approx(-1.0))
    assert report.live_mean_r < report.range_low_r  # type: ignore[operator]
    assert report.verdict == "below" and report.alert


async def test_live_matching_the_backtest_does_not_alert(database: str) -> None:
    await _store_bars()
    expected = _expected_backtest_r(JUNE, AUGUST)
    await _live(expected)  # the very same results, live
    report = await drift.drift(PERIOD)
    assert report.live_mean_r == pytest.approx(report.backtest_mean_r, abs=1e-3)
    assert report.verdict == "inside" and not report.alert


async def test_live_far_better_than_the_backtest_is_drift_too(database: str) -> None:
    await _store_bars()
    await _live([3.25] * 12)
    assert (await drift.drift(PERIOD)).verdict == "above"


async def test_subscribers_fills_and_no_verdict_without_data(database: str) -> None:
    report = await drift.drift(PERIOD)  # no bars, no signals
    assert (report.runs, report.backtest_trades, report.live_signals) == ((), 0, 0)
    assert report.verdict == "unknown" and not report.alert
    sam = await seed.user(SUB)
    box = await seed.terminal(sam)
    s = await seed.signal(JUNE + timedelta(days=3), "3.0")
    await seed.fill(box, s, "1.10010", close="1.10300", profit="29")  # 2.9 R
    await seed.fill(box, s, "1.10000")  # still open: no result
    report = await drift.drift(PERIOD)
    assert (report.fills, report.fills_mean_r) == (1, pytest.approx(2.9))
    assert report.verdict == "unknown"  # no backtest trade to compare with


async def test_drift_is_the_owners_only(database: str, chat: Chat, clock: ManualClock) -> None:
    clock.set(AUGUST)
    await seed.user(OWNER, Role.OWNER, name="Olivia")
    await _store_bars()
    await _live([-1.0] * 12)
    for role in (Role.SUBSCRIBER, Role.ADMIN):
        someone = await seed.user(100 + len(role.value), role)
        with pytest.raises(PermissionDenied):
            await drift.drift_for(someone, PERIOD)
        assert await chat.send(someone.telegram_id, "/drift 61d") == [
            "Sorry, this action is not available for your account."
        ]
    (text,) = await chat.send(OWNER, "/drift 61d")  # June and July
    assert text.startswith("<b>Drift report</b> · the last 61 days\n\n⚠️ <b>Live results are below")
    assert "Live signals: 12 closed, mean -1.00 R per signal, -12.00 R in total." in text
    assert "· EURUSD: " in text and "(5th to 95th percentile of 2,000 bootstrap runs)" in text
    (es,) = await chat.send(OWNER, "/drift 61d", language="es")
    assert "Señales reales: 12 cerradas, media -1,00 R por señal, -12,00 R en total." in es


def test_month_period_of_the_report() -> None:
    assert month(2017, 7).start == datetime(2017, 7, 1, tzinfo=UTC)


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(TOKEN) as server:
        yield server


async def test_the_weekly_report_reaches_the_owner_once_per_week(
    database: str, emulator: EmulatorServer, clock: ManualClock
) -> None:
    await _store_bars(datetime(2017, 8, 8, tzinfo=UTC))
    await _live([-1.0] * 6, first=datetime(2017, 7, 23, 12, tzinfo=UTC))  # 24th .. 3 Aug
    emulator.emulator.add_user(OWNER, "Olivia")
    await seed.user(OWNER, Role.OWNER, name="Olivia")
    job = drift_job([OWNER])
    bot = make_bot(emulator.url)
    try:
        async with running(bot):
            clock.set(datetime(2017, 7, 31, 9, tzinfo=UTC))  # Monday: the week of 24 July
            await job()
            await job()  # the next hourly check, or a restarted leader: nothing new
            await drained()
            first = await until(lambda: bot_messages(emulator, OWNER), "the week's report")
            assert len(first) == 1
            assert first[0].text.startswith("Drift report · the week of Jul 24, 2017")
            clock.set(datetime(2017, 8, 7, 9, tzinfo=UTC))  # a week later: the next week
            await job()
            await job()
            await drained()
            both = await until(lambda: bot_messages(emulator, OWNER), accept=lambda m: len(m) >= 2)
            assert len(both) == 2 and "the week of Jul 31, 2017" in both[1].text
    finally:
        await bot.session.close()
    keys = sorted(n.dedupe_key for n in await Notification.all())
    assert keys == [f"drift:2017-W30:{OWNER}", f"drift:2017-W31:{OWNER}"]


async def test_a_quiet_week_sends_no_report(database: str, clock: ManualClock) -> None:
    await seed.user(OWNER, Role.OWNER, name="Olivia")
    clock.set(datetime(2017, 7, 31, 9, tzinfo=UTC))  # no bars stored, no signal closed
    assert await drift_weekly.send_weekly([OWNER], clock.now()) == 0
    await _live([1.0], first=datetime(2017, 7, 25, 12, tzinfo=UTC))  # one live close that week
    assert await drift_weekly.send_weekly([OWNER], clock.now()) == 1
    assert [n.dedupe_key for n in await Notification.all()] == [f"drift:2017-W30:{OWNER}"]


async def test_the_leader_schedules_the_weekly_check(clock: ManualClock) -> None:
    scheduler = build_scheduler()
    schedule_drift(scheduler, [OWNER])
    job = scheduler.get_job("weekly_drift_job")
    assert job is not None and job.trigger.interval == timedelta(hours=1)
