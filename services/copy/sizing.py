"""Per-terminal order levels and volume: pure functions over a terminal's own symbol spec.

A signal's levels are on OUR symbol's grid; a terminal may quote with other digits, so levels are
re-rounded to its tick (STRATEGY.md "Order construction on a real symbol") and sized against its
tick value and volume limits. Skips carry a machine code and the numbers the user needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Context, Decimal
from typing import Any

from services.app_settings import Visibility
from trading.detector import Side
from trading.numeric import floor_to_step, round_away_from
from trading.orders import OrderRefused, RefusalCode, position_size, round_levels
from trading.symbols import SymbolSpec

DEFAULT_RISK_PCT = Decimal(2)
DEFAULT_MULTIPLIER = Decimal(1)
DEFAULT_MAX_DRAWDOWN_PCT = Decimal(20)
_CTX = Context(prec=34)  # as trading.numeric: exact for price products
SAFETY_STOP_FACTOR = Decimal(3)  # entry_only: broker-side stop 3 stop-distances beyond the stop


class Skip(Exception):  # noqa: N818 - a decision, not an error
    """No command for this terminal: `code` names the reason, `params` fill its message."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True, slots=True)
class Limits:
    """A terminal's risk settings with defaults applied (CopySettings, or none saved yet)."""

    risk_pct: Decimal = DEFAULT_RISK_PCT
    lot_multiplier: Decimal = DEFAULT_MULTIPLIER
    max_lot: Decimal | None = None
    max_open_positions: int | None = None
    max_trades_per_day: int | None = None
    max_drawdown_pct: Decimal = field(default=DEFAULT_MAX_DRAWDOWN_PCT)


@dataclass(frozen=True, slots=True)
class TerminalLevels:
    """Prices for the terminal, on its tick grid. `stop` is the real stop (sizing uses it);
    `sl`/`tp` are what the order carries (entry_only: a wide safety stop and no target)."""

    price: Decimal
    stop: Decimal
    sl: Decimal
    tp: Decimal | None


def terminal_levels(
    side: str,
    entry: Decimal,
    stop: Decimal,
    take_profit: Decimal,
    spec: SymbolSpec,
    visibility: Visibility,
) -> TerminalLevels:
    """Levels for the terminal's grid. Entry and stop are rounded to its tick with the minimum
    stop distance applied (`trading.orders.round_levels`); the take-profit keeps the signal's
    reward:risk: tp = entry_r +/- |take_profit - entry| * |entry_r - stop_r| / |entry - stop|,
    rounded AWAY from the entry (so reward:risk never shrinks; exact when the grids agree).
    entry_only: sl = stop_r -/+ SAFETY_STOP_FACTOR * |entry_r - stop_r| (a broker-side safety
    net while the server manages exits), tp None. Price units. Raises Skip("invalid_levels").
    """
    risk = abs(entry - stop)
    if risk == 0:
        raise Skip("invalid_levels")
    try:
        rounded = round_levels(Side(side), entry, stop, spec)
    except (OrderRefused, ValueError):
        raise Skip("invalid_levels") from None
    sign = 1 if side == "buy" else -1
    distance = abs(rounded.entry - rounded.stop)
    if visibility is Visibility.FULL:
        reward = _CTX.divide(_CTX.multiply(abs(take_profit - entry), distance), risk)
        tp = round_away_from(rounded.entry + sign * reward, spec.tick_size, rounded.entry)
        return TerminalLevels(rounded.entry, rounded.stop, rounded.stop, tp)
    wide = rounded.stop - sign * SAFETY_STOP_FACTOR * distance
    safety = round_away_from(wide, spec.tick_size, rounded.entry)
    if safety <= 0:
        safety = spec.tick_size
    return TerminalLevels(rounded.entry, rounded.stop, safety, None)


def volume_for(
    balance: Decimal, stop_distance: Decimal, spec: SymbolSpec, limits: Limits
) -> Decimal:
    """Lots for one trade on this terminal.

    budget = balance * risk_pct / 100 * lot_multiplier (account money);
    lots = floor_step(budget / (stop_distance / tick_size * tick_value)) via
    `trading.orders.position_size`, then capped by min(max_lot, volume_max) floored to the step.
    Never rounds up past the budget. Raises Skip("below_min_volume") when even volume_min
    would risk more than the budget, Skip("max_lot_below_min") when max_lot < volume_min.
    """
    if balance <= 0:
        raise Skip("no_balance", balance=_cents(balance))
    budget = balance * limits.risk_pct / 100 * limits.lot_multiplier
    try:
        sizing = position_size(budget, stop_distance, spec)
    except OrderRefused as exc:
        if exc.code is RefusalCode.RISK_BUDGET_BELOW_MIN_VOLUME:
            need = spec.volume_min * stop_distance / spec.tick_size * spec.tick_value
            raise Skip(
                "below_min_volume", min=spec.volume_min.normalize(), need=_cents(need),
                budget=_cents(budget),
            ) from None  # fmt: skip
        raise Skip("invalid_levels") from None
    volume = sizing.volume
    if limits.max_lot is not None:
        cap = floor_to_step(min(limits.max_lot, spec.volume_max), spec.volume_step)
        if cap < spec.volume_min:
            raise Skip(
                "max_lot_below_min", max_lot=limits.max_lot.normalize(),
                min=spec.volume_min.normalize(),
            )  # fmt: skip
        volume = min(volume, cap)
    return volume


def _cents(value: Decimal) -> Decimal:
    """Account money as a message parameter (shown for the reader's locale)."""
    return value.quantize(Decimal("0.01"))


def slippage_points(side: str, requested: Decimal, filled: Decimal, point: Decimal) -> Decimal:
    """Adverse slippage in points: (fill - requested) / point for a buy, the opposite for a
    sell; positive = worse than requested, negative = price improvement."""
    sign = 1 if side == "buy" else -1
    return (sign * (filled - requested) / point).quantize(Decimal("0.1"))


def profit_money(
    side: str, open_price: Decimal, close_price: Decimal, volume: Decimal, spec: SymbolSpec
) -> Decimal:
    """Estimated P&L in account money: sign * (close - open) / tick_size * tick_value * lots
    (the terminal's tick value at report time; swaps and commissions not included)."""
    sign = 1 if side == "buy" else -1
    raw = sign * (close_price - open_price) / spec.tick_size * spec.tick_value * volume
    return raw.quantize(Decimal("0.01"))
