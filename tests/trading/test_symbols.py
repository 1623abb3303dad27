"""Built-in symbol specs, aliases, overrides and unknown-symbol errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trading.symbols import (
    SpecError,
    SymbolSpec,
    UnknownSymbolError,
    get_spec,
    known_symbols,
    symbol_kind,
)


@pytest.mark.parametrize(
    ("name", "digits", "point", "tick_value", "contract", "kind"),
    [
        ("EURUSD", 5, "0.00001", "1", 100000, "fx"),
        ("GBPUSD", 5, "0.00001", "1", 100000, "fx"),
        ("USDJPY", 3, "0.001", "0.67", 100000, "fx"),
        ("XAUUSD", 2, "0.01", "1", 100, "metal"),
        ("GOLD", 2, "0.01", "1", 100, "metal"),
        ("xauusd", 2, "0.01", "1", 100, "metal"),  # case-insensitive
    ],
)
def test_builtin_specs(
    name: str, digits: int, point: str, tick_value: str, contract: int, kind: str
) -> None:
    spec = get_spec(name)
    assert spec.digits == digits
    assert spec.point == spec.tick_size == Decimal(point)
    assert spec.tick_value == Decimal(tick_value)
    assert spec.contract_size == contract
    assert (spec.volume_min, spec.volume_max, spec.volume_step) == (
        Decimal("0.01"),
        Decimal(100),
        Decimal("0.01"),
    )
    assert spec.stops_level == 0
    assert spec.kind == kind


@pytest.mark.parametrize("name", ["EURUSD", "GBPUSD", "XAUUSD"])
def test_tick_value_is_contract_times_tick_on_usd_quoted_symbols(name: str) -> None:
    spec = get_spec(name)
    assert spec.tick_value == spec.contract_size * spec.tick_size


def test_gold_is_an_alias_of_xauusd() -> None:
    gold, xau = get_spec("GOLD"), get_spec("XAUUSD")
    assert gold.name == "GOLD"
    assert {**vars_of(gold), "name": "-"} == {**vars_of(xau), "name": "-"}


def vars_of(spec: SymbolSpec) -> dict[str, object]:
    return {f: getattr(spec, f) for f in spec.__slots__}


def test_unknown_symbol_lists_known_ones() -> None:
    with pytest.raises(UnknownSymbolError, match="known symbols: EURUSD, GBPUSD, GOLD") as err:
        get_spec("BTCUSD")
    assert isinstance(err.value, ValueError)
    assert "BTCUSD" in str(err.value)
    assert set(known_symbols()) == {"EURUSD", "GBPUSD", "GOLD", "USDJPY", "XAUUSD"}


def test_overrides_from_the_terminal_become_decimals() -> None:
    spec = get_spec("XAUUSD", {"tick_value": 1.0, "stops_level": 30.0, "volume_step": 0.1})
    assert spec.tick_value == Decimal("1.0")
    assert spec.volume_step == Decimal("0.1")
    assert spec.stops_level == 30
    assert isinstance(spec.stops_level, int)
    jpy = get_spec("USDJPY").with_overrides(tick_value=0.6523)
    assert jpy.tick_value == Decimal("0.6523")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"bogus": 1}, "unknown SymbolSpec fields"),
        ({"tick_size": 0}, "tick_size must be > 0"),
        ({"volume_min": 5, "volume_max": 1}, "volume_min must be <= volume_max 1, got 5"),
        ({"kind": "crypto"}, "kind must be 'fx' or 'metal'"),
        ({"stops_level": -1}, "stops_level must be from 0 to 1000000 points, got -1"),
        ({"point": float("nan")}, "expected a finite number"),
    ],
)
def test_bad_overrides_say_what_is_wrong(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        get_spec("EURUSD", overrides)


D = Decimal
HOSTILE_SPECS = [  # (overrides of EURUSD, the field refused): each passed the old checks
    ({"tick_size": D("1e-40")}, "tick_size"),  # the reported case: rounding overflowed
    ({"tick_size": D("1e300")}, "tick_size"),
    ({"tick_size": D("0.000015")}, "tick_size"),  # not a whole number of points
    ({"tick_size": D("0.000001")}, "tick_size"),  # finer than the point
    ({"tick_size": D(11)}, "tick_size"),  # over a million points
    ({"digits": 11, "point": D("1e-11"), "tick_size": D("1e-11")}, "digits"),
    ({"digits": 4}, "point"),  # point 0.00001 is not 10^-4
    ({"point": D("1e999999")}, "point"),  # no overflow while checking
    ({"digits": 5.5}, "digits"),
    ({"digits": True}, "digits"),
    ({"stops_level": 2_000_000}, "stops_level"),
    ({"tick_value": D("1e-12")}, "tick_value"),
    ({"tick_value": D("1e12")}, "tick_value"),
    ({"tick_value": float("inf")}, "tick_value"),
    ({"contract_size": D("1e-20")}, "contract_size"),
    ({"contract_size": D("1e20")}, "contract_size"),
    ({"volume_step": D("1e-30")}, "volume_step"),
    ({"volume_step": D(500)}, "volume_step"),  # a step larger than the maximum
    ({"volume_min": D("1e-12")}, "volume_min"),
    ({"volume_max": D("1e12")}, "volume_max"),
    ({"volume_min": D(200)}, "volume_min"),  # above volume_max
]


@pytest.mark.parametrize(("overrides", "field"), HOSTILE_SPECS)
def test_specs_outside_sane_ranges_are_refused_naming_the_field(
    overrides: dict, field: str
) -> None:
    with pytest.raises(SpecError) as err:
        get_spec("EURUSD", overrides)
    assert err.value.field == field
    assert str(err.value).startswith(f"EURUSD: {field} ")


@pytest.mark.parametrize(
    "overrides",
    [
        {"tick_size": D("0.00005")},  # 5 points
        {"point": 1e-05, "tick_size": 1e-05},  # floats through their repr
        {"digits": 5.0, "stops_level": 30.0},
        {"volume_min": D("0.1"), "volume_step": D("0.01"), "volume_max": D(1000)},
        {"tick_value": D("0.0000001"), "contract_size": D(1)},
        {"digits": 0, "point": D(1), "tick_size": D(25)},  # an index quoted in whole points
    ],
)
def test_unusual_but_sane_specs_are_accepted(overrides: dict) -> None:
    spec = get_spec("EURUSD", overrides)
    assert spec.tick_size >= spec.point


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("XAUUSD", "metal"),
        ("GOLD", "metal"),
        ("XAGUSD", "metal"),
        ("XAUUSD.m", "metal"),
        ("EURUSD", "fx"),
        ("AUDCAD", "fx"),
    ],
)
def test_symbol_kind(name: str, kind: str) -> None:
    assert symbol_kind(name) == kind
