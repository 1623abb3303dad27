"""The in-memory index of active alerts: per symbol, levels in sorted order, so one price
update costs O(log n + k) for k alerts hit (two binary searches per direction), not O(n).

Semantics of one price update (`Move`: the lowest and highest price it reached and where it
ended): the price travelled from the symbol's previous price (`reference`, the previous
update's `last`) to every price in [low, high]. We never guess the order inside a bar.

- ``above`` at L fires when reference < L <= high: the price came from below and reached L
  (touching L exactly counts; resting on L does not fire again);
- ``below`` at L fires when low <= L < reference, the mirror image;
- ``cross`` fires on either.

So a bar that gaps over L (reference 2390, next bar 2405..2420) fires ``above 2400`` once, and
a price that starts exactly on L fires nothing until it has left L and comes back. The first
update of a symbol with no reference only sets it. Pure code: no database, no clock.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

Condition = Literal["above", "below", "cross"]
UP: frozenset[str] = frozenset({"above", "cross"})  # fire when the price rises to the level
DOWN: frozenset[str] = frozenset({"below", "cross"})  # fire when it falls to it


@dataclass(frozen=True, slots=True)
class Move:
    """One price update: the range it covered and the price it ended at (a bar: low, high,
    close; a quote: the same price three times)."""

    low: Decimal
    high: Decimal
    last: Decimal

    @classmethod
    def at(cls, price: Decimal) -> Move:
        return cls(price, price, price)


@dataclass(slots=True)
class _Side:
    """Levels (sorted) and the alert ids beside them, in the same order."""

    levels: list[Decimal] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)

    def add(self, level: Decimal, alert_id: int) -> None:
        at = bisect_right(self.levels, level)
        self.levels.insert(at, level)
        self.ids.insert(at, alert_id)

    def remove(self, level: Decimal, alert_id: int) -> None:
        start, end = bisect_left(self.levels, level), bisect_right(self.levels, level)
        for i in range(start, end):
            if self.ids[i] == alert_id:
                del self.levels[i], self.ids[i]
                return

    def extend(self, pairs: list[tuple[Decimal, int]]) -> None:
        """Add many at once: one sort, O((n + m) log(n + m)), not one list insert each; an
        alert added after another at an equal level stays after it, as with `add`."""
        merged = sorted([*zip(self.levels, self.ids, strict=True), *pairs], key=lambda p: p[0])
        self.levels = [level for level, _ in merged]
        self.ids = [alert_id for _, alert_id in merged]

    def between(self, start: int, end: int) -> list[int]:
        return self.ids[start:end]


@dataclass(slots=True)
class _Symbol:
    up: _Side = field(default_factory=_Side)
    down: _Side = field(default_factory=_Side)
    reference: Decimal | None = None

    def hits(self, move: Move) -> list[int]:
        prev = self.reference
        if prev is None:
            return []
        out: list[int] = []
        if move.high > prev:  # levels L with prev < L <= high
            up = self.up.levels
            out += self.up.between(bisect_right(up, prev), bisect_right(up, move.high))
        if move.low < prev:  # levels L with low <= L < prev
            down = self.down.levels
            found = self.down.between(bisect_left(down, move.low), bisect_left(down, prev))
            seen = set(out)  # a cross alert sits on both sides; a wide bar may reach it twice
            out += [i for i in found if i not in seen]
        return out


@dataclass(frozen=True, slots=True)
class Watch:
    alert_id: int
    symbol: str
    condition: Condition
    level: Decimal


class AlertIndex:
    """Active alerts by symbol. `hits(symbol, move)` answers which fire without changing the
    reference; `advance(symbol, last)` then moves it (so a failed firing can be retried)."""

    def __init__(self) -> None:
        self._symbols: dict[str, _Symbol] = {}
        self._watches: dict[int, Watch] = {}

    def __len__(self) -> int:
        return len(self._watches)

    def __contains__(self, alert_id: object) -> bool:
        return alert_id in self._watches

    def _symbol(self, name: str) -> _Symbol:
        found = self._symbols.get(name)
        if found is None:
            found = self._symbols[name] = _Symbol()
        return found

    def add(self, watch: Watch) -> None:
        """Watch `watch` (replacing a watch of the same alert id)."""
        self.remove(watch.alert_id)
        entry = self._symbol(watch.symbol)
        if watch.condition in UP:
            entry.up.add(watch.level, watch.alert_id)
        if watch.condition in DOWN:
            entry.down.add(watch.level, watch.alert_id)
        self._watches[watch.alert_id] = watch

    def add_many(self, watches: Iterable[Watch]) -> None:
        """`add` each of `watches`, in one sort per symbol and side."""
        latest: dict[int, Watch] = {}
        for watch in watches:  # a repeated id: the last wins, in its place (as `add` does)
            latest.pop(watch.alert_id, None)
            latest[watch.alert_id] = watch
        sides: dict[tuple[str, bool], list[tuple[Decimal, int]]] = {}
        for watch in latest.values():
            self.remove(watch.alert_id)
            if watch.condition in UP:
                sides.setdefault((watch.symbol, True), []).append((watch.level, watch.alert_id))
            if watch.condition in DOWN:
                sides.setdefault((watch.symbol, False), []).append((watch.level, watch.alert_id))
            self._watches[watch.alert_id] = watch
        for (symbol, up), pairs in sides.items():
            entry = self._symbol(symbol)
            (entry.up if up else entry.down).extend(pairs)

    def remove(self, alert_id: int) -> Watch | None:
        watch = self._watches.pop(alert_id, None)
        if watch is None:
            return None
        entry = self._symbols[watch.symbol]
        if watch.condition in UP:
            entry.up.remove(watch.level, alert_id)
        if watch.condition in DOWN:
            entry.down.remove(watch.level, alert_id)
        return watch

    def get(self, alert_id: int) -> Watch | None:
        return self._watches.get(alert_id)

    def reference(self, symbol: str) -> Decimal | None:
        found = self._symbols.get(symbol)
        return None if found is None else found.reference

    def advance(self, symbol: str, last: Decimal) -> None:
        """The symbol's price is now `last` (the next update is measured from it)."""
        self._symbol(symbol).reference = last

    def hits(self, symbol: str, move: Move) -> list[int]:
        """The alerts `move` fires on `symbol` (module docstring), up side first."""
        found = self._symbols.get(symbol)
        return [] if found is None else found.hits(move)

    def clear(self) -> None:
        self._symbols.clear()
        self._watches.clear()


def naive_hits(watches: Iterable[Watch], reference: Decimal | None, move: Move) -> set[int]:
    """The same rule as `AlertIndex.hits`, by scanning every watch (the tests' oracle)."""
    if reference is None:
        return set()
    out = set()
    for w in watches:
        rises = w.condition in UP and reference < w.level <= move.high
        falls = w.condition in DOWN and move.low <= w.level < reference
        if rises or falls:
            out.add(w.alert_id)
    return out
