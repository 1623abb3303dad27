"""Numbers people type and clients send: ASCII digits only, range-checked before any database
sees them.

`str.isdigit` and `int()` accept any Unicode digit ("١٢" is 12, "²" passes `isdigit` and then
fails `int`), signs, underscores and surrounding whitespace, and `int` has no upper bound while
the database does (SQLite INTEGER and PostgreSQL BIGINT hold 64 bits, INT 32): an unchecked
"99999999999999999999" becomes an OverflowError deep in a query. Every numeric argument of a
command, a callback, a CLI option or an API field goes through `parse_int` (text) or
`check_int` (an int that arrived already parsed, e.g. a `CallbackData` field), with an
`IntBound` saying what the number is and which values are possible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, Field

from services.errors import InvalidInput

_WHOLE = re.compile(r"-?[0-9]+")  # ASCII digits, an optional minus; no "+", "_" or spaces
_DECIMAL = re.compile(r"[0-9]+(?:[.,][0-9]+)?|[.,][0-9]+")  # 1.0850, 1,0850, .5; no exponent
MAX_DIGITS = 40  # longer digit strings are out of every range without converting them
INT32_MAX = 2**31 - 1  # PostgreSQL INTEGER (Tortoise IntField): signal ids
INT64_MAX = 2**63 - 1  # BIGINT (Tortoise BigIntField): Telegram ids, broker tickets
# Telegram: user and chat ids "have at most 52 significant bits" (Bot API, User.id, Chat.id).
TELEGRAM_ID_MAX = 2**52 - 1


@dataclass(frozen=True, slots=True)
class IntBound:
    """What a number is (`key`: the message key of the refusal, with {text}, {min}, {max}) and
    the inclusive range `[low, high]` it must lie in."""

    key: str
    low: int
    high: int
    what: str  # English name for command-line and log messages

    def contains(self, value: int) -> bool:
        return self.low <= value <= self.high

    def describe(self) -> str:
        """ "a signal id from 1 to 2147483647": the English range, for CLI errors."""
        return f"{self.what} from {self.low} to {self.high}"


TELEGRAM_ID = IntBound("error.telegram_id_invalid", 1, TELEGRAM_ID_MAX, "a positive Telegram id")
CHAT_ID = IntBound(
    "error.chat_id_invalid", -TELEGRAM_ID_MAX, TELEGRAM_ID_MAX, "a Telegram chat id"
)
SIGNAL_ID = IntBound("error.signal_id_invalid", 1, INT32_MAX, "a signal id")
TICKET = IntBound("error.number_invalid", 1, INT64_MAX, "a broker ticket")
ALERT_ID = IntBound("error.number_invalid", 1, INT64_MAX, "a price alert id")
LIST_LIMIT = IntBound("error.number_invalid", 1, 1000, "a number of rows")


def looks_numeric(text: str) -> bool:
    """True when `text` is what a person types for a number: digits of any script, an optional
    sign, spaces around. Such text is parsed strictly (`parse_int`) and refused when it is not
    a valid number, rather than taken as a name to search for."""
    body = text.strip()
    body = body[1:] if body[:1] in "+-" else body
    return bool(body) and body.isdigit()


def parse_int(text: str, bound: IntBound) -> int:
    """The integer in `text` (ASCII digits with an optional leading minus; spaces around are
    ignored) when it lies in `bound`; otherwise InvalidInput(`bound.key`) that quotes the text
    and the range. Never converts a digit string longer than MAX_DIGITS."""
    body = text.strip()
    if _WHOLE.fullmatch(body) and len(body) <= MAX_DIGITS:
        value = int(body)
        if bound.low <= value <= bound.high:
            return value
    raise InvalidInput(bound.key, text=body[:32], min=bound.low, max=bound.high)


def check_int(value: int, bound: IntBound) -> int:
    """`value` when it lies in `bound` (and is a real int, not a bool), else InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, int) or not bound.contains(value):
        raise InvalidInput(bound.key, text=str(value)[:32], min=bound.low, max=bound.high)
    return value


def parse_decimal(text: str) -> Decimal | None:
    """A plain decimal typed by a person ("1.0850", "1,0850", "2350"): ASCII digits with at most
    one decimal point or comma; None for anything else (exponents such as 1e5, signs, Unicode
    digits, "NaN", "Infinity", underscores)."""
    body = text.strip()
    if not _DECIMAL.fullmatch(body) or len(body) > MAX_DIGITS:
        return None
    return Decimal(body.replace(",", "."))


def _strict_int(value: object) -> object:
    """pydantic before-validator: an int, or a string of ASCII digits (optional minus)."""
    if isinstance(value, str) and not (_WHOLE.fullmatch(value) and len(value) <= MAX_DIGITS):
        msg = "must be ASCII digits"
        raise ValueError(msg)
    return value


# Field types for pydantic models (CallbackData): a forged value out of range fails to unpack,
# so no handler ever sees it (the fallback answers such a button).
_STRICT = BeforeValidator(_strict_int)
SignalIdField = Annotated[int, _STRICT, Field(ge=SIGNAL_ID.low, le=SIGNAL_ID.high)]
TicketField = Annotated[int, _STRICT, Field(ge=TICKET.low, le=TICKET.high)]
AlertIdField = Annotated[int, _STRICT, Field(ge=ALERT_ID.low, le=ALERT_ID.high)]
UserIdOrZeroField = Annotated[int, _STRICT, Field(ge=0, le=TELEGRAM_ID.high)]  # 0: no user
