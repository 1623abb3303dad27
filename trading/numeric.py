"""Numeric helpers: the one NaN-safe division and the one place prices meet a tick grid.

Money and broker prices are `Decimal` (DESIGN.md: "Money is Decimal"); the detector works in
floats and hands raw levels to `round_to_tick`, which converts through the float's shortest
repr so that 1.07219 means the decimal 1.07219 and not its binary neighbour 1.0721899999...
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal
from typing import Literal

RoundMode = Literal["nearest", "down", "up"]
"""`nearest` rounds half away from zero (MT5's NormalizeDouble); `down`/`up` floor/ceil."""

_ROUNDING = {"nearest": ROUND_HALF_UP, "down": ROUND_FLOOR, "up": ROUND_CEILING}
# Prices have at most ~12 significant digits; 34 digits keeps every tick product exact.
_CTX = Context(prec=34)


def safe_div(a: float, b: float, default: float = math.nan) -> float:
    """Return `a / b`, or `default` when `b == 0` or the quotient is not finite.

    Formula: q = a / b if b != 0 and q is finite else default. Unitless: units are the
    caller's (e.g. money / money = ratio). Reference: STYLE.md rule 8 ("one NaN-safe
    division helper"); mirrors backtesting.py's habit of returning NaN for undefined ratios.
    """
    if b == 0 or math.isnan(a) or math.isnan(b):
        return default
    q = a / b
    return q if math.isfinite(q) else default


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    """Convert a price/volume to `Decimal` through its shortest repr (floats: `repr(x)`).

    Raises ValueError for NaN or infinities: a non-finite price cannot be placed on a tick grid;
    fix the upstream data. Reference: Python `decimal` docs, "Decimal(str(float))" idiom.
    """
    if isinstance(value, Decimal):
        dec = value
    elif isinstance(value, float):
        dec = Decimal(repr(value))
    else:
        dec = Decimal(value)
    if not dec.is_finite():
        msg = f"expected a finite number, got {value!r}; drop or repair the bad price"
        raise ValueError(msg)
    return dec


def _check_step(step: Decimal, what: str) -> None:
    if not step.is_finite() or step <= 0:
        msg = f"{what} must be a positive finite Decimal, got {step!r}; check the SymbolSpec"
        raise ValueError(msg)


def round_to_tick(price: float | Decimal, tick: Decimal, mode: RoundMode = "nearest") -> Decimal:
    """Round `price` to an integer multiple of `tick` (both in price units).

    Formula: n = round_mode(price / tick); result = n * tick, computed in `Decimal` so the result
    is exactly on the grid (e.g. 1.234565 -> 1.23457 with tick 0.00001, mode nearest).
    Reference: DESIGN.md "prices are rounded to the symbol's tick in one place"; MT5 docs,
    SYMBOL_TRADE_TICK_SIZE.
    """
    _check_step(tick, "tick")
    if mode not in _ROUNDING:
        msg = f"mode must be one of {sorted(_ROUNDING)}, got {mode!r}"
        raise ValueError(msg)
    dec = to_decimal(price)
    n = _CTX.divide(dec, tick).quantize(Decimal(1), rounding=_ROUNDING[mode], context=_CTX)
    return _CTX.multiply(n, tick)


def round_away_from(price: float | Decimal, tick: Decimal, reference: Decimal) -> Decimal:
    """Round `price` to `tick`, away from `reference` (ceil above it, floor below it).

    Used for take-profit: rounding away from the entry can only lengthen the reward, so
    reward:risk never drops below the target after rounding. Units: price units.
    Reference: STRATEGY.md "Order construction on a real symbol".
    """
    mode: RoundMode = "up" if to_decimal(price) >= reference else "down"
    return round_to_tick(price, tick, mode)


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Floor a non-negative quantity (e.g. lots) to a multiple of `step`.

    Formula: floor(value / step) * step, exact in Decimal. Flooring, never rounding, keeps the
    position inside the risk budget. Reference: STRATEGY.md "Position size"; MT5 SYMBOL_VOLUME_STEP.
    """
    _check_step(step, "step")
    n = _CTX.divide(value, step).quantize(Decimal(1), rounding=ROUND_FLOOR, context=_CTX)
    return _CTX.multiply(n, step)
