"""The Fib-RSI setup detector (STRATEGY.md "A setup" and "Life of a setup").

One code path: `_Core` feeds each closed bar to two `SideMachine`s (BUY, SELL). The batch
functions run it over arrays (RSI from `indicators.rsi`), the live `IncrementalDetector` over
bars one at a time (RSI from `indicators.RsiState`, bit-identical), so both agree exactly.
Event times are bar CLOSE times (open + timeframe): a setup is known when its bar has closed.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from numpy.typing import ArrayLike

from trading import constants as C
from trading import fib_machine as fm
from trading.candles import Bar, Candles
from trading.indicators import RsiState, rsi
from trading.setups import EventKind, Setup, SetupEvent, Side, StrategyParams, setup_levels
from trading.timeutil import to_unix_s, utc_from_unix_s

_KINDS = {
    fm.PUBLISH: EventKind.PUBLISH,
    fm.REVISE: EventKind.REVISE,
    fm.FINAL: EventKind.FINAL,
    fm.CANCEL: EventKind.CANCEL,
}


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


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
        """Machine state -> `Setup`: undo the mirror, compute levels (rule 6), times to UTC."""
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
        """The symbol every emitted setup carries."""
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
        path; `now` as in `on_bar` (a forming last bar raises), default: each bar's close."""
        now_s = None if now is None else to_unix_s(now)
        if now is not None and len(candles.closed(now)) < len(candles):
            msg = f"candles end with a bar still forming at {now}; pass candles.closed(now)"
            raise ValueError(msg)
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
    now_s = None
    if now is not None:  # never use a bar still forming at `now` (STRATEGY.md "Inputs")
        now_s = to_unix_s(now)
        candles = candles.closed(now)
        r = r[: len(candles)]
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
    """Every PUBLISH/REVISE/FINAL/CANCEL event over `candles`, in bar order, BUY before SELL
    within a bar. All bars are taken as closed unless `now` is given, which drops bars still
    forming at `now` (close time > now).
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
