"""The checks of a new alert, pure: each refusal an `InvalidInput` whose key says why in the
user's language and whose parameters name the numbers (the tick, the last price, the quota).

- the level is a positive plain number ("2400", "2400.5", "1,0850");
- it lies on the symbol's tick grid (the refusal names the tick and the two nearest levels);
- it is at most `MAX_DISTANCE_PCT` % from the last price (the refusal names the price);
- ``above`` needs a level over the last price, ``below`` one under it, ``cross`` one off it
  (an alert that starts on its far side would only fire after a move back);
- the note is at most `NOTE_MAX` characters; the cool-down `COOLDOWN_MIN`..`COOLDOWN_MAX`
  minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from services.errors import InvalidInput
from services.text.formatting import Percent, Price
from services.text.numbers import parse_decimal
from trading.symbols import SymbolSpec

MAX_DISTANCE_PCT = Decimal(10)  # an alert further from the market than this is a typo
NOTE_MAX = 200
COOLDOWN_MIN = 1
COOLDOWN_MAX = 24 * 60
DEFAULT_COOLDOWN_MIN = 5
CONDITIONS = ("above", "below", "cross")


@dataclass(frozen=True, slots=True)
class Checked:
    level: Decimal
    note: str
    cooldown_min: int


def _plain(value: Decimal) -> str:
    return f"{value:f}"


def parse_level(text: str) -> Decimal:
    """A positive plain decimal ("2400.50", "1,0850"), else `alerts.error_level_invalid`."""
    value = parse_decimal(text)
    if value is None or value <= 0:
        raise InvalidInput("alerts.error_level_invalid", level=text.strip()[:32])
    return value


def check_condition(condition: str) -> str:
    if condition not in CONDITIONS:
        raise InvalidInput("alerts.error_condition", condition=condition.strip()[:16])
    return condition


def check_tick(spec: SymbolSpec, level: Decimal) -> Decimal:
    tick = spec.tick_size
    steps = level / tick
    if steps == steps.to_integral_value():
        return level
    below = steps.to_integral_value(rounding=ROUND_FLOOR) * tick
    above = steps.to_integral_value(rounding=ROUND_CEILING) * tick
    raise InvalidInput(
        "alerts.error_level_tick", level=_plain(level), symbol=spec.name, tick=_plain(tick),
        below=Price(below, spec.digits), above=Price(above, spec.digits),
    )  # fmt: skip


def check_distance(spec: SymbolSpec, level: Decimal, last: Decimal) -> None:
    pct = abs(level - last) / last * 100
    if pct > MAX_DISTANCE_PCT:
        raise InvalidInput(
            "alerts.error_level_far", level=Price(level, spec.digits), symbol=spec.name,
            last=Price(last, spec.digits), pct=Percent(pct.quantize(Decimal("0.1")), 1),
            max=Percent(MAX_DISTANCE_PCT, 0),
        )  # fmt: skip


def check_side(spec: SymbolSpec, condition: str, level: Decimal, last: Decimal) -> None:
    shown = {"level": Price(level, spec.digits), "last": Price(last, spec.digits),
             "symbol": spec.name}  # fmt: skip
    if condition == "above" and level <= last:
        raise InvalidInput("alerts.error_side_above", **shown)
    if condition == "below" and level >= last:
        raise InvalidInput("alerts.error_side_below", **shown)
    if condition == "cross" and level == last:
        raise InvalidInput("alerts.error_side_cross", **shown)


def check_note(note: str) -> str:
    text = " ".join(note.split())
    if len(text) > NOTE_MAX:
        raise InvalidInput("alerts.error_note_long", max=NOTE_MAX, length=len(text))
    return text


def check_cooldown(minutes: int) -> int:
    if not COOLDOWN_MIN <= minutes <= COOLDOWN_MAX:
        raise InvalidInput(
            "alerts.error_cooldown", minutes=minutes, min=COOLDOWN_MIN, max=COOLDOWN_MAX
        )
    return minutes


def check(
    spec: SymbolSpec, condition: str, level: Decimal, last: Decimal, note: str, cooldown_min: int
) -> Checked:
    """Every check, in this order; the first failure raises InvalidInput."""
    check_condition(condition)
    on_tick = check_tick(spec, level)
    check_distance(spec, on_tick, last)
    check_side(spec, condition, on_tick, last)
    return Checked(on_tick, check_note(note), check_cooldown(cooldown_min))
