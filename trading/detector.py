"""The Fib-RSI setup detector (STRATEGY.md "A setup" and "Life of a setup").

One code path: `_Core` feeds each closed bar to two `SideMachine`s (BUY, SELL). The batch
functions run it over arrays (RSI from `indicators.rsi`), the live `IncrementalDetector` over
bars one at a time (RSI from `indicators.RsiState`, bit-identical), so both agree exactly.
Event times are bar CLOSE times (open + timeframe): a setup is known when its bar has closed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike

from trading import constants as C
from trading import fib_machine as fm
from trading.candles import Bar, Candles
from trading.indicators import RsiState, rsi
from trading.timeutil import to_unix_s, utc_from_unix_s


class Side(StrEnum):
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


_KINDS = {
    fm.PUBLISH: EventKind.PUBLISH,
    fm.REVISE: EventKind.REVISE,
    fm.FINAL: EventKind.FINAL,
    fm.CANCEL: EventKind.CANCEL,
}


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


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
        return self.point1_price if self.side is Side.SELL else self.point2_price

    @property
    def price_low(self) -> float:
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


class _Core:
    """Both side machines plus the conversion of machine state into `Setup`s/`SetupEvent`s."""

    __slots__ = ("buy", "params", "sell", "symbol", "timeframe_s")

    def __init__(self, symbol: str, params: StrategyParams, timeframe_s: int) -> None:
        _require(timeframe_s > 0, f"timeframe_s must be > 0 seconds (3600 for H1): {timeframe_s}")
        self.symbol = symbol
        self.params = params
        self.timeframe_s = timeframe_s
        w = params.window_s
        self.sell = fm.SideMachine(params.rsi_high, params.rsi_low, w)
        self.buy = fm.SideMachine(-params.rsi_low, -params.rsi_high, w)  # mirrored frame

    def step(
        self, i: int, t_s: int, r: float, high: float, low: float, now_s: int | None
    ) -> list[SetupEvent]:
        """Feed closed bar i (open time t_s, RSI r). Events in order BUY then SELL."""
        events: list[SetupEvent] = []
        code = self.buy.step(i, t_s, -r, -low, -high)
        if code != fm.NONE:
            events.append(self._event(Side.BUY, self.buy, code, i, t_s, now_s))
        code = self.sell.step(i, t_s, r, high, low)
        if code != fm.NONE:
            events.append(self._event(Side.SELL, self.sell, code, i, t_s, now_s))
        return events

    def _event(
        self, side: Side, m: fm.SideMachine, code: int, i: int, t_s: int, now_s: int | None
    ) -> SetupEvent:
        leg = m.last
        if leg is None:  # pragma: no cover - the machine sets `last` with every event
            msg = "internal error: event without a setup"
            raise RuntimeError(msg)
        setup = self.setup(side, leg, final=code == fm.FINAL)
        close_s = t_s + self.timeframe_s
        age_s = (close_s if now_s is None else now_s) - leg.p2_time_s
        too_old = age_s > self.params.max_age_hours * C.SECONDS_PER_HOUR
        return SetupEvent(_KINDS[code], setup, utc_from_unix_s(close_s), i, too_old)

    def setup(self, side: Side, leg: fm.Leg2, *, final: bool) -> Setup:
        trig = leg.trigger
        if side is Side.SELL:
            p1_price, p2_price = trig.p1_value, leg.p2_value
            price_high, price_low = p1_price, p2_price
        else:  # undo the mirror: exact
            p1_price, p2_price = -trig.p1_value, -leg.p2_value
            price_high, price_low = p2_price, p1_price
        entry, stop, tp = setup_levels(side, price_high, price_low, self.params)
        return Setup(
            symbol=self.symbol,
            side=side,
            trigger_time=utc_from_unix_s(trig.time_s),
            leg2_start=utc_from_unix_s(leg.j_time_s),
            point1_time=utc_from_unix_s(trig.p1_time_s),
            point1_price=p1_price,
            point2_time=utc_from_unix_s(leg.p2_time_s),
            point2_price=p2_price,
            entry=entry,
            stop=stop,
            take_profit=tp,
            final=final,
            leg2_end_time=utc_from_unix_s(leg.end_time_s),
            published_at=utc_from_unix_s(leg.j_time_s + self.timeframe_s),
            trigger_index=trig.index,
            leg2_start_index=leg.j_index,
            point1_index=trig.p1_index,
            point2_index=leg.p2_index,
            leg2_end_index=leg.end_index,
        )

    def open_setups(self) -> list[Setup]:
        """Setups whose leg 2 is still running (not final), BUY first."""
        pairs = ((Side.BUY, self.buy.leg2), (Side.SELL, self.sell.leg2))
        return [
            self.setup(side, leg, final=False)
            for side, leg in pairs
            if leg is not None and leg.published
        ]


class IncrementalDetector:
    """Live detector: feed CLOSED bars in time order with `on_bar`; identical to the batch
    functions on the same bars. Memory is bounded: RSI state, each side's running legs and
    the triggers younger than `window_hours` (no bar history is kept)."""

    def __init__(
        self, symbol: str, params: StrategyParams | None = None, timeframe_s: int = 3600
    ) -> None:
        self.params = params if params is not None else StrategyParams()
        self._core = _Core(symbol, self.params, timeframe_s)
        self._rsi = RsiState(self.params.rsi_period)
        self._count = 0
        self._last_time_s: int | None = None

    @property
    def symbol(self) -> str:
        return self._core.symbol

    @property
    def bars_seen(self) -> int:
        """Bars consumed so far; the next bar gets this index."""
        return self._count

    def on_bar(self, bar: Bar, now: datetime | None = None) -> list[SetupEvent]:
        """Consume one closed bar; return the events its close produced (BUY before SELL).

        `now` (aware): wall clock used to refuse a still-forming bar (close > now) and to judge
        `too_old`; default: the bar's close time. Bars must be strictly increasing in time.
        """
        t_s = to_unix_s(bar.time)
        now_s = None if now is None else to_unix_s(now)
        if now_s is not None and t_s + self._core.timeframe_s > now_s:
            msg = f"bar {bar.time.isoformat()} is still forming at {now}; feed closed bars only"
            raise ValueError(msg)
        return self._feed(t_s, bar.high, bar.low, bar.close, now_s)

    def _feed(
        self, t_s: int, high: float, low: float, close: float, now_s: int | None
    ) -> list[SetupEvent]:
        if self._last_time_s is not None and t_s <= self._last_time_s:
            last = utc_from_unix_s(self._last_time_s).isoformat()
            msg = f"bar at {utc_from_unix_s(t_s).isoformat()} is not after {last}; feed in order"
            raise ValueError(msg)
        r = self._rsi.update(close)
        events = self._core.step(self._count, t_s, r, high, low, now_s)
        self._count += 1
        self._last_time_s = t_s
        return events

    def replay(self, candles: Candles, now: datetime | None = None) -> list[SetupEvent]:
        """Feed every bar of `candles` (which continue this detector's history) via `on_bar`'s
        path; `now` as in `on_bar`, default: each bar's own close."""
        now_s = None if now is None else to_unix_s(now)
        events: list[SetupEvent] = []
        for t_s, high, low, close in zip(
            candles.time.tolist(),
            candles.high.tolist(),
            candles.low.tolist(),
            candles.close.tolist(),
            strict=True,
        ):
            events.extend(self._feed(t_s, high, low, close, now_s))
        return events

    def open_setups(self) -> list[Setup]:
        """Setups whose leg 2 is still running, as known at the last bar fed."""
        return self._core.open_setups()


def _run(
    candles: Candles,
    params: StrategyParams,
    rsi_values: ArrayLike | None,
    now: datetime | None = None,
) -> tuple[_Core, list[SetupEvent]]:
    """The batch path: vectorised RSI, then the same `_Core.step` as the live detector."""
    core = _Core(candles.symbol, params, candles.timeframe_s)
    if rsi_values is None:
        r = rsi(candles.close, params.rsi_period).tolist()
    else:
        r = np.asarray(rsi_values, dtype=np.float64).tolist()
        _require(len(r) == len(candles), f"{len(r)} RSI values for {len(candles)} bars")
    now_s = None if now is None else to_unix_s(now)
    events: list[SetupEvent] = []
    step = core.step
    rows = zip(candles.time.tolist(), r, candles.high.tolist(), candles.low.tolist(), strict=True)
    for i, (t_s, r_i, high, low) in enumerate(rows):
        found = step(i, t_s, r_i, high, low, now_s)
        if found:
            events.extend(found)
    return core, events


def detect_events(
    candles: Candles,
    params: StrategyParams | None = None,
    *,
    rsi_values: ArrayLike | None = None,
    now: datetime | None = None,
) -> list[SetupEvent]:
    """Every PUBLISH/REVISE/FINAL/CANCEL event over `candles` (all bars taken as closed; use
    `Candles.closed(now)` to drop a forming bar), in bar order, BUY before SELL within a bar.
    Identical to `IncrementalDetector.replay` from an empty state. `rsi_values` (one per bar)
    replaces the computed RSI: for caching in backtests and for rule tests. `now` (aware):
    the wall clock `too_old` is judged against; default: each event's own bar close.
    """
    p = params if params is not None else StrategyParams()
    return _run(candles, p, rsi_values, now)[1]


def detect_setups(
    candles: Candles, params: StrategyParams | None = None, *, rsi_values: ArrayLike | None = None
) -> list[Setup]:
    """Every non-rejected setup as known at the close of the last bar, ordered by leg-2 start
    (BUY first on equal times). `final` is True when leg 2 ended before the last bar.
    The view is the fold of `detect_events`: the latest event per key, minus CANCELs."""
    p = params if params is not None else StrategyParams()
    core, events = _run(candles, p, rsi_values)
    latest: dict[tuple[str, Side, datetime], SetupEvent] = {}
    for ev in events:
        latest[ev.setup.key] = ev
    done = [ev.setup for ev in latest.values() if ev.kind is EventKind.FINAL]
    setups = done + core.open_setups()
    setups.sort(key=lambda s: (s.leg2_start, s.side is Side.SELL))
    return setups


__all__ = [
    "EventKind",
    "IncrementalDetector",
    "Setup",
    "SetupEvent",
    "Side",
    "StrategyParams",
    "detect_events",
    "detect_setups",
    "setup_levels",
]
