"""End to end in sandbox mode: the owner grants Sam the Pro plan in the chat, Sam sets an alert
with /alerts at a level the next bars of the bundled data reach, the sandbox's feed goes on, and
the alert arrives in Sam's emulator chat through the outbox (exactly once)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import pytest

from bot.app import AppRunner
from models.alerts import AlertState, PriceAlert
from models.notifications import Notification
from services.signals import market_data
from tests.e2e.conftest import text
from tests.e2e.test_sandbox import extension, sandbox_settings, start_sandbox
from tests.waiting import until
from trading.candles import Candles, load_csv
from trading.feeds import PushFeed

OLIVIA, SAM = 1000001, 1000002
TICK = Decimal("0.00001")
AHEAD = range(38, 46)  # the bars the test pushes after the alert is set


@dataclass
class Replay:
    app: AppRunner
    feed: PushFeed
    candles: Candles


@pytest.fixture
async def replay(clean_db: str, data_dir: Path, tmp_path: Path) -> AsyncIterator[Replay]:
    """The sandbox with the bundled EURUSD bars pushed by the test (38 now, more later)."""
    candles = load_csv(data_dir / "EURUSD_H1.csv", "EURUSD").candles
    feed = PushFeed(clock=lambda: datetime(2030, 1, 1, tzinfo=UTC))
    feed.push("EURUSD", [candles.bar(i) for i in range(38)])
    runner = await start_sandbox(sandbox_settings(clean_db, data_dir, tmp_path), {"EURUSD": feed})
    try:
        yield Replay(runner, feed, candles)
    finally:
        await runner.stop()


async def reachable_level(candles: Candles) -> tuple[Decimal, str, Decimal]:
    """Once the sandbox stored the 38th bar: its close, and a condition and level that the
    `AHEAD` bars reach (the farther of their high and low)."""
    await until(lambda: market_data.quote("EURUSD"),
                accept=lambda q: q is not None and q.bar_time == candles.bar(37).time)  # fmt: skip
    last = Decimal(str(candles.bar(37).close)).quantize(TICK)
    high = Decimal(str(max(candles.bar(i).high for i in AHEAD))).quantize(TICK, ROUND_FLOOR)
    low = Decimal(str(min(candles.bar(i).low for i in AHEAD))).quantize(TICK)
    condition, level = ("above", high) if high - last >= last - low else ("below", low)
    assert level != last
    return last, condition, level


async def test_an_alert_set_in_the_chat_fires_during_the_replay(replay: Replay) -> None:
    sandbox, candles = replay.app, replay.candles
    _last, condition, level = await reachable_level(candles)
    async with extension(sandbox).client() as tg:
        await tg.send(OLIVIA, "/grant @sam_trades pro 30")
        await tg.wait_for(OLIVIA, lambda m: "Pro" in text(m) and "#1" not in text(m), timeout=30)
        await tg.send(SAM, f"/alerts add EURUSD {condition} {level} replay check")
        added = await tg.wait_for(SAM, lambda m: "Alert" in text(m), timeout=30)
        assert text(added).startswith("✅ Alert #"), text(added)
        row = await PriceAlert.get(user__telegram_id=SAM)
        replay.feed.push("EURUSD", [candles.bar(i) for i in AHEAD])
        fired = await tg.wait_for(SAM, lambda m: "🔔" in text(m), timeout=30)
    verb = "rose" if condition == "above" else "fell"
    assert text(fired).startswith(f"🔔 EURUSD {verb} to ")
    assert "📝 replay check" in text(fired)
    row = await PriceAlert.get(id=row.id)
    assert (row.state, row.fired_count) == (AlertState.FIRED, 1)
    assert await Notification.filter(kind="alert").count() == 1
