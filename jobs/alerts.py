"""The alert evaluator on the scheduler leader (the process that owns the feeds): every closed
bar the trading loop applies (`bar`, its `on_bar`), and every alert change anywhere (`live`,
fed by the bus's `LiveUpdate("alert", ...)`, which travels between replicas), go through one
queue to `services.alerts.evaluator` in a task of its own (bus handlers and the loop's
callback must not do I/O). Thin: the logic lives in the service.

The index is rebuilt from the database when leadership starts and every `resync_s` (the
safety net for an event lost while the replica bridge reconnected). A move whose recording
fails is retried a few times; given up, it leaves the reference where it was, so the next
move is measured from the older price and a crossing still in range fires then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from services.alerts.evaluator import AlertEvaluator
from services.events import LiveUpdate
from trading.candles import Bar

log = logging.getLogger(__name__)
RETRY_DELAYS_S = (0.5, 2.0, 5.0)
RESYNC_S = 900.0


@dataclass(frozen=True, slots=True)
class _Bar:
    symbol: str
    bar: Bar


@dataclass(frozen=True, slots=True)
class _Refresh:
    alert_id: int


class AlertWatch:
    def __init__(
        self, evaluator: AlertEvaluator | None = None, *, resync_s: float = RESYNC_S
    ) -> None:
        self.evaluator = evaluator or AlertEvaluator()
        self.resync_s = resync_s
        self._queue: asyncio.Queue[_Bar | _Refresh] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._resync: asyncio.Task[None] | None = None
        self.idle = asyncio.Event()  # nothing queued (tests wait on it)
        self.idle.set()

    @property
    def running(self) -> bool:
        return self._task is not None

    def bar(self, symbol: str, bar: Bar) -> None:
        """The trading loop applied `bar` of `symbol` (its `on_bar` callback)."""
        if self._task is not None:
            self._put(_Bar(symbol, bar))

    def live(self, event: LiveUpdate) -> None:
        """An alert was created, deleted or fired (on any replica): re-read its row."""
        if self._task is not None and event.kind == "alert":
            self._put(_Refresh(event.key))

    def _put(self, item: _Bar | _Refresh) -> None:
        self.idle.clear()
        self._queue.put_nowait(item)

    async def start(self) -> None:
        if self._task is not None:
            return
        count = await self.evaluator.rebuild()
        log.info("alert index built", extra={"alerts": count})
        self._task = asyncio.create_task(self._run(), name="alert-watch")
        self._resync = asyncio.create_task(self._resync_every(), name="alert-resync")

    async def stop(self) -> None:
        for task in (self._task, self._resync):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._resync = None
        self._queue = asyncio.Queue()
        self.idle.set()

    async def _resync_every(self) -> None:
        while True:
            await asyncio.sleep(self.resync_s)
            try:
                await self.evaluator.rebuild()
            except Exception:
                log.exception("alert index rebuild failed")

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            await self._handle(item)
            if self._queue.empty():
                self.idle.set()

    async def _handle(self, item: _Bar | _Refresh) -> None:
        for attempt, delay in enumerate((*RETRY_DELAYS_S, None), start=1):
            try:
                if isinstance(item, _Refresh):
                    await self.evaluator.refresh(item.alert_id)
                else:
                    fired = await self.evaluator.on_bar(item.symbol, item.bar)
                    if fired:
                        log.info("alerts fired", extra={"symbol": item.symbol,
                                                        "alerts": [f.alert_id for f in fired]})  # fmt: skip
                return
            except Exception:
                log.exception("alert evaluation failed", extra={"attempt": attempt})
                if delay is None:
                    return
                await asyncio.sleep(delay)
