"""Broker symbol names <-> our symbols, and the spec a terminal sizes with.

Brokers decorate names (`XAUUSDm`, `XAUUSD.pro`, `GOLD.pro`, `EURUSD.r`, `#EURUSD`); `auto_map`
strips the decoration and folds aliases (GOLD is XAUUSD: one instrument, two names). A device's
`symbol_map` ({our symbol: broker name}) always wins over the automatic mapping.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tortoise.expressions import Q

from models.devices import Device, DeviceSymbol
from services.terminals.protocol import SymbolReport
from trading.symbols import (
    SpecError,
    SymbolSpec,
    UnknownSymbolError,
    get_spec,
    known_symbols,
    symbol_kind,
)

log = logging.getLogger(__name__)
ALIASES: dict[str, str] = {"GOLD": "XAUUSD", "XAUUSD": "XAUUSD", "SILVER": "XAGUSD"}
_SEPARATORS = re.compile(r"[._\-+!#$]")
_LOWER_SUFFIX = re.compile(r"^([A-Z0-9]{3,})[a-z]{1,4}$")
_FX_PAIR = re.compile(r"^[A-Z]{6}$")
NAME_MAX = 32  # a broker's symbol name (DeviceSymbol.name, the EA protocol)
MAX_SUFFIX = 4  # characters after a known name: XAUUSDm, XAUUSDECN, EURUSDPRO
SPEC_FIELDS = (
    "digits", "point", "tick_size", "tick_value", "contract_size",
    "volume_min", "volume_max", "volume_step", "stops_level",
)  # fmt: skip


def canonical(symbol: str) -> str:
    """Our canonical name for one of our symbols (aliases folded: GOLD -> XAUUSD)."""
    name = symbol.strip().upper()
    return ALIASES.get(name, name)


def auto_map(broker_name: str) -> str | None:
    """Our canonical symbol for a broker's name, or None when it is not recognisable.

    Rules, in order: drop a leading `#`; cut at the first separator (`.`, `_`, `-`, `+`);
    drop a short lowercase suffix (`XAUUSDm`); fold aliases; accept a known symbol, a known
    symbol followed by up to MAX_SUFFIX characters, or any six-letter FX pair.
    """
    base = broker_name.strip().lstrip("#")
    base = _SEPARATORS.split(base, maxsplit=1)[0]
    match = _LOWER_SUFFIX.match(base)
    if match:
        base = match.group(1)
    upper = base.upper()
    if not upper:
        return None
    if upper in ALIASES:
        return ALIASES[upper]
    known = {canonical(s) for s in known_symbols()} | set(ALIASES)
    if upper in known:
        return canonical(upper)
    for name in sorted(known, key=len, reverse=True):
        if upper.startswith(name) and len(upper) - len(name) <= MAX_SUFFIX:
            return canonical(name)
    return upper if _FX_PAIR.match(upper) else None


def map_name(broker_name: str, overrides: Mapping[str, str]) -> str | None:
    """Our symbol for `broker_name` on a device: its override first, then `auto_map`."""
    for ours, theirs in overrides.items():
        if str(theirs).strip().upper() == broker_name.strip().upper():
            return canonical(ours)
    return auto_map(broker_name)


def spec_json(report: SymbolReport) -> dict[str, Any]:
    """A reported spec as JSON (Decimals as strings, exact)."""
    return {f: _plain(getattr(report, f)) for f in SPEC_FIELDS}


def _plain(value: object) -> object:
    return str(value) if isinstance(value, Decimal) else value


def spec_from_json(name: str, data: Mapping[str, Any]) -> SymbolSpec:
    """A `SymbolSpec` from a stored report; raises ValueError (a `SpecError` naming the field
    for a value outside sane ranges, or for a report that was refused) when no order may be
    sized with it."""
    refused = data.get("refused") if isinstance(data, Mapping) else None
    if isinstance(refused, Mapping):
        raise SpecError(name, str(refused.get("field", "spec")), str(refused.get("detail", "")))
    try:
        values = {f: data[f] for f in SPEC_FIELDS}
        for f in SPEC_FIELDS:
            if f not in ("digits", "stops_level"):
                values[f] = Decimal(str(values[f]))
    except (KeyError, TypeError, ArithmeticError) as exc:
        msg = f"{name}: incomplete or malformed spec ({exc!r})"
        raise ValueError(msg) from None
    return SymbolSpec(name=name, kind=symbol_kind(name), **values)


def refused_json(field: str, detail: str) -> dict[str, Any]:
    """What is stored for a symbol whose report was refused (never its numbers): using it
    skips the terminal with the reason instead of guessing with built-in defaults."""
    return {"refused": {"field": field[:32], "detail": detail[:300]}}


def check_report(report: SymbolReport) -> SymbolSpec:
    """The spec a terminal reported, or `SpecError` naming the field outside sane ranges
    (`trading.symbols.check_ranges`): what the EA API refuses before anything is stored."""
    return spec_from_json(report.name, spec_json(report))


def usable_spec(name: str, data: Mapping[str, Any]) -> SymbolSpec | None:
    """`spec_from_json`, or None (logged) for a spec no order can be sized with."""
    try:
        return spec_from_json(name, data)
    except ValueError as exc:
        log.warning("unusable symbol spec", extra={"symbol": name, "error": str(exc)})
        return None


class UnusableSpec(ValueError):
    """The terminal reported this symbol but its stored spec is not sane (stored before
    reports were validated): never size with it, and never fall back to built-in defaults
    that may not match this broker. The copy engine turns it into a skip."""

    def __init__(self, broker_name: str, error: ValueError) -> None:
        self.broker_name = broker_name
        self.field = error.field if isinstance(error, SpecError) else "spec"
        super().__init__(str(error))


def _reported_spec(row: DeviceSymbol) -> SymbolSpec:
    try:
        return spec_from_json(row.name, row.spec)
    except ValueError as exc:
        raise UnusableSpec(row.name, exc) from None


@dataclass(frozen=True, slots=True)
class Resolved:
    """Where a signal's symbol trades on one terminal: the broker's name and its spec."""

    broker_name: str
    spec: SymbolSpec
    reported: bool  # False: built-in defaults (the terminal has not reported this symbol)


def _pick(rows: Iterable[DeviceSymbol], ours: str) -> DeviceSymbol | None:
    """Several broker names may map to one symbol: exact name first, then the shortest."""
    ranked = sorted(rows, key=lambda r: (r.name.upper() != ours, len(r.name), r.name))
    return ranked[0] if ranked else None


def _builtin(ours: str, broker_name: str) -> SymbolSpec | None:
    for name in (ours, canonical(ours)):
        try:
            return get_spec(name).with_overrides(name=broker_name)
        except UnknownSymbolError:
            continue
    return None


def resolve_from(device: Device, symbol: str, rows: Iterable[DeviceSymbol]) -> Resolved | None:
    """The broker name and spec to trade our `symbol` with on `device`, given its reported
    rows for that symbol (and for its override name); None if nothing fits.

    Order: the device's override (its reported spec, else built-in), the reported symbols
    that map to it, then the built-in spec under our own name. A reported row whose spec is
    not sane raises `UnusableSpec` (a skip for this terminal, never a guess).
    """
    ours = canonical(symbol)
    rows = list(rows)
    wanted = overrides_of(device).get(symbol) or overrides_of(device).get(ours)
    if wanted:
        named = [r for r in rows if r.name == wanted]
        if named:
            return Resolved(wanted, _reported_spec(named[0]), True)
        spec = _builtin(ours, wanted)
        return None if spec is None else Resolved(wanted, spec, False)
    row = _pick([r for r in rows if r.symbol == ours], ours)
    if row is not None:
        return Resolved(row.name, _reported_spec(row), True)
    spec = _builtin(symbol, symbol)
    return None if spec is None else Resolved(symbol, spec, False)


def override_names(devices: Iterable[Device], symbol: str) -> list[str]:
    """The broker names `devices` map our `symbol` to, as far as a reported row can carry
    them (a longer name can match no row: querying with it would fail the whole query)."""
    ours = canonical(symbol)
    names = {v for d in devices for k, v in overrides_of(d).items() if canonical(k) == ours}
    return sorted(n for n in names if len(n) <= NAME_MAX)


def overrides_of(device: Device) -> dict[str, str]:
    """The device's symbol map ({our symbol: broker name}); anything malformed in it counts as
    no override, so one device's bad settings never break a fan-out."""
    raw = device.symbol_map
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): str(v) for k, v in raw.items() if isinstance(v, str) and v.strip()}


async def reported_rows(device: Device, symbol: str) -> list[DeviceSymbol]:
    """The device's reported rows that may trade our `symbol` (mapped, or its override)."""
    ours = canonical(symbol)
    names = override_names([device], symbol)
    match = Q(symbol=ours) | Q(name__in=names) if names else Q(symbol=ours)
    return list(await DeviceSymbol.filter(match, device_id=device.id))


async def spec_for(device: Device, broker_name: str) -> SymbolSpec | None:
    """The spec of a broker symbol on `device`: as reported, else built-in (by `auto_map`)."""
    row = await DeviceSymbol.get_or_none(device_id=device.id, name=broker_name)
    if row is not None:
        return usable_spec(row.name, row.spec)
    ours = map_name(broker_name, overrides_of(device))
    return None if ours is None else _builtin(ours, broker_name)


async def ours_by_name(device: Device, broker_names: Iterable[str]) -> dict[str, str | None]:
    """Our symbol for each broker name `device` reports prices under (bars, quotes): the
    mapping stored with its reported symbol row, else `map_name` (override, then automatic)."""
    names = set(broker_names)
    rows = await DeviceSymbol.filter(device_id=device.id, name__in=names).values_list(
        "name", "symbol"
    )
    stored = {str(name): symbol for name, symbol in rows}
    overrides = overrides_of(device)
    return {name: stored.get(name) or map_name(name, overrides) for name in names}
