"""The alert evaluator on the scheduler leader (the process that owns the feeds): every closed
bar the trading loop applies (`bar`, its `on_bar`), and every alert change anywhere (`live`,
fed by the bus's `LiveUpdate("alert", ...)`, which travels between replicas), go through one
queue to `services.alerts.evaluator` in a task of its own (bus handlers and the loop's
callback must not do I/O). Thin: the logic lives in the service.

Terminals' bid/ask quotes (`quotes`, fed by the bus's `QuotesReported`, which travels from the
replica that accepted the account report) are coalesced per symbol: the queue holds at most one
entry per symbol waiting, pointing at that symbol's latest quote, so a flood of reports while
the watch is behind replaces quotes instead of growing the queue. Only the latest price of a
symbol matters: a crossing that a superseded quote made and the latest undid is not seen, as a
feed ticking less often would not see it.

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
from services.events import LiveUpdate, Quote, QuotesReported
from trading.candles import Bar

log = logging.getLogger(__name__)
RETRY_DELAYS_S = (0.5, 2.0, 5.0)
RESYNC_S = 900.0
MAX_QUOTED_SYMBOLS = 1_000  # distinct symbols with a quote waiting (ours are far fewer)


@dataclass(frozen=True, slots=True)
class _Bar:
    symbol: str
    bar: Bar


@dataclass(frozen=True, slots=True)
class _Refresh:
    alert_id: int


@dataclass(frozen=True, slots=True)
class _Quoted:
    """`symbol` has a quote waiting (the latest is in `AlertWatch._quotes`)."""

    symbol: str


_Item = _Bar | _Refresh | _Quoted | Quote


class AlertWatch:
    def __init__(
        self, evaluator: AlertEvaluator | None = None, *, resync_s: float = RESYNC_S
    ) -> None:
        self.evaluator = evaluator or AlertEvaluator()
        self.resync_s = resync_s
        self._queue: asyncio.Queue[_Bar | _Refresh | _Quoted] = asyncio.Queue()
        self._quotes: dict[str, Quote] = {}  # the latest quote of each symbol waiting
        self.quotes_replaced = 0  # quotes superseded by a newer one before being evaluated
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

    def quotes(self, event: QuotesReported) -> None:
        """A terminal reported bid/ask quotes (on any replica): evaluate the latest of each."""
        if self._task is None:
            return
        for quote in event.quotes:
            if quote.symbol in self._quotes:
                self.quotes_replaced += 1
            elif len(self._quotes) >= MAX_QUOTED_SYMBOLS:
                log.warning("too many quoted symbols waiting", extra={"symbol": quote.symbol})
                continue
            else:
                self._put(_Quoted(quote.symbol))
            self._quotes[quote.symbol] = quote

    @property
    def waiting(self) -> int:
        """Items queued (bars, refreshes and one per symbol with a quote waiting)."""
        return self._queue.qsize()

    def _put(self, item: _Bar | _Refresh | _Quoted) -> None:
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
        self._quotes.clear()
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
            item: _Item | None = await self._queue.get()
            if isinstance(item, _Quoted):  # the latest quote now, newer ones queue again
                item = self._quotes.pop(item.symbol, None)
            if item is not None:
                await self._handle(item)
            if self._queue.empty():
                self.idle.set()

    async def _handle(self, item: _Bar | _Refresh | Quote) -> None:
        for attempt, delay in enumerate((*RETRY_DELAYS_S, None), start=1):
            try:
                if isinstance(item, _Refresh):
                    await self.evaluator.refresh(item.alert_id)
                else:
                    if isinstance(item, Quote):
                        fired = await self.evaluator.on_quote(item.symbol, item.bid, item.ask)
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
