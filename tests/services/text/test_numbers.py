"""The one integer parser: ASCII digits only, in range, or InvalidInput naming the range."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.keyboards import AdminCB
from handlers.terminal_views import PosCB
from services.errors import InvalidInput
from services.signals.callbacks import SignalCB
from services.text.numbers import (
    CHAT_ID,
    SIGNAL_ID,
    TELEGRAM_ID,
    IntBound,
    check_int,
    looks_numeric,
    parse_decimal,
    parse_int,
)

SMALL = IntBound("error.number_invalid", -3, 3, "a small number")


@pytest.mark.parametrize(
    ("text", "bound", "value"),
    [
        ("1", TELEGRAM_ID, 1),
        (" 42 ", TELEGRAM_ID, 42),
        ("007", SIGNAL_ID, 7),
        (str(2**52 - 1), TELEGRAM_ID, 2**52 - 1),
        (str(2**31 - 1), SIGNAL_ID, 2**31 - 1),
        ("-1001234567890", CHAT_ID, -1001234567890),
        ("-3", SMALL, -3),
        ("-0", SMALL, 0),
    ],
)
def test_parse_int_accepts(text: str, bound: IntBound, value: int) -> None:
    assert parse_int(text, bound) == value


@pytest.mark.parametrize(
    ("text", "bound"),
    [
        ("99999999999999999999999", TELEGRAM_ID),
        (str(2**52), TELEGRAM_ID),
        (str(2**63), TELEGRAM_ID),
        (str(2**64), CHAT_ID),
        (str(2**31), SIGNAL_ID),
        ("0", TELEGRAM_ID),
        ("-5", TELEGRAM_ID),
        ("+5", TELEGRAM_ID),
        ("١٢", TELEGRAM_ID),  # Arabic-Indic digits: int() takes them
        ("²", TELEGRAM_ID),  # str.isdigit() takes it, int() does not
        ("１２", TELEGRAM_ID),  # fullwidth digits
        ("1e5", TELEGRAM_ID),
        ("5_000", TELEGRAM_ID),
        ("0x10", TELEGRAM_ID),
        ("1.0", TELEGRAM_ID),
        ("", TELEGRAM_ID),
        (" ", TELEGRAM_ID),
        ("1 2", TELEGRAM_ID),
        ("--1", SMALL),
        ("4", SMALL),
        ("9" * 5000, TELEGRAM_ID),  # beyond int()'s 4300-digit limit: no ValueError
    ],
)
def test_parse_int_refuses_with_the_range(text: str, bound: IntBound) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_int(text, bound)
    assert caught.value.key == bound.key
    assert caught.value.params == {"text": text.strip()[:32], "min": bound.low, "max": bound.high}


@given(st.text(max_size=50))
def test_parse_int_never_fails_otherwise(text: str) -> None:
    try:
        value = parse_int(text, CHAT_ID)
    except InvalidInput:
        return
    assert CHAT_ID.low <= value <= CHAT_ID.high
    assert text.strip().lstrip("-").isascii()


@given(st.integers(min_value=TELEGRAM_ID.low, max_value=TELEGRAM_ID.high))
def test_every_id_in_range_round_trips(value: int) -> None:
    assert parse_int(str(value), TELEGRAM_ID) == value


@pytest.mark.parametrize("value", [0, -1, 2**52, 2**63, True])
def test_check_int_refuses_values_out_of_range(value: int) -> None:
    with pytest.raises(InvalidInput):
        check_int(value, TELEGRAM_ID)


@pytest.mark.parametrize(
    ("text", "numeric"),
    [("12", True), (" -5 ", True), ("+5", True), ("١٢", True), ("²", True), ("@sam", False),
     ("sam1", False), ("1e5", False), ("", False), ("-", False), ("5_000", False)],
)  # fmt: skip
def test_looks_numeric(text: str, numeric: bool) -> None:
    assert looks_numeric(text) is numeric


@pytest.mark.parametrize(
    ("text", "value"),
    [("1.0850", Decimal("1.0850")), ("1,0850", Decimal("1.0850")), (" 2350 ", Decimal(2350)),
     (".5", Decimal("0.5")), ("1e5", None), ("-1", None), ("+1", None), ("NaN", None),
     ("Infinity", None), ("١٫٠", None), ("1_000", None), ("1.2.3", None), ("", None)],
)  # fmt: skip
def test_parse_decimal_takes_plain_ascii_decimals_only(text: str, value: Decimal | None) -> None:
    assert parse_decimal(text) == value


@pytest.mark.parametrize(
    "data",
    [
        "sig:approve:99999999999999999999999",
        f"sig:approve:{2**31}",
        "sig:approve:0",
        "sig:approve:-1",
        "sig:approve:١٢",
        "sig:approve:+5",
        "sig:approve: 5",
        f"adm:ban:{2**52}",
        "adm:ban:-1",
        f"pos:close:dev_x:{2**63}",
        "pos:close:dev_x:0",
    ],
)
def test_callback_data_refuses_forged_numbers(data: str) -> None:
    cls = {"sig": SignalCB, "adm": AdminCB, "pos": PosCB}[data.split(":")[0]]
    with pytest.raises(ValueError):  # the filter then does not match: no handler runs
        cls.unpack(data)


def test_callback_data_keeps_real_values() -> None:
    assert SignalCB.unpack(f"sig:approve:{2**31 - 1}").signal_id == 2**31 - 1
    assert AdminCB.unpack("adm:users:0").user_id == 0
    assert PosCB.unpack(f"pos:close:dev_x:{2**63 - 1}").ticket == 2**63 - 1
