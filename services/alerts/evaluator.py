"""The alert evaluator: the sorted index (services.alerts.index) of every active alert, fed by
every price update of the process that owns the feeds (the scheduler leader runs the trading
loop: its closed bars come here; `on_quote` takes a bid/ask where a feed reports one).

- `rebuild()` loads every active alert and each symbol's last stored price (the reference the
  next update is measured from): at the start of leadership;
- `refresh(alert_id)` re-reads one alert's row after it was created, deleted or fired
  anywhere (the `LiveUpdate("alert", ...)` every replica hears), so the index follows the
  database;
- `on_move(symbol, move)` finds the hits in O(log n + k), drops repeating alerts inside their
  cool-down, records the firings with their notifications in one transaction
  (services.alerts.firing) and only then moves the symbol's reference: when recording fails the
  same update can be evaluated again and fires the same alerts, once.

A repeating alert's cool-down counts from its last firing (`last_fired_at`): a crossing inside
it is not a firing (and is not remembered). Time is the process clock (`core.clock`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from core import clock
from models.alerts import AlertState, PriceAlert
from services.alerts import firing
from services.alerts.firing import Fired, Hit
from services.alerts.index import AlertIndex, Move, Watch
from services.alerts.service import digits_of
from services.signals import market_data
from trading.candles import Bar
from trading.numeric import round_to_tick, to_decimal
from trading.symbols import UnknownSymbolError, get_spec


@dataclass(slots=True)
class _Armed:
    """What the evaluator keeps of an active alert besides its level."""

    fired_count: int
    note: str
    repeat: bool
    cooldown_s: int
    digits: int
    last_fired_at: datetime | None

    def ready(self, now: datetime) -> bool:
        if self.last_fired_at is None:
            return True
        return now >= self.last_fired_at + timedelta(seconds=self.cooldown_s)


_COLUMNS = ("id", "symbol", "condition", "level", "fired_count", "note", "repeat", "cooldown_s",
            "last_fired_at")  # fmt: skip


def _watch(row: PriceAlert) -> Watch:
    return Watch(row.id, row.symbol, str(row.condition), Decimal(str(row.level)))  # type: ignore[arg-type]


def _armed(row: PriceAlert) -> _Armed:
    return _Armed(
        fired_count=row.fired_count, note=row.note, repeat=row.repeat, cooldown_s=row.cooldown_s,
        digits=digits_of(row.symbol), last_fired_at=row.last_fired_at,
    )  # fmt: skip


def _tick(symbol: str) -> Decimal | None:
    try:
        return get_spec(symbol).tick_size
    except UnknownSymbolError:
        return None


def price_of(symbol: str, value: float | Decimal) -> Decimal:
    """A feed's price as a Decimal on the symbol's tick (floats carry binary noise)."""
    tick = _tick(symbol)
    return to_decimal(value) if tick is None else round_to_tick(value, tick)


def move_of(symbol: str, bar: Bar) -> Move:
    return Move(price_of(symbol, bar.low), price_of(symbol, bar.high), price_of(symbol, bar.close))


class AlertEvaluator:
    def __init__(self) -> None:
        self.index = AlertIndex()
        self._armed: dict[int, _Armed] = {}
        self._lock = asyncio.Lock()  # one change of the index at a time
        self.evaluated = 0
        self.fired = 0

    def _put(self, row: PriceAlert) -> None:
        self.index.add(_watch(row))
        self._armed[row.id] = _armed(row)

    def _drop(self, alert_id: int) -> None:
        self.index.remove(alert_id)
        self._armed.pop(alert_id, None)

    async def rebuild(self) -> int:
        """Every active alert from the database, and each symbol's last stored price."""
        async with self._lock:
            self.index.clear()
            self._armed.clear()
            rows = await PriceAlert.filter(state=AlertState.ACTIVE).values_list(*_COLUMNS)
            watches = []
            for alert_id, symbol, condition, level, count, note, repeat, cooldown, last in rows:
                watches.append(Watch(alert_id, symbol, str(condition), Decimal(str(level))))  # type: ignore[arg-type]
                self._armed[alert_id] = _Armed(
                    fired_count=count, note=note, repeat=repeat, cooldown_s=cooldown,
                    digits=digits_of(symbol), last_fired_at=last,
                )  # fmt: skip
            self.index.add_many(watches)
            for symbol in {w.symbol for w in watches}:
                found = await market_data.quote(symbol)
                if found is not None:
                    self.index.advance(symbol, price_of(symbol, found.close))
            return len(self.index)

    async def refresh(self, alert_id: int) -> None:
        """Follow the row of `alert_id`: watched while active, forgotten otherwise."""
        async with self._lock:
            row = await PriceAlert.get_or_none(id=alert_id)
            if row is None or row.state is not AlertState.ACTIVE:
                self._drop(alert_id)
                return
            self._put(row)
            if self.index.reference(row.symbol) is None:
                found = await market_data.quote(row.symbol)
                if found is not None:
                    self.index.advance(row.symbol, price_of(row.symbol, found.close))

    def _hits(self, symbol: str, move: Move, now: datetime) -> list[Hit]:
        reference = self.index.reference(symbol)
        out = []
        for alert_id in self.index.hits(symbol, move):
            watch, armed = self.index.get(alert_id), self._armed.get(alert_id)
            if watch is None or armed is None or not armed.ready(now):
                continue
            rising = reference is not None and reference < watch.level
            out.append(Hit(alert_id, armed.fired_count, symbol, watch.level, armed.digits,
                           armed.note, armed.repeat, armed.cooldown_s, rising))  # fmt: skip
        return out

    async def on_move(self, symbol: str, move: Move, now: datetime | None = None) -> list[Fired]:
        """Evaluate one price update of `symbol`; returns the firings recorded. Raises when
        recording fails (the reference stays: evaluating the same move again is safe)."""
        moment = now or clock.now()
        async with self._lock:
            hits = self._hits(symbol, move, moment)
            fired = await firing.record(hits, move.last, moment) if hits else []
            by_id = {h.alert_id: h for h in hits}
            for done in fired:
                hit = by_id[done.alert_id]
                if hit.repeat:
                    armed = self._armed[done.alert_id]
                    armed.fired_count, armed.last_fired_at = done.number, moment
                else:
                    self._drop(done.alert_id)
            recorded = {f.alert_id for f in fired}
            for hit in hits:  # recorded by someone else or gone: the row knows
                if hit.alert_id not in recorded:
                    self._drop(hit.alert_id)
            self.index.advance(symbol, move.last)
            self.evaluated += 1
            self.fired += len(fired)
            return fired

    async def on_bar(self, symbol: str, bar: Bar) -> list[Fired]:
        """A closed bar of `symbol`: one move over its range, ending at its close."""
        return await self.on_move(symbol, move_of(symbol, bar))

    async def on_quote(self, symbol: str, bid: Decimal, ask: Decimal) -> list[Fired]:
        """A bid/ask of `symbol`: the mid price, as one move (a feed reporting quotes)."""
        mid = price_of(symbol, (bid + ask) / 2)
        return await self.on_move(symbol, Move.at(mid))
