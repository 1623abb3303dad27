"""Micro-batching: many concurrent single-item calls served by one database round trip.

A thousand terminals woken at once each ask "what is pending for me?"; a thousand requests in
flight each need their nonce recorded. Each caller awaits `Batcher.submit(item)`; the items
that arrive within the same event-loop turn (and while the previous batch runs) go to the
database together. Latency added: one loop turn. This is the group-commit idea of database
engines (see PostgreSQL's ``commit_delay``), without a timer.

Never submit from inside a transaction: the batch runs in its own task, on the default
connection, not on the caller's transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
BatchFn = Callable[[Sequence[T]], Awaitable[Sequence[R]]]


class Batcher(Generic[T, R]):
    """Coalesce concurrent `submit` calls into calls of ``run(items) -> results`` (aligned).

    ``run`` receives every submitted item, duplicates included, and must return one result per
    item in the same order. If it raises, every caller of that batch gets the exception.
    """

    def __init__(self, run: BatchFn[T, R], *, max_size: int = 500, name: str = "batch") -> None:
        self._run = run
        self._max_size = max_size
        self._name = name
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def submit(self, item: T) -> R:
        """Add ``item`` to the next batch and wait for its result."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests, restarts): forget the old one
            self._loop, self._queue, self._task = loop, [], None
        future: asyncio.Future[R] = loop.create_future()
        self._queue.append((item, future))
        if self._task is None:
            self._task = loop.create_task(self._drain(), name=f"batcher:{self._name}")
        return await future

    async def _drain(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            await asyncio.sleep(0)  # let everything woken in this loop turn join the batch
            while self._queue:
                batch = self._queue[: self._max_size]
                del self._queue[: self._max_size]
                await self._run_batch(batch)
        except asyncio.CancelledError:  # shutting down: nobody may wait forever
            for _, future in [*batch, *self._queue]:
                future.cancel()
            self._queue = []
            raise
        finally:
            self._task = None

    async def _run_batch(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._run([item for item, _ in batch])
            if len(results) != len(batch):
                msg = f"{self._name}: {len(results)} results for {len(batch)} items"
                raise RuntimeError(msg)
        except Exception as exc:
            log.warning("batch failed", extra={"batch": self._name, "error": repr(exc)})
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():  # the caller may have been cancelled meanwhile
                future.set_result(result)
