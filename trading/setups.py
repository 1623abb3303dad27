"""Value types of the Fib-RSI detector: sides, parameters, setups and their events.

Re-exported by `trading.detector`, which is where callers should import them from.
Rules referenced are STRATEGY.md "A setup" and "Life of a setup".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum

from trading import constants as C
from trading.timeutil import to_unix_s


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


class Side(StrEnum):
    """Trade direction of a setup (BUY setups follow oversold-then-overbought legs)."""

    BUY = "buy"
    SELL = "sell"


class EventKind(StrEnum):
    """PUBLISH at the close of bar j (or, when price_high <= price_low at j, at the first later
    leg-2 close where a new extreme makes the setup valid); REVISE at the close of a later leg-2 bar with a new extreme;
    FINAL at the close of the first bar after leg 2; CANCEL when a revision makes the setup
    rejected (rule 5: point 2 moved more than `window_hours` after point 1). CANCEL and FINAL
    are terminal; pending orders of a cancelled setup must be cancelled."""

    PUBLISH = "publish"
    REVISE = "revise"
    FINAL = "final"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class StrategyParams:
    """Strategy parameters (defaults: STRATEGY.md). RSI thresholds in RSI points (0-100),
    durations in hours, ratios unitless."""

    rsi_period: int = C.RSI_PERIOD
    rsi_high: float = C.RSI_HIGH
    rsi_low: float = C.RSI_LOW
    window_hours: float = C.WINDOW_HOURS
    entry_ratio: float = C.ENTRY_RATIO
    stop_ratio: float = C.STOP_RATIO
    reward_risk: float = C.REWARD_RISK
    max_age_hours: float = C.MAX_SETUP_AGE_HOURS
    order_expiry_hours: float = C.ORDER_EXPIRY_HOURS

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            _require(
                isinstance(value, int | float) and math.isfinite(value),
                f"{f.name} must be a finite number, got {value!r}",
            )
        _require(
            isinstance(self.rsi_period, int) and self.rsi_period >= 1,
            f"rsi_period must be an integer >= 1 (default 14), got {self.rsi_period!r}",
        )
        _require(
            0 < self.rsi_low < self.rsi_high < 100,
            f"need 0 < rsi_low < rsi_high < 100, got rsi_low={self.rsi_low}, "
            f"rsi_high={self.rsi_high}; e.g. rsi_low=40, rsi_high=70",
        )
        _require(
            0 < self.entry_ratio < 1,
            f"entry_ratio must be in (0, 1) (default 0.74), got {self.entry_ratio}",
        )
        _require(self.stop_ratio >= 0, f"stop_ratio must be >= 0 (0.27), got {self.stop_ratio}")
        for name in ("window_hours", "reward_risk", "max_age_hours", "order_expiry_hours"):
            value = getattr(self, name)
            _require(
                value > 0,
                f"{name} must be > 0, got {value}; the default is "
                + str(getattr(StrategyParams, name)),
            )

    @property
    def window_s(self) -> int:
        """The leg window in seconds (times are compared in whole seconds)."""
        return round(self.window_hours * C.SECONDS_PER_HOUR)


@dataclass(frozen=True, slots=True)
class Setup:
    """A setup as known at some bar close. Times are aware UTC bar OPEN times except
    `published_at` (close of bar j). Prices are raw floats in quote units, unrounded.
    SELL: point 1 = highest High of leg 1 (`price_high`), point 2 = lowest Low of leg 2;
    BUY: point 1 = lowest Low of leg 1, point 2 = highest High of leg 2."""

    symbol: str
    side: Side
    trigger_time: datetime
    leg2_start: datetime
    point1_time: datetime
    point1_price: float
    point2_time: datetime
    point2_price: float
    entry: float
    stop: float
    take_profit: float
    final: bool
    leg2_end_time: datetime
    published_at: datetime
    trigger_index: int
    leg2_start_index: int
    point1_index: int
    point2_index: int
    leg2_end_index: int

    @property
    def key(self) -> tuple[str, Side, datetime]:
        """Identity (STRATEGY.md): (symbol, side, time of bar j)."""
        return (self.symbol, self.side, self.leg2_start)

    @property
    def price_high(self) -> float:
        """The High end of the Fib range: SELL point 1's High, BUY point 2's High."""
        return self.point1_price if self.side is Side.SELL else self.point2_price

    @property
    def price_low(self) -> float:
        """The Low end of the Fib range: SELL point 2's Low, BUY point 1's Low."""
        return self.point2_price if self.side is Side.SELL else self.point1_price

    def age_hours(self, now: datetime) -> float:
        """Hours from point 2's bar open to `now` (aware)."""
        return (to_unix_s(now) - to_unix_s(self.point2_time)) / C.SECONDS_PER_HOUR

    def is_too_old(self, now: datetime, max_age_hours: float = C.MAX_SETUP_AGE_HOURS) -> bool:
        """STRATEGY.md "Too old": `now - time[point2] > max_age_hours` => not published."""
        return self.age_hours(now) > max_age_hours


@dataclass(frozen=True, slots=True)
class SetupEvent:
    """What happened to a setup at the close of one bar. `bar_time` is that bar's CLOSE time
    (open + timeframe), `bar_index` its index; `too_old` per `Setup.is_too_old(now)`, where
    `now` is `bar_time` unless the caller passed a wall-clock `now`."""

    kind: EventKind
    setup: Setup
    bar_time: datetime
    bar_index: int
    too_old: bool


def setup_levels(
    side: Side, price_high: float, price_low: float, params: StrategyParams
) -> tuple[float, float, float]:
    """(entry, stop, take_profit) in price units, STRATEGY.md rule 6.

    SELL: range = high - low; entry = low + e*range; stop = high + s*range;
    tp = entry - rr*(stop - entry). BUY: entry = high - e*range; stop = low - s*range;
    tp = entry + rr*(entry - stop). Defaults e=0.74, s=0.27, rr=3.25.
    """
    rng = price_high - price_low
    if side is Side.SELL:
        entry = price_low + params.entry_ratio * rng
        stop = price_high + params.stop_ratio * rng
        return entry, stop, entry - params.reward_risk * (stop - entry)
    entry = price_high - params.entry_ratio * rng
    stop = price_low - params.stop_ratio * rng
    return entry, stop, entry + params.reward_risk * (entry - stop)
