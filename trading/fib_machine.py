"""The Fib-RSI state machine for ONE side, shared by the batch and live detectors.

It consumes one closed bar at a time and keeps O(window) state, never bars. Both sides run the
same code through a mirror: the SELL side sees (x, up, down) = (RSI, High, Low) with thresholds
(hi, lo) = (70, 40); the BUY side sees (-RSI, -Low, -High) with (hi, lo) = (-40, -70). Negation
is exact in floating point, so `-r > -40` is bit-for-bit `r < 40`, and "highest of -Low" is
"lowest Low" with the same earliest-on-ties rule. Rules referenced are STRATEGY.md "A setup".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

NONE: Final = 0
PUBLISH: Final = 1
REVISE: Final = 2
FINAL: Final = 3
CANCEL: Final = 4


@dataclass(slots=True)
class Trigger:
    """A trigger bar i and its leg 1 so far (point 1 in the mirrored frame)."""

    index: int
    time_s: int
    p1_index: int
    p1_time_s: int
    p1_value: float  # mirrored: SELL High, BUY -Low


@dataclass(slots=True)
class Leg2:
    """A setup whose leg 2 started at bar j (its identity) and the extreme found so far."""

    trigger: Trigger
    j_index: int
    j_time_s: int
    p2_index: int
    p2_time_s: int
    p2_value: float  # mirrored: SELL Low, BUY -High
    end_index: int
    end_time_s: int
    published: bool = False  # has it ever been valid (not rejected) at a bar close?


class SideMachine:
    """Per-side detector state. `step` returns one of NONE/PUBLISH/REVISE/FINAL/CANCEL and, when
    not NONE, `last` holds the setup the event is about.

    Events are exactly the changes of the batch view "setups as known at this close": PUBLISH
    when a setup first exists unrejected (normally at bar j; later if price_high <= price_low
    held at j and a lower extreme fixes it), REVISE when point 2 moves, FINAL at the first bar
    after leg 2, CANCEL when a moved point 2 breaks the window (rule 5)."""

    __slots__ = ("hi", "last", "leg1", "leg2", "lo", "pending", "prev_x", "window_s")

    def __init__(self, hi: float, lo: float, window_s: int) -> None:
        self.hi = hi
        self.lo = lo
        self.window_s = window_s
        self.prev_x = float("nan")  # NaN never compares true: no trigger on warm-up bars
        self.pending: list[Trigger] = []  # triggers waiting for their leg-2 bar j, oldest first
        self.leg1: Trigger | None = None  # the trigger whose leg 1 is still running
        self.leg2: Leg2 | None = None  # at most one leg 2 per side at a time (see `_start_leg2`)
        self.last: Leg2 | None = None

    def rejected(self, leg: Leg2) -> bool:
        """Rule 5: point 2 more than `window` after point 1, or price_high <= price_low.
        In the mirrored frame price_high <= price_low is `p1_value <= p2_value` on both sides."""
        trig = leg.trigger
        return leg.p2_time_s - trig.p1_time_s > self.window_s or trig.p1_value <= leg.p2_value

    def step(self, i: int, t_s: int, x: float, up: float, down: float) -> int:
        """Advance by closed bar i (open time t_s, mirrored RSI x, mirrored High/Low up/down)."""
        event = NONE
        leg2 = self.leg2
        if leg2 is not None:
            event = self._continue_leg2(leg2, i, t_s, x, down)
        if x > self.hi:
            if self.prev_x <= self.hi:  # rule 1: trigger
                self._prune(t_s)
                trig = Trigger(i, t_s, i, t_s, up)
                self.pending.append(trig)
                self.leg1 = trig
            elif self.leg1 is not None and up > self.leg1.p1_value:  # strict: earliest on ties
                self.leg1.p1_index, self.leg1.p1_time_s, self.leg1.p1_value = i, t_s, up
        else:
            self.leg1 = None  # rule 2 (fix): leg 1 is contiguous; later overbought bars are not it
            if x <= self.lo and leg2 is None and self.pending:
                event = self._start_leg2(i, t_s, down)
        self.prev_x = x
        return event

    def _continue_leg2(self, leg2: Leg2, i: int, t_s: int, x: float, down: float) -> int:
        if x > self.lo:  # leg 2 ended at the previous bar: final at this bar's close
            self.leg2 = None
            self.last = leg2
            return FINAL if leg2.published else NONE
        leg2.end_index, leg2.end_time_s = i, t_s
        if down >= leg2.p2_value:  # not a new extreme (ties keep the earliest bar)
            return NONE
        leg2.p2_index, leg2.p2_time_s, leg2.p2_value = i, t_s, down
        self.last = leg2
        if leg2.p2_time_s - leg2.trigger.p1_time_s > self.window_s:
            # Rule 5, time part: point 2 only moves later, so this rejection is permanent.
            self.leg2 = None
            return CANCEL if leg2.published else NONE
        if self.rejected(leg2):  # still price_high <= price_low: not publishable yet
            return NONE
        if leg2.published:
            return REVISE
        leg2.published = True  # price_high > price_low only now: first valid state
        return PUBLISH

    def _prune(self, t_s: int) -> None:
        # A trigger older than the window can never reach a future j: drop it (bounded memory).
        pending = self.pending
        while pending and t_s - pending[0].time_s > self.window_s:
            pending.pop(0)

    def _start_leg2(self, j: int, t_s: int, down: float) -> int:
        """Rule 3 + identity: bar j is the first leg-2 bar of EVERY pending trigger (no bar since
        any of them had x <= lo); those within the window merge into one setup whose leg 1 is
        the earliest one's. All pending triggers are consumed either way."""
        self._prune(t_s)
        pending, self.pending = self.pending, []
        if not pending:
            return NONE
        leg2 = Leg2(pending[0], j, t_s, j, t_s, down, j, t_s)
        self.leg2 = leg2
        self.last = leg2
        if self.rejected(leg2):
            # price_high <= price_low at j. A later lower low in leg 2 can make the setup valid
            # (rule 5 is judged on the setup as known at each close), so keep tracking it.
            return NONE
        leg2.published = True
        return PUBLISH
