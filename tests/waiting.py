"""Waiting for a condition in tests: polled, with a generous deadline (never a fixed sleep)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Return as soon as ``predicate()`` holds; fail after ``timeout_s``."""
    for _ in range(int(timeout_s / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")
