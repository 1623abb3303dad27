"""Ops alerts go through the outbox, deduplicated per interval; a failing bar is retried."""

from __future__ import annotations

import asyncio

from models.notifications import Notification
from services.ops_alerts import OpsAlerts
from services.text.formatting import phrase
from tests.waiting import until


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_alerts_reach_every_owner_once_per_interval(database: str) -> None:
    clock = Clock()
    woken: list[bool] = []
    alerts = OpsAlerts([1, 2], interval_s=300, clock=clock, wake=lambda: woken.append(True))
    assert await alerts.alert("job:x", phrase("boom"))
    assert not await alerts.alert("job:x", phrase("boom again"))  # same interval: deduplicated
    assert await alerts.alert("job:y", phrase("other problem"))
    clock.now += 300
    assert await alerts.alert("job:x", phrase("boom later"))
    rows = await Notification.filter(kind="ops.alert").order_by("id")
    assert [(r.chat_id, r.payload["text"]) for r in rows] == [
        (1, "boom"), (2, "boom"), (1, "other problem"), (2, "other problem"),
        (1, "boom later"), (2, "boom later"),
    ]  # fmt: skip
    assert len(woken) == 3


async def test_trading_loop_retries_a_failing_bar_and_alerts(database: str, monkeypatch) -> None:
    from datetime import UTC, datetime

    from jobs import trading_loop
    from trading.candles import Bar

    monkeypatch.setattr(trading_loop, "RETRY_DELAYS_S", (0.0, 0.0, 0.0))
    bar = Bar(datetime(2024, 1, 2, tzinfo=UTC), 1.0, 1.0, 1.0, 1.0)

    class FlakyRunner:
        calls = 0

        async def load_state(self):  # noqa: ANN202
            class S:
                last_bar_time = None

            return S()

        async def process(self, b: Bar) -> None:
            self.calls += 1
            if self.calls < 3:
                raise RuntimeError("database hiccup")

        def replay(self, bars: list[Bar]) -> None:
            raise AssertionError("not expected")

    class OneBarFeed:
        sent = False

        async def next_closed_bars(self, symbol: str) -> list[Bar]:
            if self.sent:
                await asyncio.sleep(3600)
            self.sent = True
            return [bar]

    runner = FlakyRunner()
    loop = trading_loop.TradingLoop({"EURUSD": runner}, {"EURUSD": OneBarFeed()}, OpsAlerts([7]))
    await loop.start()
    await until(lambda: loop.processed, "the bar applied (after two failures)")
    await loop.stop()
    assert runner.calls == 3 and loop.processed == 1  # retried, never skipped
    alerts = await Notification.filter(kind="ops.alert", chat_id=7)
    assert len(alerts) == 1 and "database hiccup" in alerts[0].payload["text"]


async def test_stop_lets_the_bar_being_applied_finish(database: str) -> None:
    from datetime import UTC, datetime

    from jobs import trading_loop
    from trading.candles import Bar

    started, release, cancelled = asyncio.Event(), asyncio.Event(), asyncio.Event()
    bars = [Bar(datetime(2024, 1, 2, h, tzinfo=UTC), 1.0, 1.0, 1.0, 1.0) for h in range(3)]

    class SlowRunner:
        applied: list[Bar] = []

        async def load_state(self):  # noqa: ANN202
            class S:
                last_bar_time = None

            return S()

        async def process(self, b: Bar) -> None:
            started.set()
            try:
                await release.wait()  # e.g. inside its database transactions
            except asyncio.CancelledError:
                cancelled.set()
                raise
            self.applied.append(b)

    class Feed:
        given = False

        async def next_closed_bars(self, symbol: str) -> list[Bar]:
            if self.given:
                await asyncio.sleep(3600)
            self.given = True
            return bars

    runner = SlowRunner()
    loop = trading_loop.TradingLoop({"EURUSD": runner}, {"EURUSD": Feed()}, OpsAlerts([7]))
    await loop.start()
    await started.wait()
    stopping = asyncio.create_task(loop.stop())
    # A negative: nothing marks "stop chose to wait". A stop that cancelled the bar would be
    # done a few event-loop turns later, all ready callbacks with no I/O; this pause runs
    # them all, and only grows on a loaded machine.
    await asyncio.sleep(0.05)
    assert not cancelled.is_set() and not stopping.done()  # it waits for the bar in progress
    release.set()
    await stopping
    assert runner.applied == bars[:1]  # that bar completed; the rest wait for the restart
