"""Pace control for a replayed market: play, pause, step one bar, speed, and a hold.

A :class:`ReplayController` is the :class:`~trading.feeds.ReplayPacer` of one or more
:class:`~trading.feeds.CsvReplayFeed` (one per symbol; bar ``k`` of every symbol is released on
the same tick). It answers "may bar ``k`` go now?" from its state:

* ``playing``: one bar every ``interval_s / speed`` seconds, timed from the previous release
  (a slow consumer gets the next bar at once, never a burst of overdue ones);
* ``paused``: nothing, until :meth:`~ReplayController.play` or
  :meth:`~ReplayController.step` (exactly one more bar, then paused);
* ``held``: like paused, but it ends by itself: the :class:`HoldWatch` reported something
  worth stopping for (the sandbox: a fresh signal) and the hold lasts until the watch says
  it is settled (the first subscriber's decision) or ``hold_s`` seconds pass.

``interval_s == 0`` is "as fast as possible": no waiting and never a hold (tests and
benchmarks rely on it); pause and step still work. Time comes from the injected ``clock`` and
``sleep``, so tests drive it deterministically.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from trading.candles import Bar

__all__ = ["SPEEDS", "Hold", "HoldWatch", "ReplayController", "ReplaySnapshot", "ReplayState"]

SPEEDS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)  # multiples of the base pace


class ReplayState(StrEnum):
    PLAYING = "playing"
    PAUSED = "paused"
    HELD = "held"


@dataclass(frozen=True, slots=True)
class Hold:
    """Something the replay waits for, in words for a person: "held: {subject} waits for
    {waits_for}" (e.g. "signal #3", "a subscriber's decision"); ``key`` identifies it."""

    key: str
    subject: str
    waits_for: str


class HoldWatch(Protocol):
    async def fresh(self) -> Hold | None:
        """Something new to hold for since the previous call (each reported once), or None."""
        ...

    async def settled(self, hold: Hold) -> str | None:
        """Why ``hold`` is over (completes "playing: ..."), or None while it still holds."""
        ...


@dataclass(frozen=True, slots=True)
class ReplaySnapshot:
    """The controller's state for display. ``bars``: bars released per symbol after the
    history; ``bar_times``: close time of the last bar released, per symbol."""

    version: int
    state: ReplayState
    reason: str
    speed: float
    interval_s: float
    hold_s: float
    bars: int
    bar_times: Mapping[str, datetime]
    hold_left_s: float | None


class ReplayController:
    """See the module docstring. One instance per replay; its methods run on one event loop."""

    def __init__(
        self,
        interval_s: float,
        *,
        hold_s: float = 60.0,
        watch: HoldWatch | None = None,
        poll_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if interval_s < 0 or hold_s < 0 or poll_s <= 0:
            msg = "need interval_s >= 0 (0 = as fast as possible), hold_s >= 0 and poll_s > 0"
            raise ValueError(msg)
        self.interval_s = interval_s
        self.hold_s = hold_s if interval_s > 0 else 0.0
        self._watch = watch if self.hold_s > 0 else None
        self._poll_s = poll_s
        self._clock = clock
        self._sleep = sleep
        self._state = ReplayState.PLAYING
        self._reason = "playing"
        self._speed = 1.0
        self._allowed = 0  # bars per symbol that may be released
        self._last_tick: float | None = None
        self._hold: Hold | None = None
        self._hold_until = 0.0
        self._bar_times: dict[str, datetime] = {}
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self.version = 0

    # -- the person's controls ---------------------------------------------------------------

    def pause(self) -> ReplaySnapshot:
        self._set(ReplayState.PAUSED, "paused")
        return self.snapshot()

    def play(self) -> ReplaySnapshot:
        self._resume("playing")
        return self.snapshot()

    def step(self) -> ReplaySnapshot:
        """Release exactly one more bar (of every symbol), then stay paused."""
        self._allowed += 1
        self._set(ReplayState.PAUSED, "paused after one step")
        return self.snapshot()

    def set_speed(self, speed: float) -> ReplaySnapshot:
        if speed not in SPEEDS:
            msg = f"speed must be one of {', '.join(f'{s:g}' for s in SPEEDS)}, got {speed!r}"
            raise ValueError(msg)
        self._speed = speed
        self._bump()
        return self.snapshot()

    def snapshot(self) -> ReplaySnapshot:
        left = None
        if self._state is ReplayState.HELD:
            left = max(0.0, self._hold_until - self._clock())
        return ReplaySnapshot(
            version=self.version, state=self._state, reason=self._reason, speed=self._speed,
            interval_s=self.interval_s, hold_s=self.hold_s, bars=self._allowed,
            bar_times=dict(self._bar_times), hold_left_s=left,
        )  # fmt: skip

    async def wait_changed(self, after_version: int, timeout_s: float) -> ReplaySnapshot:
        """The snapshot once ``version`` passed ``after_version`` or ``timeout_s`` ran out
        (a long poll for the page)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while self.version <= after_version:
                    await self._changed.wait()
        return self.snapshot()

    # -- the feeds' side (trading.feeds.ReplayPacer) ------------------------------------------

    async def wait_for_bar(self, index: int) -> None:
        """Return once bar ``index`` (0 = the first after the history) may be released."""
        while index >= self._allowed:
            async with self._lock:  # one feed drives the clock; the others wait for its tick
                if index >= self._allowed:
                    await self._advance()

    def released(self, symbol: str, bar: Bar) -> None:
        self._bar_times[symbol] = bar.time
        self._bump()

    # -- internals ---------------------------------------------------------------------------

    async def _advance(self) -> None:
        """One step of the state machine: release a bar, change state, or wait for either."""
        if self._state is ReplayState.PAUSED:
            await self._until_changed(None)
        elif self._state is ReplayState.HELD:
            await self._check_hold()
        elif self._watch is not None and (hold := await self._watch.fresh()) is not None:
            self._hold, self._hold_until = hold, self._clock() + self.hold_s
            reason = f"held: {hold.subject} waits for {hold.waits_for} (up to {self.hold_s:g} s)"
            self._set(ReplayState.HELD, reason)
        else:
            now = self._clock()
            wait_s = 0.0
            if self._last_tick is not None and self.interval_s > 0:
                wait_s = self._last_tick + self.interval_s / self._speed - now
            if wait_s > 0:
                await self._until_changed(wait_s)
                return
            self._last_tick = now
            self._allowed += 1
            self._bump()

    async def _check_hold(self) -> None:
        hold = self._hold
        if hold is None or self._watch is None:  # a hold always has both; resume to be safe
            self._resume("playing")
            return
        why = await self._watch.settled(hold)
        if self._hold is not hold:  # a person paused or played meanwhile: theirs wins
            return
        if why is None:
            left = self._hold_until - self._clock()
            if left > 0:
                await self._until_changed(min(self._poll_s, left))
                return
            why = f"{self.hold_s:g} s passed without {hold.waits_for} on {hold.subject}"
        self._resume(f"playing: {why}")

    def _resume(self, reason: str) -> None:
        self._last_tick = self._clock()  # the next bar one interval from now
        self._set(ReplayState.PLAYING, reason)

    async def _until_changed(self, timeout_s: float | None) -> None:
        waiters: set[asyncio.Future[object]] = {asyncio.ensure_future(self._changed.wait())}
        if timeout_s is not None:
            waiters.add(asyncio.ensure_future(self._sleep(timeout_s)))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    def _set(self, state: ReplayState, reason: str) -> None:
        if state is not ReplayState.HELD:
            self._hold = None  # a person took over: this hold is over for good
        self._state, self._reason = state, reason
        self._bump()

    def _bump(self) -> None:
        self.version += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
