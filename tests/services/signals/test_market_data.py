"""The last known price for every replica: bars stored as the loop applies them, a live feed
told from a stalled one by trading time, a chart window read back exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from models.signals import MarketBar, SymbolState
from services.signals import market_data
from services.signals.trading_loop import SymbolRunner
from trading.candles import Bar, load_csv
from trading.symbols import get_spec

WEDNESDAY = datetime(2024, 3, 13, 14, tzinfo=UTC)  # FX and metals open
SATURDAY = datetime(2024, 3, 16, 14, tzinfo=UTC)


def bar(t: datetime, close: float = 1.0842) -> Bar:
    return Bar(t, close, close + 0.001, close - 0.001, close, 10.0)


async def test_a_bar_is_stored_once_and_a_retry_overwrites_it(database: str) -> None:
    t = WEDNESDAY - timedelta(hours=1)
    await market_data.record_bar("EURUSD", bar(t, 1.08), 3600, now=WEDNESDAY)
    await market_data.record_bar("EURUSD", bar(t, 1.09), 3600, now=WEDNESDAY)
    assert await MarketBar.filter(symbol="EURUSD").count() == 1
    quote = await market_data.quote("EURUSD", now=WEDNESDAY)
    assert quote is not None
    assert (quote.close, quote.bar_time, quote.timeframe_s, quote.live) == (
        Decimal("1.09"), t, 3600, True,
    )  # fmt: skip
    assert await market_data.quote("XAUUSD", now=WEDNESDAY) is None


@pytest.mark.parametrize(
    ("recorded", "now", "live"),
    [
        (WEDNESDAY, WEDNESDAY + timedelta(hours=3), True),  # three missed bars: still live
        (WEDNESDAY, WEDNESDAY + timedelta(hours=3, minutes=1), False),
        (datetime(2024, 3, 15, 20, tzinfo=UTC), SATURDAY, True),  # the weekend is no stall
        (datetime(2024, 3, 15, 20, tzinfo=UTC), datetime(2024, 3, 17, 23, tzinfo=UTC), True),
        (datetime(2024, 3, 15, 20, tzinfo=UTC), datetime(2024, 3, 18, 1, tzinfo=UTC), False),
        (WEDNESDAY - timedelta(days=30), WEDNESDAY, False),
    ],
)
def test_live_means_recent_in_trading_time(recorded: datetime, now: datetime, live: bool) -> None:
    assert market_data.is_live("EURUSD", recorded, 3600, now) is live


async def test_live_symbols_lists_only_fresh_feeds(database: str) -> None:
    await market_data.record_bar("EURUSD", bar(WEDNESDAY), 3600, now=WEDNESDAY)
    old = WEDNESDAY - timedelta(days=2)
    await market_data.record_bar("XAUUSD", bar(old, 2350.0), 3600, now=old)
    assert await market_data.live_symbols(now=WEDNESDAY) == ("EURUSD",)
    stale = await market_data.quote("XAUUSD", now=WEDNESDAY)
    assert stale is not None and not stale.live


async def test_recent_candles_are_the_newest_bars_in_order(database: str) -> None:
    start = datetime(2024, 3, 11, tzinfo=UTC)
    for i in range(40):
        await market_data.record_bar("EURUSD", bar(start + timedelta(hours=i), 1 + i / 1000), 3600)
    candles = await market_data.recent_candles("EURUSD", 10)
    assert candles is not None and len(candles) == 10
    assert candles.time_utc(0) == start + timedelta(hours=30)
    assert list(candles.close) == [1 + i / 1000 for i in range(30, 40)]
    assert await market_data.recent_candles("GBPUSD", 10) is None


async def test_old_bars_are_pruned(database: str) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for day in (0, 10, 20, 30):
        await market_data.record_bar("EURUSD", bar(start + timedelta(days=day, hours=1)), 3600)
    await market_data.record_bar("EURUSD", bar(start + timedelta(days=30)), 3600)  # 00:00: prune
    kept = await MarketBar.filter(symbol="EURUSD").order_by("time").values_list("time", flat=True)
    cutoff = start + timedelta(days=30) - timedelta(hours=market_data.KEEP_BARS)
    assert kept and all(t >= cutoff for t in kept)
    assert len(kept) == 4  # day 0 is gone: more than 600 hours (25 days) before day 30


async def test_the_loop_stores_each_bar_and_a_failed_store_is_retried_cleanly(
    database: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    candles = load_csv(data_dir / "EURUSD_H1.csv", "EURUSD").candles
    runner = SymbolRunner("EURUSD", get_spec("EURUSD"), charts=False)
    for i in range(10):
        await runner.process(candles.bar(i))
    real = market_data.record_bar

    async def down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("database went away")

    monkeypatch.setattr(market_data, "record_bar", down)
    with pytest.raises(ConnectionError):
        await runner.process(candles.bar(10))
    monkeypatch.setattr(market_data, "record_bar", real)
    await runner.process(candles.bar(10))  # the strategy did not consume the failed bar
    assert await MarketBar.filter(symbol="EURUSD").count() == 11
    quote = await market_data.quote("EURUSD")
    assert quote is not None and quote.close == Decimal(str(candles.close[10])) and quote.live
    assert (await SymbolState.get(symbol="EURUSD")).last_bar_time == candles.time_utc(10)
