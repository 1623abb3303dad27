"""Real fills next to signals: the execution summary of closed signals from seeded fills."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from models.signals import SignalStatus
from models.users import Role
from services.analytics.brokers import BrokerSummary
from services.analytics.fills import ExecutionSummary, signal_execution_summary
from tests.analytics import fills_seed as seed

T = datetime(2026, 11, 10, 12, tzinfo=UTC)
pytestmark = pytest.mark.usefixtures("database")


async def test_counts_terminals_and_takes_medians_over_every_subscribers_fill() -> None:
    sam, zoe = await seed.user(11, name="Sam"), await seed.user(12, name="Zoe")
    sam_a, sam_b = await seed.terminal(sam, "Sam A"), await seed.terminal(sam, "Sam B")
    zoe_a = await seed.terminal(zoe, "Zoe secret box")
    buy = await seed.signal(T, "3.0")  # entry 1.10000, stop 1.09900: 100 points of risk
    # slippage in points: +2, +5, -1 (an improvement); latency 1 s, 3 s, 10 s
    await seed.fill(sam_a, buy, "1.10002", after=timedelta(seconds=1))
    await seed.fill(sam_b, buy, "1.10005", after=timedelta(seconds=3))
    await seed.fill(zoe_a, buy, "1.09999", after=timedelta(seconds=10))
    sell = await seed.signal(T, "-1.0", side="sell", entry="1.20000", stop="1.20100")
    await seed.fill(zoe_a, sell, "1.19990", after=timedelta(milliseconds=500))
    await seed.fill(sam_a, sell, "1.19980", after=timedelta(milliseconds=1500))
    untouched = await seed.signal(T, "1.5")

    found = await signal_execution_summary([buy.id, sell.id, untouched.id])

    assert found[buy.id] == ExecutionSummary(
        signal_id=buy.id, terminals=3, fills=3, median_slippage_points=2.0,
        median_slippage_r=pytest.approx(0.02), median_latency_ms=3000.0,
        median_spread_points=None,  # no EA reported a spread
        brokers=(BrokerSummary("other", None, 3, 3, 2.0, pytest.approx(0.02), None),),
    )  # fmt: skip
    # a sell filled below its entry is worse: +10 and +20 points
    assert found[sell.id].terminals == 2 and found[sell.id].fills == 2
    assert found[sell.id].median_slippage_points == 15.0
    assert found[sell.id].median_slippage_r == pytest.approx(0.15)
    assert found[sell.id].median_latency_ms == 1000.0
    assert found[untouched.id] == ExecutionSummary(untouched.id, 0, 0, None, None, None, None, ())


async def test_two_fills_of_one_terminal_count_one_terminal() -> None:
    sam = await seed.user(11)
    box = await seed.terminal(sam)
    s = await seed.signal(T, "1.0")
    await seed.fill(box, s, "1.10001")
    await seed.fill(box, s, "1.10003")  # the same terminal again (a second order of it)
    found = await signal_execution_summary([s.id])
    assert (found[s.id].terminals, found[s.id].fills) == (1, 2)
    assert found[s.id].median_slippage_points == 2.0


async def test_only_closed_signals_are_summarised() -> None:
    sam = await seed.user(11)
    box = await seed.terminal(sam)
    live = await seed.signal(T, None, status=SignalStatus.FILLED)
    await seed.fill(box, live, "1.10002")
    closed = await seed.signal(T, "2.0")
    assert set(await signal_execution_summary([live.id, closed.id, 999_999])) == {closed.id}
    assert await signal_execution_summary([]) == {}


async def test_no_personal_data_in_a_summary() -> None:
    """Only counts and medians: no user, terminal name or id, ticket, volume or price."""
    sam = await seed.user(11, Role.SUBSCRIBER, name="Samantha")
    box = await seed.terminal(sam, "Samantha's secret box")
    s = await seed.signal(T, "1.0")
    row = await seed.fill(box, s, "1.10007")
    (summary,) = (await signal_execution_summary([s.id])).values()
    names = {f.name for f in dataclasses.fields(summary)}
    assert names == {"signal_id", "terminals", "fills", "median_slippage_points",
                     "median_slippage_r", "median_latency_ms", "median_spread_points",
                     "brokers"}  # fmt: skip
    shown = repr(dataclasses.asdict(summary))
    for private in ("Samantha", box.device_id, str(row.ticket), "1.10007", "0.10"):
        assert private not in shown
