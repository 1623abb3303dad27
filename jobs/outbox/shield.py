"""Queue operations that run to completion even when the task awaiting them is cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


class Shield:
    """Runs each database operation of the sender in its own task and keeps it until done.

    Cancelling Tortoise inside `in_transaction().__aenter__` leaks SQLite's connection lock
    (every later query hangs), and a half-settled send would stay SENDING; so an operation
    runs in its own task, shielded from its caller's cancellation, and `join()` waits for
    every one still running (what `Sender.stop` and `Sender.abort` do before returning).
    """

    def __init__(self) -> None:
        self._running: set[asyncio.Future[Any]] = set()

    async def run(self, operation: Awaitable[T]) -> T:
        task = asyncio.ensure_future(operation)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return await asyncio.shield(task)

    async def join(self) -> None:
        """Wait for the operations started so far (their errors went to their callers)."""
        await asyncio.gather(*self._running, return_exceptions=True)
