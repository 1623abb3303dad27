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


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """Broker facts for one symbol. `point`, `tick_size` in price units; `tick_value` in account
    money per 1 lot per tick; `contract_size` in base units per lot; volumes in lots;
    `stops_level` in points (MT5 SYMBOL_TRADE_STOPS_LEVEL)."""

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
            value = to_decimal(getattr(self, name))
            if value <= 0:
                msg = f"{self.name}: {name} must be > 0, got {value}; check the terminal's spec"
                raise ValueError(msg)
            object.__setattr__(self, name, value)
        for name in ("digits", "stops_level"):  # terminals may report these as floats
            object.__setattr__(self, name, int(getattr(self, name)))
        if self.volume_min > self.volume_max:
            msg = f"{self.name}: volume_min {self.volume_min} > volume_max {self.volume_max}"
            raise ValueError(msg)
        if self.digits < 0 or self.stops_level < 0:
            msg = f"{self.name}: digits and stops_level must be >= 0"
            raise ValueError(msg)
        if self.kind not in ("fx", "metal"):
            msg = f"{self.name}: kind must be 'fx' or 'metal', got {self.kind!r}"
            raise ValueError(msg)

    def with_overrides(self, **terminal_reported: object) -> SymbolSpec:
        """A copy with fields replaced by terminal-reported values (floats are converted to
        Decimal through their repr). Unknown field names raise ValueError."""
        valid = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(terminal_reported) - valid)
        if unknown:
            msg = f"unknown SymbolSpec fields {unknown}; valid: {sorted(valid)}"
            raise ValueError(msg)
        return dataclasses.replace(self, **terminal_reported)  # type: ignore[arg-type]


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
