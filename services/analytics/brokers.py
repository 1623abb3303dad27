"""Fills by broker, without naming anybody's broker: the groups the public page may show.

A terminal's broker is the account's company as its EA reports it (`Device.broker`, free text:
"IC Markets"). Spellings that differ only in case or spacing are one broker (shown in the
spelling most of its terminals report). The fills of a set of signals are grouped by their
terminal's broker, and a group is shown under its broker's name only when it holds at least
`MIN_TERMINALS` distinct terminals **of at least `MIN_TERMINALS` distinct subscribers**: a
subscriber with three terminals at a small broker would otherwise publish that broker as theirs,
and the name is whatever their EA sent. Every smaller group is merged into one `other` group
(it names no broker, so it may hold a single terminal). Terminals that reported no broker form
the `unreported` group under the same rule (merged into `other` while it is smaller).

Each group carries counts and medians (`trading.metrics.median`) only: adverse slippage in
points of the terminal's symbol and in R, and the spread at the fill in points as the EA
reported it (None: no fill of the group had the measure).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from trading import metrics

MIN_TERMINALS = 3  # a group smaller than this (in terminals or in subscribers) is not named
Group = Literal["broker", "unreported", "other"]
_ORDER: dict[Group, int] = {"broker": 0, "unreported": 1, "other": 2}


@dataclass(frozen=True, slots=True)
class FillFacts:
    """What the grouping needs of one fill: whose terminal, its broker, its measures."""

    terminal: int  # the terminal's primary key (never shown)
    owner: int  # its user's primary key (never shown)
    broker: str | None  # as reported (None or blank: not reported)
    spread_points: int | None
    slippage_points: float | None
    slippage_r: float | None


@dataclass(frozen=True, slots=True)
class BrokerSummary:
    """One row of a by-broker table: a named broker, the unreported ones, or all the others."""

    group: Group
    broker: str | None  # the broker's name for group "broker", else None
    terminals: int
    fills: int
    median_slippage_points: float | None  # > 0: worse than the signal's entry
    median_slippage_r: float | None
    median_spread_points: float | None


def broker_key(name: str | None) -> str | None:
    """The broker's identity: its name without case and repeated spaces (None: unreported)."""
    if name is None:
        return None
    key = " ".join(name.split()).casefold()
    return key or None


def median_of(values: Iterable[float | int | None]) -> float | None:
    """The median of the defined values (None: there are none)."""
    value = metrics.median([float(v) for v in values if v is not None])
    return None if math.isnan(value) else value


def _summary(group: Group, broker: str | None, fills: list[FillFacts]) -> BrokerSummary:
    return BrokerSummary(
        group=group, broker=broker, terminals=len({f.terminal for f in fills}), fills=len(fills),
        median_slippage_points=median_of(f.slippage_points for f in fills),
        median_slippage_r=median_of(f.slippage_r for f in fills),
        median_spread_points=median_of(f.spread_points for f in fills),
    )  # fmt: skip


def _large(fills: list[FillFacts]) -> bool:
    terminals = {f.terminal for f in fills}
    owners = {f.owner for f in fills}
    return len(terminals) >= MIN_TERMINALS and len(owners) >= MIN_TERMINALS


def _spelling(fills: list[FillFacts]) -> str:
    """The spelling most of the group's terminals report (ties: the first in sort order)."""
    by_terminal = {f.terminal: " ".join((f.broker or "").split()) for f in fills}
    counts = Counter(by_terminal.values())
    return min(counts, key=lambda name: (-counts[name], name))


def by_broker(fills: Iterable[FillFacts]) -> tuple[BrokerSummary, ...]:
    """The fills grouped as the module's text says: named brokers (most terminals first, then
    by name), then `unreported`, then `other`; a group without fills is left out."""
    groups: dict[str | None, list[FillFacts]] = {}
    for f in fills:
        groups.setdefault(broker_key(f.broker), []).append(f)
    shown: list[BrokerSummary] = []
    other: list[FillFacts] = []
    for key, members in groups.items():
        if not _large(members):
            other.extend(members)
        elif key is None:
            shown.append(_summary("unreported", None, members))
        else:
            shown.append(_summary("broker", _spelling(members), members))
    if other:
        shown.append(_summary("other", None, other))
    return tuple(
        sorted(shown, key=lambda s: (_ORDER[s.group], -s.terminals, (s.broker or "").casefold()))
    )
