"""Order construction on a real symbol (STRATEGY.md "Order construction on a real symbol").

Raw detector levels (floats) become a broker-ready LIMIT order in `Decimal`: prices on the tick
grid, the stop at least `max(5 points, stops_level)` from the entry, the take-profit computed
from the ROUNDED entry and stop and rounded away from the entry (so reward:risk >= 3.25 holds
after rounding), and a volume that never risks more than the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from trading import constants as C
from trading.detector import Setup, Side, StrategyParams
from trading.numeric import floor_to_step, round_away_from, round_to_tick, to_decimal
from trading.symbols import SymbolSpec
from trading.timeutil import require_aware

OrderType = Literal["limit", "market"]
_DEFAULT_RISK_PCT = Decimal(str(C.DEFAULT_RISK_PCT))


class Adjustment(StrEnum):
    """Machine-readable reasons a plan differs from the raw levels."""

    PRICE_ADJUSTED_MARKET_THROUGH_ENTRY = "price_adjusted_market_through_entry"
    STOP_MOVED_TO_MIN_DISTANCE = "stop_moved_to_min_distance"
    VOLUME_CLAMPED_TO_MAX = "volume_clamped_to_max"


class RefusalCode(StrEnum):
    """Machine-readable reasons `build_order` refuses (carried by `OrderRefused.code`)."""

    INVALID_LEVELS = "invalid_levels"
    INVALID_ACCOUNT = "invalid_account"
    INVALID_QUOTE = "invalid_quote"
    ORDER_EXPIRED = "order_expired"
    MARKET_THROUGH_STOP = "market_through_stop"
    RISK_BUDGET_BELOW_MIN_VOLUME = "risk_budget_below_min_volume"


class OrderRefused(ValueError):
    """No order can be built; `code` is a `RefusalCode`, the message says why and what to do."""

    def __init__(self, code: RefusalCode, message: str) -> None:
        self.code = code
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True, slots=True)
class OrderLevels:
    """Levels not coming from a `Setup` (manual signals, tests). Prices in quote units."""

    side: Side
    entry: float | Decimal
    stop: float | Decimal
    published_at: datetime


@dataclass(frozen=True, slots=True)
class RoundedLevels:
    """Entry/stop/take-profit on the tick grid, with the adjustments made."""

    entry: Decimal
    stop: Decimal
    take_profit: Decimal
    adjustments: tuple[Adjustment, ...]


@dataclass(frozen=True, slots=True)
class Sizing:
    """`volume` in lots; `risk_money` = volume * loss per lot at the stop (account money)."""

    volume: Decimal
    risk_money: Decimal
    clamped_to_max: bool


@dataclass(frozen=True, slots=True)
class OrderPlan:
    """A broker-ready pending order. Prices are Decimal on the tick grid; `volume` in lots;
    money in account currency; `adjustments` are codes, `notes` the matching human text.
    This builder always produces `order_type == "limit"`."""

    side: Side
    order_type: OrderType
    entry: Decimal
    stop: Decimal
    take_profit: Decimal
    volume: Decimal
    risk_money: Decimal
    risk_budget: Decimal
    stop_points: int
    expires_at: datetime
    adjustments: tuple[Adjustment, ...]
    notes: tuple[str, ...]

    @property
    def reward_risk(self) -> Decimal:
        """|take_profit - entry| / |entry - stop| of the rounded levels (>= params.reward_risk)."""
        return reward_risk(self.entry, self.stop, self.take_profit)


def reward_risk(entry: Decimal, stop: Decimal, take_profit: Decimal) -> Decimal:
    """Reward:risk = |take_profit - entry| / |entry - stop| (unitless, exact in Decimal).

    Raises ValueError when entry == stop (the risk is zero: move the stop)."""
    risk = abs(entry - stop)
    if risk == 0:
        msg = "entry equals stop: risk is zero; move the stop away from the entry"
        raise ValueError(msg)
    return abs(take_profit - entry) / risk


def _min_stop_distance(spec: SymbolSpec) -> Decimal:
    return max(C.MIN_STOP_POINTS, spec.stops_level) * spec.point


def round_levels(
    side: Side,
    entry: float | Decimal,
    stop: float | Decimal,
    spec: SymbolSpec,
    params: StrategyParams | None = None,
) -> RoundedLevels:
    """Round entry and stop to the tick (nearest), push the stop out to
    `max(MIN_STOP_POINTS, stops_level) * point` when closer, then
    take_profit = entry +/- reward_risk * |entry - stop| from the ROUNDED values, rounded away
    from the entry. Guarantees `reward_risk(...) >= params.reward_risk`. Price units.
    Raises OrderRefused(INVALID_LEVELS) when the stop is on the wrong side of the entry.
    """
    p = params if params is not None else StrategyParams()
    sign = 1 if side is Side.BUY else -1  # the stop lies at entry - sign * distance
    entry_d, stop_d = to_decimal(entry), to_decimal(stop)
    if sign * (entry_d - stop_d) <= 0 or entry_d <= 0:
        msg = f"{side} stop {stop_d} must be {'below' if sign > 0 else 'above'} entry {entry_d}"
        raise OrderRefused(RefusalCode.INVALID_LEVELS, msg)
    tick = spec.tick_size
    entry_r = round_to_tick(entry_d, tick)
    stop_r = round_to_tick(stop_d, tick)
    adjustments: list[Adjustment] = []
    min_dist = _min_stop_distance(spec)
    if sign * (entry_r - stop_r) < min_dist:
        stop_r = round_away_from(entry_r - sign * min_dist, tick, entry_r)
        adjustments.append(Adjustment.STOP_MOVED_TO_MIN_DISTANCE)
    rr = to_decimal(p.reward_risk)
    take_profit = round_away_from(entry_r + sign * rr * abs(entry_r - stop_r), tick, entry_r)
    if take_profit <= 0 or stop_r <= 0:
        msg = f"levels leave non-positive prices (stop {stop_r}, take-profit {take_profit})"
        raise OrderRefused(RefusalCode.INVALID_LEVELS, msg)
    return RoundedLevels(entry_r, stop_r, take_profit, tuple(adjustments))


def position_size(risk_budget: Decimal, stop_distance: Decimal, spec: SymbolSpec) -> Sizing:
    """lots = risk_budget / (stop_distance / tick_size * tick_value), floored to volume_step,
    clamped to volume_max. Money in account currency, distance in price units.
    Raises OrderRefused(RISK_BUDGET_BELOW_MIN_VOLUME) when even volume_min risks more than
    the budget (never rounds up past the budget)."""
    if stop_distance <= 0:
        msg = f"stop distance must be > 0, got {stop_distance}"
        raise OrderRefused(RefusalCode.INVALID_LEVELS, msg)
    loss_per_lot = stop_distance / spec.tick_size * spec.tick_value
    volume = floor_to_step(risk_budget / loss_per_lot, spec.volume_step)
    clamped = volume > spec.volume_max
    if clamped:
        volume = spec.volume_max
    if volume < spec.volume_min:
        need = spec.volume_min * loss_per_lot
        msg = (
            f"{spec.name}: the minimum volume {spec.volume_min} lots would risk {need:.2f}, "
            f"above the budget {risk_budget:.2f}; raise the risk % or the balance, or skip"
        )
        raise OrderRefused(RefusalCode.RISK_BUDGET_BELOW_MIN_VOLUME, msg)
    return Sizing(volume, volume * loss_per_lot, clamped)


def _check_inputs(balance: Decimal, risk_pct: Decimal, bid: Decimal, ask: Decimal) -> None:
    if not (balance > 0 and 0 < risk_pct <= 100):
        msg = f"need balance > 0 and 0 < risk_pct <= 100, got {balance}, {risk_pct}"
        raise OrderRefused(RefusalCode.INVALID_ACCOUNT, msg)
    if not (0 < bid <= ask):
        msg = f"need 0 < bid <= ask, got bid {bid}, ask {ask}; refresh the quote"
        raise OrderRefused(RefusalCode.INVALID_QUOTE, msg)


def _through_market(
    side: Side, entry: Decimal, spec: SymbolSpec, bid: Decimal, ask: Decimal
) -> Decimal | None:
    """STRATEGY.md: a limit the market has already passed (buy: ask <= entry; sell:
    bid >= entry) moves LIMIT_ADJUST_POINTS beyond the current ask/bid; None if not needed."""
    offset = C.LIMIT_ADJUST_POINTS * spec.point
    if side is Side.BUY and ask <= entry:
        return round_to_tick(ask - offset, spec.tick_size, "down")
    if side is Side.SELL and bid >= entry:
        return round_to_tick(bid + offset, spec.tick_size, "up")
    return None


_NOTES = {
    Adjustment.PRICE_ADJUSTED_MARKET_THROUGH_ENTRY: "market already through the entry: limit "
    f"moved {C.LIMIT_ADJUST_POINTS} points beyond the current price",
    Adjustment.STOP_MOVED_TO_MIN_DISTANCE: "stop moved out to the minimum stop distance",
    Adjustment.VOLUME_CLAMPED_TO_MAX: "volume clamped to the symbol's maximum",
}


def build_order(
    setup_or_levels: Setup | OrderLevels,
    spec: SymbolSpec,
    *,
    balance: Decimal,
    risk_pct: Decimal = _DEFAULT_RISK_PCT,
    bid: Decimal,
    ask: Decimal,
    now: datetime,
    params: StrategyParams | None = None,
) -> OrderPlan:
    """The LIMIT order for a setup: `round_levels` (after the market-through-entry rule),
    `position_size` with risk_budget = balance * risk_pct / 100, expiry = published_at +
    order_expiry_hours. Money in account currency, prices in quote units, `now` aware.
    Raises OrderRefused (with a `RefusalCode`) when no valid order exists."""
    p = params if params is not None else StrategyParams()
    require_aware(now, "now")
    bid_d, ask_d = to_decimal(bid), to_decimal(ask)
    _check_inputs(to_decimal(balance), to_decimal(risk_pct), bid_d, ask_d)
    side = setup_or_levels.side
    expires_at = setup_or_levels.published_at + timedelta(hours=p.order_expiry_hours)
    if now >= expires_at:
        msg = f"published {setup_or_levels.published_at}, expired at {expires_at}; skip it"
        raise OrderRefused(RefusalCode.ORDER_EXPIRED, msg)
    entry = to_decimal(setup_or_levels.entry)
    stop = to_decimal(setup_or_levels.stop)
    adjusted = _through_market(side, round_to_tick(entry, spec.tick_size), spec, bid_d, ask_d)
    if adjusted is not None:
        if (adjusted - stop) * (1 if side is Side.BUY else -1) <= 0:
            msg = f"{side} market ({bid_d}/{ask_d}) is already through the stop {stop}"
            raise OrderRefused(RefusalCode.MARKET_THROUGH_STOP, msg)
        entry = adjusted
    levels = round_levels(side, entry, stop, spec, p)
    budget = to_decimal(balance) * to_decimal(risk_pct) / 100
    sizing = position_size(budget, abs(levels.entry - levels.stop), spec)
    adjustments = list(levels.adjustments)
    if adjusted is not None:
        adjustments.insert(0, Adjustment.PRICE_ADJUSTED_MARKET_THROUGH_ENTRY)
    if sizing.clamped_to_max:
        adjustments.append(Adjustment.VOLUME_CLAMPED_TO_MAX)
    return OrderPlan(
        side=side,
        order_type="limit",
        entry=levels.entry,
        stop=levels.stop,
        take_profit=levels.take_profit,
        volume=sizing.volume,
        risk_money=sizing.risk_money,
        risk_budget=budget,
        stop_points=int(abs(levels.entry - levels.stop) / spec.point),
        expires_at=expires_at,
        adjustments=tuple(adjustments),
        notes=tuple(_NOTES[a] for a in adjustments),
    )
