"""Numbers written as text (query parameters, headers, settings, command-line options, data
files): the one strict parser. Only the ASCII digits 0-9 are digits.

Python's own parsers are generous in ways that let input mean something it does not say:
`str.isdigit` accepts "²" (which `int` then refuses: a 500 where a 400 belongs), `int` and
`Decimal` accept "٣" (Arabic-Indic three) and "１" (fullwidth one), "1_000", " 5 " and "+5",
and `float` accepts "nan", "inf" and "1e400". Here a number is an optional minus sign and
ASCII digits, with an optional fraction where a fraction makes sense and an exponent only
where a machine wrote it (`exponent=True`, for data files); nothing else, no spaces. A
length cap keeps `int()` of a megabyte of digits off the table, and every value is
range-checked, so a caller never meets a huge number it did not ask for.

Every refusal is a `ValueError` whose message says what was expected, ready for a 400, a
422 or a one-line CLI error.
"""

from __future__ import annotations

import re
from decimal import Decimal

MAX_DIGITS = 40  # longer texts are refused before any conversion
_N = MAX_DIGITS
_INT = re.compile(rf"-?[0-9]{{1,{_N}}}")
_DECIMAL = re.compile(rf"-?(?:[0-9]{{1,{_N}}}(?:\.[0-9]{{0,{_N}}})?|\.[0-9]{{1,{_N}}})")
_EXPONENT = re.compile(r"[eE][-+]?[0-9]{1,4}")


def parse_int(text: str, low: int, high: int, *, what: str = "the value") -> int:
    """`text` as an integer in [low, high]: ``-?[0-9]+`` only (no sign for ranges that start
    at 0 or above, no spaces, no underscores, no other digits); else ValueError."""
    negative_ok = low < 0
    if (
        not isinstance(text, str)
        or not _INT.fullmatch(text)
        or (text[0] == "-" and not negative_ok)
    ):
        raise ValueError(_int_message(text, low, high, what))
    value = int(text)
    if not low <= value <= high:
        raise ValueError(_int_message(text, low, high, what))
    return value


def _int_message(text: object, low: int, high: int, what: str) -> str:
    return f"{what} must be a whole number from {low} to {high} in digits 0-9, got {_shown(text)}"


def parse_decimal(
    text: str,
    *,
    low: Decimal | None = None,
    high: Decimal | None = None,
    exponent: bool = False,
    what: str = "the value",
) -> Decimal:
    """`text` as a finite Decimal in [low, high] (bounds optional): ``-?digits[.digits]``
    (".5" and "5." too), plus ``e[+-]digits`` when `exponent` is allowed; else ValueError."""
    body, exp = text, ""
    if exponent and isinstance(text, str):
        match = re.search(r"[eE]", text)
        if match:
            body, exp = text[: match.start()], text[match.start() :]
    ok = (
        isinstance(text, str)
        and _DECIMAL.fullmatch(body) is not None
        and (not exp or _EXPONENT.fullmatch(exp) is not None)
        and (low is None or low < 0 or not body.startswith("-"))
    )
    if not ok:
        raise ValueError(_decimal_message(text, low, high, what))
    value = Decimal(text)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(_decimal_message(text, low, high, what))
    return value


def _decimal_message(text: object, low: Decimal | None, high: Decimal | None, what: str) -> str:
    if low is not None and high is not None:
        bounds = f" from {low} to {high}"
    elif low is not None:
        bounds = f" of at least {low}"
    elif high is not None:
        bounds = f" of at most {high}"
    else:
        bounds = ""
    return f"{what} must be a number{bounds} in digits 0-9 (like 12.5), got {_shown(text)}"


def parse_float(
    text: str,
    *,
    low: float | None = None,
    high: float | None = None,
    exponent: bool = False,
    what: str = "the value",
) -> float:
    """`parse_decimal` as a float (settings, data files): the same grammar, always finite."""
    value = parse_decimal(
        text,
        low=None if low is None else Decimal(repr(low)),
        high=None if high is None else Decimal(repr(high)),
        exponent=exponent,
        what=what,
    )
    result = float(value)
    if result in (float("inf"), float("-inf")):
        raise ValueError(_decimal_message(text, None, None, what))
    return result


def _shown(text: object) -> str:
    shown = repr(text)
    return shown if len(shown) <= 60 else shown[:57] + "..."
