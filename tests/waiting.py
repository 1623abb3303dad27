"""Waiting in tests: for the exact state an assertion needs, polled, until a generous deadline.

The one helper for "wait until": it returns as soon as the state holds, so a deadline of tens
of seconds costs nothing when things work and only matters on a loaded machine (CI runs the
suite on two busy cores). The deadline is wall-clock time (`time.monotonic`), never an
iteration count, which stretches with every slow probe. On timeout the message names what was
awaited and the last value seen, so a failure reads as a diagnosis, not "condition not met".
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

DEADLINE_S = 30.0
EVERY_S = 0.01


async def until(
    observe: Callable[[], T | Awaitable[T]],
    what: str = "",
    *,
    accept: Callable[[T], object] = bool,
    timeout_s: float = DEADLINE_S,
    every_s: float = EVERY_S,
) -> T:
    """The first value of ``observe()`` that ``accept`` takes (by default: a truthy one).

    ``observe`` may be sync or async (a database query, an HTTP call). Give it the thing the
    assertion looks at and ``accept`` the assertion's condition, so the timeout message shows
    what was actually there; ``what`` says what was awaited (default: the predicate's source).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = observe()
        if inspect.isawaitable(value):
            value = await value
        if accept(value):
            return value
        if time.monotonic() >= deadline:
            msg = f"waited {timeout_s:g} s for {what or _source(observe)}; last seen: {value!r}"
            raise AssertionError(msg)
        await asyncio.sleep(every_s)


def _source(function: Callable[..., object]) -> str:
    try:
        return inspect.getsource(function).strip()
    except (OSError, TypeError):
        return getattr(function, "__qualname__", repr(function))
