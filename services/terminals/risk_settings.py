"""Parsing and validating a terminal's risk settings as a user types them.

Each setting has a range and, for caps, "off" to remove the cap. Errors name the setting, the
range and what was sent, so the user can fix the input in one go.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from services.errors import InvalidInput
from services.terminals.messages import msgid as _
from services.text.numbers import parse_decimal

D = Decimal

OFF_WORDS = frozenset({"off", "none", "no", "-", "0"})


@dataclass(frozen=True, slots=True)
class FieldRule:
    low: Decimal
    high: Decimal
    places: int  # decimals kept (the column's scale); 0 = a whole number
    clearable: bool  # "off" removes the cap
    error: str  # the message id that states the range


FIELDS: dict[str, FieldRule] = {
    "risk_pct": FieldRule(D("0.1"), D(10), 3, False, _("error.setting_risk_pct")),
    "lot_multiplier": FieldRule(D("0.1"), D(2), 2, False, _("error.setting_lot_multiplier")),
    "max_lot": FieldRule(D("0.01"), D(100), 2, True, _("error.setting_max_lot")),
    "max_open_positions": FieldRule(D(1), D(100), 0, True, _("error.setting_max_open_positions")),
    "max_trades_per_day": FieldRule(D(1), D(100), 0, True, _("error.setting_max_trades_per_day")),
    "max_drawdown_pct": FieldRule(D(1), D(90), 2, False, _("error.setting_max_drawdown_pct")),
}


def _bad(name: str, raw: str) -> InvalidInput:
    return InvalidInput(FIELDS[name].error, value=raw.strip()[:20])


def parse_setting(name: str, raw: str) -> Decimal | int | None:
    """The value to store for setting `name` typed as `raw` ("1,5", "2%", "0.5x", "off").

    A plain decimal of ASCII digits only (`services.text.numbers.parse_decimal`): no exponent
    ("1e1" is not 10), no sign, no NaN or Infinity, no other scripts' digits. Raises
    InvalidInput with the setting's own message id (`FieldRule.error`), which states the
    range; None means "no cap" (only for clearable settings).
    """
    rule = FIELDS[name]
    text = raw.strip().lower().rstrip("%x× ").strip()
    if rule.clearable and text in OFF_WORDS:
        return None
    value = parse_decimal(text)
    if value is None or not rule.low <= value <= rule.high:
        raise _bad(name, raw)
    if rule.places == 0:
        if value != value.to_integral_value():
            raise _bad(name, raw)
        return int(value)
    return value.quantize(Decimal(1).scaleb(-rule.places), rounding=ROUND_DOWN)
