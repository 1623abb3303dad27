"""User-visible values in the reader's language: numbers, prices, percentages, money, dates and
times, durations, relative times, state names and counted phrases.

Everything goes through Babel (CLDR data: `babel.numbers`, `babel.dates`) and gettext, so a
Russian reader sees "1 234,50 $", "12 мая, 14:00 UTC" and "5 открытых сигналов", a Spanish one
"1.234,50 US$", "12 may, 14:00 UTC" and "5 señales abiertas". Producers of a message put typed
values into its parameters and leave the words to the edge:

- `Decimal` keeps its own places (`Decimal("1.50")` -> "1.50"/"1,50"); `int` is an identifier
  or a count and shows as typed (no grouping: "#12345", "ticket 1001"); wrap a count that may be
  large in `Number`;
- `Price(value, digits)`, `Number(value, places)`, `Signed(value, places)` (explicit "+"),
  `Percent(value_pct, places)` (12.5 means 12.5 %), `Money(value, currency)`;
- `datetime` (aware; shown in UTC with the "UTC" label: we do not know users' time zones),
  `date`, `timedelta` (a duration: "2 hours"), `Relative(moment, now)` ("in 3 hours");
- `Term(key)`: a message id translated in place (state names: `services.text.vocabulary`);
- `Plural(key, n, ...)`: a counted phrase through gettext's plural forms (`ngettext`; the
  catalogs' Plural-Forms header: Russian has three).

`show(value, locale)` renders one value, `render(locale, key, **params)` a whole message.
Negative zero never shows: a value that rounds to zero is zero ("-0.04" at one place is "0.0").
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, Literal

from babel import Locale
from babel.dates import format_skeleton, format_timedelta
from babel.numbers import NumberPattern, format_currency, format_decimal, get_currency_precision

import core.clock
from services.text.i18n import LANGUAGES, ngettext, translator

TimeUnit = Literal["year", "month", "week", "day", "hour", "minute", "second"]
MAX_PLACES = 12  # more decimals than any price or lot step we know
_CURRENCY = re.compile(r"[A-Z]{3}")  # ISO 4217 and what brokers report (USD, EUR, USC)


# -- typed values -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Number:
    """A number with `places` decimals (None: the value's own places; a count: 0)."""

    value: Decimal | int | float
    places: int | None = None


@dataclass(frozen=True, slots=True)
class Price:
    """A price with the symbol's `digits` (1.0841 on a 5-digit EURUSD -> 1.08410)."""

    value: Decimal
    digits: int


@dataclass(frozen=True, slots=True)
class Signed:
    """A change shown with its sign: "+1.25", "-0.50", "0.00" (P&L, results in R)."""

    value: Decimal
    places: int = 2


@dataclass(frozen=True, slots=True)
class Percent:
    """`value` percent (12.5 -> "12.5%" / "12,5 %"), at most `places` decimals."""

    value: Decimal
    places: int = 2


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in `currency` (an ISO 4217 code, or what a broker reports: "USD", "USC");
    no currency: the amount alone, with two decimals."""

    value: Decimal
    currency: str = ""


@dataclass(frozen=True, slots=True)
class Relative:
    """`moment` relative to `now`: "in 3 hours", "5 minutes ago"."""

    moment: datetime
    now: datetime


@dataclass(frozen=True, slots=True)
class Duration:
    """A length of time; `unit` fixes the unit ("100 hours", not "4 days")."""

    value: timedelta
    unit: TimeUnit | None = None


@dataclass(frozen=True, slots=True)
class Term:
    """A message id shown translated: a state name, a role, a kind of message."""

    key: str


@dataclass(frozen=True, slots=True)
class Plural:
    """A counted phrase: message `key` has plural forms (msgid_plural) with {n} and `params`."""

    key: str
    n: int
    params: tuple[tuple[str, object], ...] = ()


def plural(key: str, n: int, **params: object) -> Plural:
    return Plural(key, n, tuple(params.items()))


@dataclass(frozen=True, slots=True)
class Phrase:
    """A whole message not yet in anyone's language: message id `key` and its typed `params`,
    rendered later for each reader (`render_phrase`)."""

    key: str
    params: tuple[tuple[str, object], ...] = ()


def phrase(key: str, **params: object) -> Phrase:
    return Phrase(key, tuple(params.items()))


# -- numbers ----------------------------------------------------------------------------------
def _locale(code: str | None) -> Locale:
    return _parsed(code if code in LANGUAGES else "en")


@lru_cache(maxsize=8)
def _parsed(code: str) -> Locale:
    return Locale.parse(code)


@lru_cache(maxsize=256)
def _pattern(code: str, kind: str, low: int, high: int) -> NumberPattern:
    """The locale's own pattern (grouping, sign and symbol placement) with `low`..`high`
    fraction digits."""
    loc = _parsed(code)
    base = {
        "decimal": loc.decimal_formats[None],
        "percent": loc.percent_formats[None],
        "currency": loc.currency_formats["standard"],
    }[kind]
    pattern: NumberPattern = copy.copy(base)
    pattern.frac_prec = (low, high)
    return pattern


def _quantized(value: Decimal | int | float, places: int | None) -> tuple[Decimal, int]:
    """`value` rounded half-up to `places` (None: its own places), negative zero made zero."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite():
        msg = f"cannot show {number!r} to a person"
        raise ValueError(msg)
    if places is None:
        exponent = number.as_tuple().exponent
        places = min(MAX_PLACES, max(0, -exponent if isinstance(exponent, int) else 0))
    number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return (number.copy_abs() if number.is_zero() else number), places


def number(value: Decimal | int | float, locale: str | None, places: int | None = None) -> str:
    """1234.5 -> "1,234.5" (en), "1.234,5" (es), "1 234,5" (ru); `places` fixed decimals."""
    loc = _locale(locale)
    shown, fixed = _quantized(value, 0 if isinstance(value, int) and places is None else places)
    return format_decimal(shown, format=_pattern(str(loc), "decimal", fixed, fixed), locale=loc)


def price(value: Decimal, digits: int, locale: str | None) -> str:
    return number(value, locale, places=digits)


def signed(value: Decimal, locale: str | None, places: int = 2) -> str:
    shown, _ = _quantized(value, places)
    text = number(shown, locale, places)
    return f"+{text}" if shown > 0 else text


def percent(value_pct: Decimal, locale: str | None, places: int = 2) -> str:
    loc = _locale(locale)
    shown, _ = _quantized(value_pct, places)
    ratio = shown / 100
    return format_decimal(ratio, format=_pattern(str(loc), "percent", 0, places), locale=loc)


def money(value: Decimal, currency: str, locale: str | None) -> str:
    code = currency.strip().upper()
    if not _CURRENCY.fullmatch(code):  # none, or not a code (a terminal reports it): no symbol
        return number(value, locale, 2)
    loc = _locale(locale)
    places = get_currency_precision(code)
    shown, _ = _quantized(value, places)
    pattern = _pattern(str(loc), "currency", places, places)
    return format_currency(shown, code, format=pattern, locale=loc, currency_digits=False)


# -- dates and times --------------------------------------------------------------------------
def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        msg = f"a shown time must be timezone-aware (UTC), got {moment!r}"
        raise ValueError(msg)
    return moment.astimezone(UTC)


def when(moment: datetime, locale: str | None, now: datetime | None = None) -> str:
    """ "12 May, 14:00 UTC" / "12 may, 14:00 UTC" / "12 мая, 14:00 UTC"; the year is added when
    it is not the current one ("12 May 2017, 14:00 UTC")."""
    loc = _locale(locale)
    at = _utc(moment)
    current = (now or core.clock.now()).astimezone(UTC).year
    day = format_skeleton("MMMd" if at.year == current else "yMMMd", at, tzinfo=UTC, locale=loc)
    clock = format_skeleton("Hm", at, tzinfo=UTC, locale=loc)
    combined = str(loc.datetime_formats["medium"]).format(clock, day)
    return f"{combined} UTC"


def day(value: date, locale: str | None) -> str:
    """A calendar date: "12 May 2017" / "12 may 2017" / "12 мая 2017 г."."""
    loc = _locale(locale)
    moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return format_skeleton("yMMMd", moment, tzinfo=UTC, locale=loc)


def duration(value: timedelta, locale: str | None, unit: TimeUnit | None = None) -> str:
    """ "2 hours", "1 day"; with `unit` always in that unit ("100 hours")."""
    loc = _locale(locale)
    if unit is None:
        return format_timedelta(value, locale=loc)
    return format_timedelta(value, threshold=1e12, granularity=unit, locale=loc)


def relative(moment: datetime, now: datetime, locale: str | None) -> str:
    """ "in 3 hours", "5 minutes ago" ("через 3 часа", "hace 5 minutos")."""
    return format_timedelta(_utc(moment) - _utc(now), add_direction=True, locale=_locale(locale))


# -- one value, one message -------------------------------------------------------------------
def show(value: object, locale: str | None) -> str:  # noqa: C901 - one case per value type
    """`value` as the reader of `locale` should see it (strings as they are: escaping is the
    caller's business)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Term):
        return translator(locale)(value.key)
    if isinstance(value, Plural):
        return render_plural(locale, value)
    if isinstance(value, Phrase):
        return render_phrase(locale, value)
    if isinstance(value, Decimal | float):
        return number(value, locale)
    if isinstance(value, Number):
        return number(value.value, locale, value.places)
    if isinstance(value, Price):
        return price(value.value, value.digits, locale)
    if isinstance(value, Signed):
        return signed(value.value, locale, value.places)
    if isinstance(value, Percent):
        return percent(value.value, locale, value.places)
    if isinstance(value, Money):
        return money(value.value, value.currency, locale)
    if isinstance(value, datetime):
        return when(value, locale)
    if isinstance(value, date):
        return day(value, locale)
    if isinstance(value, timedelta):
        return duration(value, locale)
    if isinstance(value, Duration):
        return duration(value.value, locale, value.unit)
    if isinstance(value, Relative):
        return relative(value.moment, value.now, locale)
    return str(value)


def render_plural(locale: str | None, phrase: Plural) -> str:
    """The phrase's plural form for `n` in `locale`, with {n} shown as a number."""
    template = ngettext(locale)(phrase.key, phrase.key, phrase.n)
    params = dict(phrase.params)
    return template.format(
        n=number(phrase.n, locale), **{k: show(v, locale) for k, v in params.items()}
    )


def render_phrase(locale: str | None, message: Phrase) -> str:
    """`message` in `locale` (`render`)."""
    return render(locale, message.key, **dict(message.params))


def render(locale: str | None, key: str, **params: Any) -> str:
    """Message `key` in `locale` with every parameter shown for that locale (`show`)."""
    return translator(locale)(key).format(**{k: show(v, locale) for k, v in params.items()})
