"""Simulated time for the sender's collaborators: a `jobs.outbox.pacing.TimeSource` whose
`sleep` parks the task, and a driver that jumps the clock to the earliest parked deadline
once every task it runs is parked. Nothing sleeps for real."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
MAX_YIELDS = 1000  # a task not parked after this many loop turns waits on something real
MAX_SIMULATED_S = 3600.0  # a run still going after a simulated hour never ends


@dataclass(order=True)
class _Parked:
    deadline: float
    seq: int
    wake: asyncio.Future[None] = field(compare=False)
    task: asyncio.Task[Any] | None = field(compare=False)
    until: asyncio.Event | None = field(compare=False)


class SimTime:
    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._parked: list[_Parked] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._joining: dict[asyncio.Task[Any], list[asyncio.Task[Any]]] = {}  # -> waited for
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float, until: asyncio.Event | None = None) -> None:
        if until is not None and (seconds <= 0 or until.is_set()):
            return
        wake = asyncio.get_running_loop().create_future()
        deadline = self.now + max(0.0, seconds)
        heapq.heappush(
            self._parked, _Parked(deadline, next(self._seq), wake, asyncio.current_task(), until)
        )
        await wake

    def spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """A task whose sleeps this driver waits for (before jumping the clock)."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        return task

    async def join(self, tasks: list[asyncio.Task[T]]) -> list[T]:
        """Wait for spawned tasks (the only way a driven task may wait for others)."""
        me = asyncio.current_task()
        assert me is not None
        self._joining[me] = list(tasks)
        try:
            return list(await asyncio.gather(*tasks))
        finally:
            del self._joining[me]

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` (and what it spawns) to completion on simulated time."""
        main = self.spawn(coro)
        give_up = self.now + MAX_SIMULATED_S
        while True:
            await self._settle()
            if main.done():
                return main.result()
            pending = [p for p in self._parked if not p.wake.done()]
            if not pending:
                msg = "deadlock: nothing is parked on simulated time"
                raise RuntimeError(msg)
            self._jump()
            if self.now > give_up:
                main.cancel()
                msg = f"still running after {MAX_SIMULATED_S} simulated seconds"
                raise RuntimeError(msg)

    def _jump(self) -> None:
        while self._parked:
            parked = heapq.heappop(self._parked)
            if not parked.wake.done():
                self.now = max(self.now, parked.deadline)
                parked.wake.set_result(None)
                return

    async def _settle(self) -> None:
        """Let every task run until it is parked or done; wake those whose event was set."""
        for _ in range(MAX_YIELDS):
            for parked in self._parked:
                if parked.until is not None and parked.until.is_set() and not parked.wake.done():
                    parked.wake.set_result(None)
            asleep = {p.task for p in self._parked if not p.wake.done()}
            asleep |= {task for task, ts in self._joining.items() if not all(t.done() for t in ts)}
            if all(task.done() or task in asleep for task in self._tasks):
                return
            await asyncio.sleep(0)
        msg = "a task waits on something other than simulated time"
        raise RuntimeError(msg)
