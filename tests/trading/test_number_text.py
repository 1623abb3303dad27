"""The one strict number parser: only ASCII digits are digits, everywhere."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.number_text import MAX_DIGITS, parse_decimal, parse_float, parse_int

# Each of these is a number to `int`, `float`, `Decimal` or `str.isdigit`, and none here.
NOT_NUMBERS = [
    "",
    " ",
    "²",  # isdigit() is True, int() raises: once a 500
    "٣",  # Arabic-Indic three: int() says 3
    "１",  # fullwidth one
    "١٢",
    "߃",  # NKo digit three
    "1_000",
    " 5",
    "5 ",
    "5\n",
    "+5",
    "--5",
    "5-",
    "0x10",
    "1e3",
    "nan",
    "inf",
    "Infinity",
    "1" * (MAX_DIGITS + 1),  # longer than any range: refused before int() sees it
]


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_only_ascii_digits_are_integers(text: str) -> None:
    with pytest.raises(ValueError, match="digits 0-9"):
        parse_int(text, -(10**60), 10**60)


@pytest.mark.parametrize("text", [*NOT_NUMBERS, "1.", "1.2.3", ".", "-.", "1,5", "１.５"])
def test_only_ascii_digits_are_decimals(text: str) -> None:
    if text == "1.":
        assert parse_decimal(text) == 1  # "5." is a number
        return
    with pytest.raises(ValueError, match="digits 0-9"):
        parse_decimal(text)


@pytest.mark.parametrize(
    ("text", "low", "high", "expected"),
    [("0", 0, 30, 0), ("30", 0, 30, 30), ("007", 0, 30, 7), ("-5", -10, 10, -5)],
)
def test_integers_in_range(text: str, low: int, high: int, expected: int) -> None:
    assert parse_int(text, low, high) == expected


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [("31", 0, 30), ("-1", 0, 30), ("-0", 0, 30), ("99999999999999999999999", 0, 2**63 - 1)],
)
def test_integers_out_of_range_are_refused_naming_the_range(
    text: str, low: int, high: int
) -> None:
    with pytest.raises(ValueError, match=f"from {low} to {high}"):
        parse_int(text, low, high, what="wait")


def test_the_message_names_what_and_shows_the_text() -> None:
    with pytest.raises(ValueError, match=r"^wait must be a whole number from 0 to 30 .*'٣'$"):
        parse_int("٣", 0, 30, what="wait")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12.5", Decimal("12.5")), (".5", Decimal("0.5")), ("-0.25", Decimal("-0.25"))],
)
def test_decimals(text: str, expected: Decimal) -> None:
    assert parse_decimal(text) == expected


def test_decimal_bounds_and_signs() -> None:
    assert parse_decimal("0", low=Decimal(0)) == 0
    with pytest.raises(ValueError, match="at least 0"):
        parse_decimal("-1", low=Decimal(0))
    with pytest.raises(ValueError, match="from 0 to 100"):
        parse_decimal("100.01", low=Decimal(0), high=Decimal(100))


def test_exponents_only_where_asked_and_floats_stay_finite() -> None:
    with pytest.raises(ValueError):
        parse_decimal("1e1")  # a person typing "1e1" did not mean 10
    assert parse_decimal("1.5E-3", exponent=True) == Decimal("0.0015")
    assert parse_float("2e2", exponent=True) == 200.0
    for text in ("1e999", "1e", "1e+", "1e٣", "1e99999"):
        with pytest.raises(ValueError):
            parse_float(text, exponent=True)


@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_every_integer_written_plainly_reads_back(n: int) -> None:
    assert parse_int(str(n), -(10**30), 10**30) == n


@given(st.text(max_size=12))
def test_whatever_is_accepted_is_plain_ascii(text: str) -> None:
    try:
        value = parse_decimal(text, exponent=True)
    except ValueError:
        return
    assert set(text) <= set("-0123456789.eE+")
    assert value.is_finite()
