"""Built-in symbol specs, aliases, overrides and unknown-symbol errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trading.symbols import SymbolSpec, UnknownSymbolError, get_spec, known_symbols, symbol_kind


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
        ({"volume_min": 5, "volume_max": 1}, "volume_min 5 > volume_max 1"),
        ({"kind": "crypto"}, "kind must be 'fx' or 'metal'"),
        ({"stops_level": -1}, "must be >= 0"),
        ({"point": float("nan")}, "expected a finite number"),
    ],
)
def test_bad_overrides_say_what_is_wrong(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        get_spec("EURUSD", overrides)


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
