"""The replay controller: play / pause / step / speed and the hold around a fresh signal, on a
fake clock (time moves only when the test says so; no wall-clock waits)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from trading.candles import Bar, Candles
from trading.feeds import CsvReplayFeed
from trading.replay import SPEEDS, Hold, ReplayController, ReplayState

T0 = datetime(2024, 1, 2, tzinfo=UTC)
HISTORY = 3


class FakeTime:
    """A clock and a sleep: sleepers wake when :meth:`advance` moves the clock past them."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.timers: list[tuple[float, asyncio.Future[None]]] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self.timers.append((self.now + seconds, future))
        await future

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        for due, future in list(self.timers):
            if due <= self.now + 1e-9 and not future.done():
                future.set_result(None)
        self.timers = [(d, f) for d, f in self.timers if not f.done()]
        await settle()


async def settle() -> None:
    """Let every task run until it waits on something again (no time passes)."""
    for _ in range(50):
        await asyncio.sleep(0)


class Watch:
    """A hold watch the test steers: `publish()` makes a signal fresh, `decide()` settles it."""

    def __init__(self) -> None:
        self.pending: list[int] = []
        self.decided: dict[int, str] = {}
        self.calls = 0

    def publish(self, signal_id: int) -> None:
        self.pending.append(signal_id)

    async def fresh(self) -> Hold | None:
        self.calls += 1
        if not self.pending:
            return None
        signal_id = self.pending.pop(0)
        return Hold(f"signal:{signal_id}", f"signal #{signal_id}", "a subscriber's decision")

    async def settled(self, hold: Hold) -> str | None:
        return self.decided.get(int(hold.key.split(":")[1]))


def candles(symbol: str = "EURUSD", n: int = 40) -> Candles:
    bars = [Bar(T0 + timedelta(hours=i), 1.1, 1.2, 1.0, 1.1) for i in range(n)]
    return Candles.from_bars(symbol, bars)


class Replay:
    """Feeds paced by one controller, each consumed by a task like the trading loop's."""

    def __init__(self, controller: ReplayController, symbols: tuple[str, ...]) -> None:
        self.controller = controller
        self.feeds = {
            s: CsvReplayFeed(candles(s), history_bars=HISTORY, pacer=controller) for s in symbols
        }
        self.got: dict[str, list[Bar]] = {s: [] for s in symbols}
        self.tasks = [asyncio.create_task(self._consume(s)) for s in symbols]

    async def _consume(self, symbol: str) -> None:
        feed = self.feeds[symbol]
        while not feed.exhausted:
            self.got[symbol].extend(await feed.next_closed_bars(symbol))

    def bars(self, symbol: str = "EURUSD") -> int:
        """Bars released after the history."""
        return len(self.got[symbol]) - HISTORY


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


@contextlib.asynccontextmanager
async def replay(
    controller: ReplayController, symbols: tuple[str, ...] = ("EURUSD",)
) -> AsyncIterator[Replay]:
    running = Replay(controller, symbols)
    await settle()
    try:
        yield running
    finally:
        for task in running.tasks:
            task.cancel()
        await asyncio.gather(*running.tasks, return_exceptions=True)


def make(time_: FakeTime, interval_s: float = 2.0, **options: object) -> ReplayController:
    return ReplayController(interval_s, clock=time_.clock, sleep=time_.sleep, **options)  # type: ignore[arg-type]


async def test_playing_releases_one_bar_per_interval(time_: FakeTime) -> None:
    async with replay(make(time_)) as r:
        assert r.bars() == 1  # the history, then the first bar at once
        await time_.advance(1.9)
        assert r.bars() == 1
        await time_.advance(0.1)
        assert r.bars() == 2
        await time_.advance(10.0)  # a late wake-up releases one bar, never a burst
        assert r.bars() == 3
        await time_.advance(2.0)
        assert r.bars() == 4
        snap = r.controller.snapshot()
        assert snap.state is ReplayState.PLAYING and snap.bars == 4
        assert snap.bar_times == {"EURUSD": T0 + timedelta(hours=HISTORY + 3)}


async def test_pause_stops_bars_and_play_resumes_one_interval_later(time_: FakeTime) -> None:
    async with replay(make(time_)) as r:
        r.controller.pause()
        await time_.advance(3600.0)
        assert r.bars() == 1 and r.controller.snapshot().state is ReplayState.PAUSED
        r.controller.play()
        await settle()
        assert r.bars() == 1
        await time_.advance(2.0)
        assert r.bars() == 2


async def test_step_releases_exactly_one_bar_of_every_symbol_and_stays_paused(
    time_: FakeTime,
) -> None:
    async with replay(make(time_), ("EURUSD", "XAUUSD")) as r:
        r.controller.pause()
        await settle()
        for expected in (2, 3, 4):
            snap = r.controller.step()
            await settle()
            assert (r.bars("EURUSD"), r.bars("XAUUSD")) == (expected, expected)
            assert snap.state is ReplayState.PAUSED and snap.reason == "paused after one step"
        await time_.advance(60.0)
        assert r.bars() == 4
        r.controller.step()
        r.controller.step()  # two presses, two bars
        await settle()
        assert (r.bars("EURUSD"), r.bars("XAUUSD")) == (6, 6)


async def test_step_while_playing_pauses_after_that_bar(time_: FakeTime) -> None:
    async with replay(make(time_)) as r:
        r.controller.step()
        await settle()
        assert r.bars() == 2
        await time_.advance(20.0)
        assert r.bars() == 2


async def test_speed_divides_the_interval(time_: FakeTime) -> None:
    async with replay(make(time_)) as r:
        r.controller.set_speed(4.0)
        await time_.advance(0.5)
        assert r.bars() == 2
        r.controller.set_speed(0.25)
        await time_.advance(7.9)
        assert r.bars() == 2
        await time_.advance(0.1)
        assert r.bars() == 3
        assert r.controller.snapshot().speed == 0.25
    with pytest.raises(ValueError, match="speed must be one of"):
        make(time_).set_speed(3.0)
    assert 1.0 in SPEEDS


async def test_a_fresh_signal_holds_until_the_first_decision(time_: FakeTime) -> None:
    watch = Watch()
    async with replay(make(time_, watch=watch)) as r:
        await time_.advance(2.0)
        watch.publish(7)  # bar 2 published signal #7
        await time_.advance(2.0)
        snap = r.controller.snapshot()
        assert r.bars() == 2 and snap.state is ReplayState.HELD
        assert snap.reason == "held: signal #7 waits for a subscriber's decision (up to 60 s)"
        assert snap.hold_left_s == pytest.approx(60.0)
        await time_.advance(30.0)
        assert r.bars() == 2 and r.controller.snapshot().hold_left_s == pytest.approx(30.0)
        watch.decided[7] = "Sam approved signal #7"
        await time_.advance(0.5)  # the watch is asked again every poll_s
        snap = r.controller.snapshot()
        assert snap.state is ReplayState.PLAYING
        assert snap.reason == "playing: Sam approved signal #7"
        assert r.bars() == 2
        await time_.advance(2.0)
        assert r.bars() == 3


async def test_a_hold_ends_by_itself_after_hold_s(time_: FakeTime) -> None:
    watch = Watch()
    watch.publish(3)
    async with replay(make(time_, watch=watch, hold_s=45.0)) as r:
        assert r.controller.snapshot().state is ReplayState.HELD
        await time_.advance(44.9)
        assert r.bars() == 0
        await time_.advance(0.1)
        snap = r.controller.snapshot()
        assert snap.state is ReplayState.PLAYING
        assert snap.reason == "playing: 45 s passed without a subscriber's decision on signal #3"
        await time_.advance(2.0)
        assert r.bars() == 1


async def test_a_person_overrides_a_hold_and_it_does_not_come_back(time_: FakeTime) -> None:
    watch = Watch()
    watch.publish(1)
    async with replay(make(time_, watch=watch)) as r:
        assert r.controller.snapshot().state is ReplayState.HELD
        r.controller.pause()
        await time_.advance(120.0)
        assert r.controller.snapshot().state is ReplayState.PAUSED and r.bars() == 0
        r.controller.play()
        await time_.advance(2.0)
        assert r.controller.snapshot().state is ReplayState.PLAYING and r.bars() == 1
    watch.publish(2)
    async with replay(make(time_, watch=watch)) as r:
        assert r.controller.snapshot().state is ReplayState.HELD
        r.controller.step()  # one bar past the hold, then paused
        await settle()
        assert r.bars() == 1 and r.controller.snapshot().state is ReplayState.PAUSED


async def test_as_fast_as_possible_never_waits_nor_holds(time_: FakeTime) -> None:
    watch = Watch()
    watch.publish(1)
    controller = make(time_, interval_s=0.0, watch=watch)
    assert controller.hold_s == 0.0
    async with replay(controller) as r:
        assert r.bars() == 40 - HISTORY  # everything, with no time passing
        assert watch.calls == 0 and time_.timers == []


async def test_pause_works_at_full_speed_too(time_: FakeTime) -> None:
    controller = make(time_, interval_s=0.0)
    controller.pause()
    async with replay(controller) as r:
        assert r.bars() == 0
        controller.step()
        await settle()
        assert r.bars() == 1


async def test_wait_changed_is_a_long_poll(time_: FakeTime) -> None:
    controller = make(time_)
    version = controller.version
    same = await controller.wait_changed(version, timeout_s=0)
    assert same.version == version
    waiting = asyncio.create_task(controller.wait_changed(version, timeout_s=30))
    await settle()
    assert not waiting.done()
    controller.pause()
    snap = await waiting
    assert snap.version > version and snap.state is ReplayState.PAUSED


@pytest.mark.parametrize(
    "options",
    [{"interval_s": -1.0}, {"interval_s": 1.0, "hold_s": -1.0}, {"interval_s": 1.0, "poll_s": 0}],
)
def test_bad_settings_are_refused(options: dict[str, float]) -> None:
    interval = options.pop("interval_s")
    with pytest.raises(ValueError, match="interval_s >= 0"):
        ReplayController(interval, **options)


def test_a_feed_takes_a_pacer_or_an_interval_not_both(time_: FakeTime) -> None:
    with pytest.raises(ValueError, match="not both"):
        CsvReplayFeed(candles(), interval_s=1.0, pacer=make(time_))
