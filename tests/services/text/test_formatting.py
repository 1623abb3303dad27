"""User-visible values in the reader's language (services/text/formatting.py): Babel numbers,
prices, percentages, money, dates, durations, relative times; gettext plural forms; state
names as message keys (services/text/vocabulary.py)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.devices import CommandStatus, DeviceMode, DeviceStatus
from models.signals import CloseReason, Decision, SignalStatus
from models.users import Role, UserStatus
from services.app_settings import Visibility
from services.text import formatting as f
from services.text import vocabulary

NBSP = "\xa0"
ENGLISH_DATE_WORDS = re.compile(
    r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|January|February|March|April"
    r"|June|July|August|September|October|November|December|Mon|Tue|Wed|Thu|Fri|Sat|Sun"
    r"|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
)
AT = datetime(2017, 5, 12, 14, 0, tzinfo=UTC)
NOW = datetime(2017, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("locale", "value", "places", "shown"),
    [
        ("en", D("1234.5"), None, "1,234.5"),
        ("es", D("12345.5"), None, "12.345,5"),
        ("ru", D("1234.5"), None, f"1{NBSP}234,5"),
        ("en", D("1.50"), None, "1.50"),  # a Decimal keeps its places
        ("ru", D("1.50"), None, "1,50"),
        ("es", D("1E+1"), None, "10"),  # never "1E+1"
        ("ru", D("0.0000001"), None, "0,0000001"),  # never 1E-7
        ("en", 5000, None, "5,000"),
        ("ru", D("2.345"), 2, "2,35"),  # half up
        ("es", D("2.5"), 0, "3"),
    ],
)
def test_numbers_follow_the_locale(locale: str, value: D, places: int | None, shown: str) -> None:
    assert f.number(value, locale, places) == shown


@pytest.mark.parametrize(
    ("value", "places"), [(D("-0.0"), 1), (D("-0.04"), 1), (D("-0.004"), 2), (D("-0"), None)]
)
@pytest.mark.parametrize("locale", ["en", "es", "ru"])
def test_negative_zero_never_shows(value: D, places: int | None, locale: str) -> None:
    """The fill message's "slippage -0.0 pt": a value that rounds to zero is zero."""
    for text in (f.number(value, locale, places), f.signed(value, locale, places or 0)):
        assert not text.startswith("-") and "-0" not in text


@given(st.decimals(min_value=-1, max_value=1, allow_nan=False, places=4), st.integers(0, 3))
def test_a_shown_number_is_negative_only_when_its_rounded_value_is(value: D, places: int) -> None:
    rounded = value.quantize(D(1).scaleb(-places), rounding=ROUND_HALF_UP)
    for locale in ("en", "es", "ru"):
        assert f.number(value, locale, places).startswith("-") == (rounded < 0)


@pytest.mark.parametrize(
    ("locale", "price", "pct", "usd", "eur", "signed"),
    [
        ("en", "1.07590", "12.35%", "$1,234.50", "€0.50", "+12.50"),
        ("es", "1,07590", f"12,35{NBSP}%", f"1.234,50{NBSP}US$", f"0,50{NBSP}€", "+12,50"),
        ("ru", "1,07590", f"12,35{NBSP}%", f"1{NBSP}234,50{NBSP}$", f"0,50{NBSP}€", "+12,50"),
    ],
)
def test_prices_percentages_money_and_signs(
    locale: str, price: str, pct: str, usd: str, eur: str, signed: str
) -> None:
    assert f.price(D("1.0759"), 5, locale) == price  # the symbol's digits
    assert f.percent(D("12.345"), locale) == pct
    assert f.percent(D("20"), locale).startswith("20")  # no needless decimals
    assert f.money(D("1234.5"), "USD", locale) == usd
    assert f.money(D("0.5"), "eur", locale) == eur
    assert f.signed(D("12.5"), locale) == signed
    assert f.signed(D("-3"), locale, 1) == ("-3.0" if locale == "en" else "-3,0")


def test_money_in_an_unknown_or_hostile_currency_is_the_amount_alone() -> None:
    assert f.money(D("10"), "", "en") == "10.00"
    assert f.money(D("10"), "<b>", "ru") == "10,00"  # a terminal reports it: no markup
    assert f.money(D("10"), "USC", "en") == "USC10.00"  # a cent account: its code


@pytest.mark.parametrize(
    ("locale", "this_year", "other_year", "day"),
    [
        ("en", "May 12, 14:00 UTC", "May 12, 2017, 14:00 UTC", "May 12, 2017"),
        ("es", "12 may, 14:00 UTC", "12 may 2017, 14:00 UTC", "12 may 2017"),
        ("ru", "12 мая, 14:00 UTC", "12 мая 2017\u202fг., 14:00 UTC", "12 мая 2017\u202fг."),
    ],
)
def test_dates_and_times(locale: str, this_year: str, other_year: str, day: str) -> None:
    assert f.when(AT, locale, now=NOW) == this_year
    assert f.when(AT, locale, now=NOW + timedelta(days=365)) == other_year
    assert f.day(date(2017, 5, 12), locale) == day


def test_times_are_shown_in_utc_and_must_be_aware() -> None:
    moscow = AT.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Moscow"))
    assert f.when(moscow, "en", now=NOW) == "May 12, 14:00 UTC"
    with pytest.raises(ValueError, match="timezone-aware"):
        f.when(datetime(2017, 5, 12, 14, 0), "en")  # noqa: DTZ001 - the case refused


@pytest.mark.parametrize(
    ("locale", "day", "hours", "ago", "ahead"),
    [
        ("en", "1 day", "100 hours", "5 minutes ago", "in 3 hours"),
        ("es", "1 día", "100 horas", "hace 5 minutos", "dentro de 3 horas"),
        ("ru", "1 день", "100 часов", "5 минут назад", "через 3 часа"),
    ],
)
def test_durations_and_relative_times(
    locale: str, day: str, hours: str, ago: str, ahead: str
) -> None:
    assert f.duration(timedelta(hours=24), locale) == day
    assert f.duration(timedelta(hours=100), locale, unit="hour") == hours
    assert f.relative(NOW - timedelta(minutes=5), NOW, locale) == ago
    assert f.relative(NOW + timedelta(hours=3), NOW, locale) == ahead


@pytest.mark.parametrize(
    ("key", "forms"),
    [
        ("strategy.open_signals", ("открытый сигнал", "открытых сигнала", "открытых сигналов")),
        ("strategy.bars", ("бар", "бара", "баров")),
        ("unit.points", ("пункт", "пункта", "пунктов")),
        ("unit.positions", ("позицию", "позиции", "позиций")),
    ],
)
def test_russian_has_three_plural_forms(key: str, forms: tuple[str, str, str]) -> None:
    one, few, many = forms
    for n, form in [(1, one), (2, few), (5, many), (11, many), (21, one), (22, few), (25, many)]:
        assert f.show(f.plural(key, n), "ru") == f"{n} {form}", n


@pytest.mark.parametrize(
    ("locale", "one", "two"),
    [
        ("en", "1 open signal", "2 open signals"),
        ("es", "1 señal abierta", "2 señales abiertas"),
    ],
)
def test_english_and_spanish_plurals(locale: str, one: str, two: str) -> None:
    assert f.show(f.plural("strategy.open_signals", 1), locale) == one
    assert f.show(f.plural("strategy.open_signals", 2), locale) == two
    assert f.show(f.plural("strategy.open_signals", 21), locale).startswith("21 ")


def test_a_large_count_is_grouped_in_its_plural_phrase() -> None:
    assert f.show(f.plural("strategy.bars", 5000), "ru") == f"5{NBSP}000 баров"


def test_render_shows_every_parameter_for_the_locale() -> None:
    text = f.render("ru", "signal.expires", when=AT)
    assert text.startswith("Ордер истекает 12 мая")
    assert not ENGLISH_DATE_WORDS.search(text)


# -- state names ------------------------------------------------------------------------------
STATES = [
    *[vocabulary.signal_status(s) for s in SignalStatus],
    *[vocabulary.close_reason(r) for r in CloseReason],
    *[vocabulary.decision(d) for d in (*Decision, None)],
    *[vocabulary.role(r) for r in Role],
    *[vocabulary.user_status(s) for s in UserStatus],
    *[vocabulary.device_mode(m) for m in DeviceMode],
    *[vocabulary.device_status(s) for s in DeviceStatus],
    vocabulary.device_status(DeviceStatus.PAUSED, "drawdown"),
    *[vocabulary.command_status(s) for s in CommandStatus],
    *[vocabulary.visibility(v) for v in Visibility],
    vocabulary.side("buy"),
    vocabulary.side("sell"),
]


@pytest.mark.parametrize("locale", ["en", "es", "ru"])
def test_every_state_has_a_translated_name(locale: str) -> None:
    for term in STATES:
        shown = f.show(term, locale)
        assert shown and shown != term.key, term.key


def test_state_names_are_words_not_enum_values() -> None:
    assert f.show(vocabulary.signal_status(SignalStatus.CLOSED), "ru") == "закрыт"
    assert f.show(vocabulary.visibility(Visibility.ENTRY_ONLY), "es").startswith("solo la entrada")
    assert f.show(vocabulary.command_status(CommandStatus.REJECTED), "en") == "refused"


@pytest.mark.parametrize(
    ("word", "role"),
    [
        ("visitor", Role.PUBLIC), ("public", Role.PUBLIC), ("Visitante", Role.PUBLIC),
        ("гость", Role.PUBLIC), ("SUBSCRIBER", Role.SUBSCRIBER), ("suscriptor", Role.SUBSCRIBER),
        ("подписчик", Role.SUBSCRIBER), ("admin", Role.ADMIN), ("administrador", Role.ADMIN),
        ("администратор", Role.ADMIN), ("king", None), ("", None),
    ],
)  # fmt: skip
def test_roles_are_accepted_in_the_words_the_bot_prints(word: str, role: Role | None) -> None:
    assert vocabulary.parse_role(word) is role


@pytest.mark.parametrize("locale", ["en", "es", "ru"])
def test_every_printed_role_name_is_accepted_back(locale: str) -> None:
    for role in Role:
        assert vocabulary.parse_role(f.show(vocabulary.role(role), locale)) is role


@pytest.mark.parametrize(
    ("word", "side"),
    [
        ("buy", "buy"), ("SELL", "sell"), ("Compra", "buy"), ("venta", "sell"),
        ("покупка", "buy"), ("ПРОДАЖА", "sell"), ("long", "buy"), ("hold", None),
    ],
)  # fmt: skip
def test_sides_are_accepted_in_every_language(word: str, side: str | None) -> None:
    assert vocabulary.parse_side(word) == side
