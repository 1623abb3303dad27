"""The trading loop job: a symbol whose bar keeps failing never holds up the others, is
reported to ops (rate-limited, not silently retried) and heals by itself once the fault is
gone; a failing feed is retried the same way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobs import trading_loop
from models.notifications import Notification
from services.ops_alerts import OpsAlerts
from tests.waiting import until
from trading.candles import Bar

T0 = datetime(2024, 1, 2, tzinfo=UTC)


def bars(n: int) -> list[Bar]:
    return [Bar(T0 + timedelta(hours=h), 1.0, 1.0, 1.0, 1.0) for h in range(n)]


class State:
    last_bar_time = None


class Runner:
    """Applies bars; raises `error` while it is set (a bug, a database outage...)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.applied: list[Bar] = []
        self.attempts = 0

    async def load_state(self) -> State:
        return State()

    async def process(self, bar: Bar) -> None:
        self.attempts += 1
        if self.error is not None:
            raise self.error
        self.applied.append(bar)

    def replay(self, done: list[Bar]) -> None:
        raise AssertionError("no bar was applied before")


class Feed:
    """Hands `given` once, then nothing; raises `errors` first, one per call."""

    def __init__(self, given: list[Bar], errors: list[Exception] | None = None) -> None:
        self.given, self.errors = given, list(errors or [])

    async def next_closed_bars(self, symbol: str) -> list[Bar]:
        if self.errors:
            raise self.errors.pop(0)
        given, self.given = self.given, []
        return given


async def alerts_for(symbol: str) -> list[str]:
    rows = await Notification.filter(kind="ops.alert").order_by("id")
    return [r.payload["text"] for r in rows if f"Trading loop {symbol}" in r.payload["text"]]


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trading_loop, "RETRY_DELAYS_S", (0.01,))


async def start(runners: dict[str, Any], feeds: dict[str, Any]) -> trading_loop.TradingLoop:
    loop = trading_loop.TradingLoop(runners, feeds, OpsAlerts([7], interval_s=3600), poll_s=0.01)
    await loop.start()
    return loop


async def test_a_bar_that_keeps_failing_holds_up_only_its_symbol(database: str) -> None:
    stuck = Runner(RuntimeError("InvalidOperation in rounding"))
    fine = Runner()
    loop = await start(
        {"XAUUSD": stuck, "EURUSD": fine}, {"XAUUSD": Feed(bars(3)), "EURUSD": Feed(bars(5))}
    )
    try:
        await until(lambda: len(fine.applied) == 5 and stuck.attempts >= 20, timeout_s=30)
        assert stuck.applied == []  # never skipped: the same first bar, again and again
        (alert,) = await alerts_for("XAUUSD")  # many attempts, one alert in the interval
        assert "the bar of Jan 2, 2024, 00:00 UTC failed (attempt 1): RuntimeError" in alert
        assert "other symbols are not affected" in alert
        assert await alerts_for("EURUSD") == []
        stuck.error = None  # the fault is gone: it heals without a restart
        await until(lambda: len(stuck.applied) == 3, timeout_s=30)
        assert stuck.applied == bars(3)
    finally:
        await loop.stop()
    assert loop.processed == 8


async def test_a_failing_feed_is_reported_and_retried(database: str) -> None:
    runner = Runner()
    feed = Feed(bars(2), errors=[ConnectionError("terminal gone"), ConnectionError("again")])
    loop = await start({"EURUSD": runner}, {"EURUSD": feed})
    try:
        await until(lambda: len(runner.applied) == 2, timeout_s=30)
    finally:
        await loop.stop()
    (alert,) = await alerts_for("EURUSD")
    assert "reading bars failed (attempt 1): ConnectionError: terminal gone" in alert


async def test_stop_ends_a_symbol_waiting_to_retry(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loop waiting before its next attempt is not inside a transaction: stop() ends it
    at once instead of letting the wait (up to a minute) run out."""
    monkeypatch.setattr(trading_loop, "RETRY_DELAYS_S", (3600.0,))
    stuck = Runner(RuntimeError("still broken"))
    loop = await start({"EURUSD": stuck}, {"EURUSD": Feed(bars(1))})
    await until(lambda: stuck.attempts == 1)
    await loop.stop(timeout_s=3600)  # whether it is still reporting or already waiting
    assert stuck.attempts == 1 and stuck.applied == []
