"""Market-data feeds: closed bars only, each exactly once, oldest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes.fake_mt5 import FakeMT5
from trading.brokers.base import ConnectionLost
from trading.brokers.paper import PaperEngine
from trading.candles import Bar, Candles, load_csv
from trading.feeds import CsvReplayFeed, MarketDataFeed, Mt5Feed, PushFeed
from trading.symbols import get_spec

T0 = datetime(2024, 1, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def candles() -> Candles:
    return load_csv("data/samples/EURUSD_H1.csv", "EURUSD", 3600).candles


def small(n: int = 5) -> Candles:
    bars = [Bar(T0 + timedelta(hours=i), 1.1, 1.2, 1.0, 1.1 + i / 1000) for i in range(n)]
    return Candles.from_bars("EURUSD", bars)


def test_every_feed_is_a_market_data_feed(candles: Candles) -> None:
    fake = FakeMT5(PaperEngine({"EURUSD": get_spec("EURUSD")}), {"EURUSD": candles})
    for feed in (CsvReplayFeed(small()), Mt5Feed(fake), PushFeed()):
        assert isinstance(feed, MarketDataFeed)


async def test_unpaced_replay_releases_history_then_one_bar_per_call() -> None:
    feed = CsvReplayFeed(small(5), history_bars=2)
    assert feed.now is None
    first = await feed.next_closed_bars("EURUSD")
    assert [b.time for b in first] == [T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)]
    assert feed.now == T0 + timedelta(hours=3)  # the close of the last released bar
    rest = [await feed.next_closed_bars("EURUSD") for _ in range(3)]
    assert [len(b) for b in rest] == [1, 1, 0] and feed.exhausted


async def test_paced_replay_sleeps_until_the_next_bar_is_due_and_catches_up() -> None:
    clock = [1000.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    feed = CsvReplayFeed(small(5), interval_s=2.0, clock=lambda: clock[0], sleep=sleep)
    assert len(await feed.next_closed_bars("EURUSD")) == 1  # due at once
    assert len(await feed.next_closed_bars("EURUSD")) == 1
    assert slept == [2.0]
    clock[0] += 5.0  # now 1007: bars due at 1004 and 1006 are both released at once
    assert len(await feed.next_closed_bars("EURUSD")) == 2
    assert slept == [2.0]
    assert len(await feed.next_closed_bars("EURUSD")) == 1  # due at 1008: sleeps 1 s
    assert slept == [2.0, 1.0] and feed.exhausted
    assert await feed.next_closed_bars("EURUSD") == []


class RecordingPacer:
    def __init__(self) -> None:
        self.asked: list[int] = []
        self.seen: list[tuple[str, datetime]] = []

    async def wait_for_bar(self, index: int) -> None:
        self.asked.append(index)

    def released(self, symbol: str, bar: Bar) -> None:
        self.seen.append((symbol, bar.time))


async def test_a_pacer_is_asked_before_each_bar_after_the_history() -> None:
    pacer = RecordingPacer()
    feed = CsvReplayFeed(small(5), history_bars=2, pacer=pacer)
    assert [len(await feed.next_closed_bars("EURUSD")) for _ in range(5)] == [2, 1, 1, 1, 0]
    assert pacer.asked == [0, 1, 2] and feed.exhausted
    assert pacer.seen == [("EURUSD", T0 + timedelta(hours=h)) for h in (1, 2, 3, 4)]


async def test_replay_refuses_another_symbol_and_bad_settings() -> None:
    with pytest.raises(ValueError, match="build one per symbol"):
        await CsvReplayFeed(small()).next_closed_bars("XAUUSD")
    with pytest.raises(ValueError, match="interval_s > 0"):
        CsvReplayFeed(small(), interval_s=0)


async def test_mt5_feed_drops_the_forming_bar_and_returns_only_new_ones(candles: Candles) -> None:
    fake = FakeMT5(PaperEngine({"EURUSD": get_spec("EURUSD")}), {"EURUSD": candles}, start=300)
    fake.initialize()
    feed = Mt5Feed(fake, history_bars=50)
    history = await feed.next_closed_bars("EURUSD")
    assert len(history) == 50
    assert history[-1].time == candles.time_utc(299)  # bar 300 is forming: never returned
    assert await feed.next_closed_bars("EURUSD") == []
    fake.advance("EURUSD", 2)
    new = await feed.next_closed_bars("EURUSD")
    assert [b.time for b in new] == [candles.time_utc(300), candles.time_utc(301)]
    assert new[0].close == float(candles.close[300])


async def test_mt5_feed_converts_server_time_and_raises_on_none(candles: Candles) -> None:
    engine = PaperEngine({"EURUSD": get_spec("EURUSD")})
    fake = FakeMT5(engine, {"EURUSD": candles}, start=300, server_utc_offset_s=7200)
    fake.initialize()
    feed = Mt5Feed(fake, history_bars=3, server_utc_offset_s=7200)
    assert (await feed.next_closed_bars("EURUSD"))[-1].time == candles.time_utc(299)
    fake.inject("copy_rates_from_pos", last_error=(-10004, "No IPC connection"))
    with pytest.raises(ConnectionLost, match="copy_rates_from_pos"):
        await feed.next_closed_bars("EURUSD")
    with pytest.raises(ValueError, match="no MT5 timeframe"):
        Mt5Feed(fake, timeframe_s=7)


async def test_push_feed_dedupes_orders_and_holds_the_forming_bar() -> None:
    now = [T0 + timedelta(hours=3, minutes=30)]
    feed = PushFeed(clock=lambda: now[0])
    bars = list(small(4).bars())  # opens 00:00 .. 03:00; 03:00 still forming at 03:30
    assert feed.push("EURUSD", [bars[2], bars[0], bars[1], bars[3], bars[1]]) == 5
    out = await feed.next_closed_bars("EURUSD")
    assert [b.time for b in out] == [bars[0].time, bars[1].time, bars[2].time]
    assert feed.push("EURUSD", [bars[1]]) == 0  # already emitted: a duplicate
    assert await feed.next_closed_bars("EURUSD") == []
    now[0] = T0 + timedelta(hours=4)
    assert [b.time for b in await feed.next_closed_bars("EURUSD")] == [bars[3].time]
    assert await feed.next_closed_bars("XAUUSD") == []


async def test_push_feed_keeps_the_latest_version_of_a_bar() -> None:
    feed = PushFeed(clock=lambda: T0 + timedelta(hours=5))
    first = Bar(T0, 1.1, 1.2, 1.0, 1.1)
    fixed = Bar(T0, 1.1, 1.25, 1.0, 1.15)
    feed.push("EURUSD", [first])
    feed.push("EURUSD", [fixed])
    assert await feed.next_closed_bars("EURUSD") == [fixed]
