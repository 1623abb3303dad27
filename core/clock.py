"""The process clock: what "now" means for the application.

Design: one clock per process, read through a process-wide seam. Services, jobs and adapters
ask :func:`now` (an aware UTC datetime) instead of calling ``datetime.now(UTC)``; the
assembly leaves the :class:`SystemClock` installed, and a test that needs time to move
installs a :class:`ManualClock` (the ``clock`` fixture in ``tests/conftest.py``) and moves it
with :meth:`ManualClock.set` / :meth:`ManualClock.advance`. Tests never patch a module's
``datetime``: every module of the process sees the same instant, so a replay can run the whole
app on market time instead of one module on its own clock.

The seam is a module global on purpose, not a context variable: tasks started before the
install (the sender, the trading loop, aiohttp's handlers) and worker threads must read the
same clock, and a process has exactly one notion of "now".

What goes through it: wall-clock time in the business sense, i.e. timestamps stored in the
database, expiries, offline detection, rate and dedupe windows kept in the database. What
does not: timeouts, pacing and latency measurement keep ``time.monotonic()`` (a manual clock
would freeze or jump them, and they must never go backwards); the EA request signature's
freshness check compares the peer's real clock with ours and stays on ``time.time()``.

Imports nothing of the app.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Tells the current instant as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until told to move (tests, replays on market time)."""

    def __init__(self, start: datetime) -> None:
        self._now = _aware_utc(start)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (aware; backwards is allowed, as a replay restarting may)."""
        self._now = _aware_utc(moment)

    def advance(self, delta: timedelta | float) -> datetime:
        """Move forward by ``delta`` (a timedelta or seconds); returns the new instant."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            msg = "a clock advances forward; use set() to go back"
            raise ValueError(msg)
        self._now += step
        return self._now


def _aware_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        msg = "the clock keeps aware datetimes only"
        raise ValueError(msg)
    return moment.astimezone(UTC)


SYSTEM = SystemClock()
_installed: Clock = SYSTEM


def now() -> datetime:
    """The current instant on the installed clock (aware UTC)."""
    return _installed.now()


def timestamp() -> float:
    """:func:`now` as Unix seconds."""
    return now().timestamp()


def installed() -> Clock:
    return _installed


def install(clock: Clock) -> Clock:
    """Make ``clock`` the process clock; returns the one it replaces (to restore it)."""
    global _installed
    previous, _installed = _installed, clock
    return previous


@contextmanager
def using(clock: Clock) -> Iterator[Clock]:
    """Install ``clock`` for the block, then put the previous one back."""
    previous = install(clock)
    try:
        yield clock
    finally:
        install(previous)
