"""Symbol specifications: the broker facts order construction needs, as `Decimal`s.

Built-in defaults are typical retail MT5 values on a USD account; a live terminal's reported
values (MT5 `symbol_info`) override them through `get_spec(name, overrides)` or
`SymbolSpec.with_overrides(...)`. Reference: MT5 docs, ENUM_SYMBOL_INFO_DOUBLE/INTEGER.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from trading import constants as C
from trading.numeric import to_decimal

SymbolKind = Literal["fx", "metal"]
_DECIMAL_FIELDS = (
    "point",
    "tick_size",
    "tick_value",
    "contract_size",
    "volume_min",
    "volume_max",
    "volume_step",
)


class UnknownSymbolError(ValueError):
    """No built-in spec for a symbol name."""

    def __init__(self, name: str) -> None:
        self.name = name
        known = ", ".join(sorted(_BUILTIN))
        super().__init__(
            f"unknown symbol {name!r}; known symbols: {known}. "
            "Pass the terminal's spec through get_spec(name, overrides=...) with all fields."
        )


class SpecError(ValueError):
    """A spec no order may be built with: `field` names the offending field and `reason` says
    what a sane value is (the EA API refuses such a report, naming `symbols[i].<field>`)."""

    def __init__(self, name: str, field: str, reason: str) -> None:
        self.name, self.field, self.reason = name, field, reason
        super().__init__(f"{name}: {field} {reason}; check the terminal's spec")


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """Broker facts for one symbol. `point`, `tick_size` in price units; `tick_value` in account
    money per 1 lot per tick; `contract_size` in base units per lot; volumes in lots;
    `stops_level` in points (MT5 SYMBOL_TRADE_STOPS_LEVEL).

    Construction refuses (`SpecError`) anything outside sane ranges (`check_ranges`), because
    terminals report these numbers and one absurd value (a tick of 1e-40) must not reach the
    rounding and sizing arithmetic.
    """

    name: str
    digits: int
    point: Decimal
    tick_size: Decimal
    tick_value: Decimal
    contract_size: Decimal
    volume_min: Decimal
    volume_max: Decimal
    volume_step: Decimal
    stops_level: int
    kind: SymbolKind

    def __post_init__(self) -> None:
        for name in _DECIMAL_FIELDS:
            try:
                value = to_decimal(getattr(self, name))
            except (ValueError, TypeError, ArithmeticError) as exc:
                raise SpecError(self.name, name, f"must be a finite number: {exc}") from None
            if value <= 0:
                raise SpecError(self.name, name, f"must be > 0, got {value}")
            object.__setattr__(self, name, value)
        for name in ("digits", "stops_level"):  # terminals may report these as floats
            object.__setattr__(self, name, _whole(self.name, name, getattr(self, name)))
        if self.kind not in ("fx", "metal"):
            msg = f"{self.name}: kind must be 'fx' or 'metal', got {self.kind!r}"
            raise ValueError(msg)
        check_ranges(self)

    def with_overrides(self, **terminal_reported: object) -> SymbolSpec:
        """A copy with fields replaced by terminal-reported values (floats are converted to
        Decimal through their repr). Unknown field names raise ValueError."""
        valid = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(terminal_reported) - valid)
        if unknown:
            msg = f"unknown SymbolSpec fields {unknown}; valid: {sorted(valid)}"
            raise ValueError(msg)
        return dataclasses.replace(self, **terminal_reported)  # type: ignore[arg-type]


def _whole(spec_name: str, field: str, value: object) -> int:
    """An integer field (digits, stops_level) from an int or an integral float/Decimal."""
    try:
        number = to_decimal(value)  # type: ignore[arg-type]
    except (ValueError, TypeError, ArithmeticError):
        raise SpecError(spec_name, field, f"must be a whole number, got {value!r}") from None
    if isinstance(value, bool) or number != number.to_integral_value():
        raise SpecError(spec_name, field, f"must be a whole number, got {value!r}")
    return int(number)


def check_ranges(spec: SymbolSpec) -> None:
    """Raise `SpecError` unless the spec is sane (MT5 semantics, limits in trading.constants):
    digits 0..MAX_DIGITS; point == 10**-digits; tick_size a whole multiple (1..MAX_TICK_POINTS)
    of the point; tick_value, contract_size and the volumes within their bounds; volume_min
    and volume_step <= volume_max; stops_level 0..MAX_STOPS_LEVEL_POINTS. Comparisons only
    (no division before the magnitudes are known), so no value can overflow the arithmetic."""
    tol = C.POINT_TOLERANCE
    if not 0 <= spec.digits <= C.MAX_DIGITS:
        _refuse(spec, "digits", f"must be from 0 to {C.MAX_DIGITS}, got {spec.digits}")
    expected = Decimal(1).scaleb(-spec.digits)
    if not expected * (1 - tol) <= spec.point <= expected * (1 + tol):
        _refuse(spec, "point", f"must be 10^-digits = {expected}, got {spec.point}")
    most = spec.point * C.MAX_TICK_POINTS
    if not spec.point * (1 - tol) <= spec.tick_size <= most:
        _refuse(spec, "tick_size", f"must be from the point {spec.point} to {_plain(most)}, "
                f"got {spec.tick_size}")  # fmt: skip
    ticks = spec.tick_size / spec.point
    if abs(ticks - ticks.to_integral_value()) > tol * ticks:
        _refuse(spec, "tick_size", f"must be a whole number of points ({spec.point}), "
                f"got {spec.tick_size}")  # fmt: skip
    bounds = {
        "tick_value": (C.MIN_TICK_VALUE, C.MAX_TICK_VALUE),
        "contract_size": (C.MIN_CONTRACT_SIZE, C.MAX_CONTRACT_SIZE),
        "volume_min": (C.MIN_VOLUME_LOTS, C.MAX_VOLUME_LOTS),
        "volume_max": (C.MIN_VOLUME_LOTS, C.MAX_VOLUME_LOTS),
        "volume_step": (C.MIN_VOLUME_LOTS, C.MAX_VOLUME_LOTS),
    }
    for field, (low, high) in bounds.items():
        value = getattr(spec, field)
        if not low <= value <= high:
            _refuse(spec, field, f"must be from {_plain(low)} to {_plain(high)}, got {value}")
    for field in ("volume_min", "volume_step"):
        if getattr(spec, field) > spec.volume_max:
            _refuse(spec, field, f"must be <= volume_max {spec.volume_max}, "
                    f"got {getattr(spec, field)}")  # fmt: skip
    if not 0 <= spec.stops_level <= C.MAX_STOPS_LEVEL_POINTS:
        _refuse(spec, "stops_level", f"must be from 0 to {C.MAX_STOPS_LEVEL_POINTS} points, "
                f"got {spec.stops_level}")  # fmt: skip


def _refuse(spec: SymbolSpec, field: str, reason: str) -> None:
    raise SpecError(spec.name, field, reason)


def _plain(value: Decimal) -> str:
    """A bound without exponent or trailing zeros: 0.000000001, 10, 1000000000."""
    return f"{value.normalize():f}"


def _fx(name: str, digits: int, tick_value: str) -> SymbolSpec:
    point = Decimal(1).scaleb(-digits)
    return SymbolSpec(
        name=name,
        digits=digits,
        point=point,
        tick_size=point,
        tick_value=Decimal(tick_value),
        contract_size=Decimal(100000),
        volume_min=Decimal("0.01"),
        volume_max=Decimal(100),
        volume_step=Decimal("0.01"),
        stops_level=0,
        kind="fx",
    )


_XAUUSD = SymbolSpec(
    name="XAUUSD",
    digits=2,
    point=Decimal("0.01"),
    tick_size=Decimal("0.01"),
    tick_value=Decimal(1),  # 100 oz * 0.01 USD
    contract_size=Decimal(100),
    volume_min=Decimal("0.01"),
    volume_max=Decimal(100),
    volume_step=Decimal("0.01"),
    stops_level=0,
    kind="metal",
)

_BUILTIN: dict[str, SymbolSpec] = {
    "XAUUSD": _XAUUSD,
    "GOLD": dataclasses.replace(_XAUUSD, name="GOLD"),  # some brokers' name for XAUUSD
    "EURUSD": _fx("EURUSD", 5, "1"),  # 100,000 * 0.00001 = 1 USD per tick per lot
    "GBPUSD": _fx("GBPUSD", 5, "1"),
    # 100,000 * 0.001 = 100 JPY per tick; ~0.67 USD at USDJPY 150. It moves with the rate:
    # always prefer the terminal's live SYMBOL_TRADE_TICK_VALUE.
    "USDJPY": _fx("USDJPY", 3, "0.67"),
}


def known_symbols() -> tuple[str, ...]:
    """Names with a built-in spec."""
    return tuple(sorted(_BUILTIN))


def get_spec(name: str, overrides: Mapping[str, object] | None = None) -> SymbolSpec:
    """The built-in spec for `name` (case-insensitive) with `overrides` applied.

    Raises UnknownSymbolError (a ValueError listing the known symbols) for other names.
    """
    spec = _BUILTIN.get(name.strip().upper())
    if spec is None:
        raise UnknownSymbolError(name)
    return spec.with_overrides(**overrides) if overrides else spec


def symbol_kind(name: str) -> SymbolKind:
    """'metal' for gold/silver names (XAU*, XAG*, GOLD*, SILVER*), else 'fx'; built-in specs win."""
    spec = _BUILTIN.get(name.strip().upper())
    if spec is not None:
        return spec.kind
    upper = name.upper()
    metal = upper.startswith(("XAU", "XAG", "GOLD", "SILVER"))
    return "metal" if metal else "fx"
