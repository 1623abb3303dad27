"""A subscriber's own results (/mystats, and the service behind it and the Mini App): figures
from seeded fills, the text in English and Spanish, the empty cases and bad periods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from core.clock import ManualClock
from models.users import Role
from services.analytics import mystats
from services.analytics.mystats import MoneyTotal
from services.analytics.period import month, parse_period
from services.errors import InvalidInput, PermissionDenied
from tests.analytics import fills_seed as seed
from tests.analytics.conftest import Chat

SAM, ZOE, VISITOR = 11, 12, 13
NOV = datetime(2026, 11, 10, 12, tzinfo=UTC)
OCT = datetime(2026, 10, 20, 12, tzinfo=UTC)


async def _history() -> None:
    """November: three closed signals (+3, -1, +2 R); Sam's USD terminal took the first two
    (2 and 1 points worse than the entry: 0.02 and 0.01 R), a second EUR terminal of his
    took the first too; October: one signal, taken. Zoe took the third."""
    sam = await seed.user(SAM, name="Sam")
    zoe = await seed.user(ZOE, name="Zoe")
    usd, eur = await seed.terminal(sam, "USD box"), await seed.terminal(sam, "EUR box", "EUR")
    win = await seed.signal(NOV, "3.0")
    loss = await seed.signal(NOV + timedelta(days=1), "-1.0")
    other = await seed.signal(NOV + timedelta(days=2), "2.0")
    earlier = await seed.signal(OCT, "1.0")
    await seed.fill(usd, win, "1.10002", close="1.10300", profit="29.80")  # 2.98 R
    await seed.fill(eur, win, "1.10000", close="1.10300", profit="27.50")  # 3.00 R
    await seed.fill(usd, loss, "1.10001", close="1.09900", profit="-10.10")  # -1.01 R
    await seed.fill(usd, earlier, "1.10000", close="1.10100", profit="10.00")  # 1.00 R
    await seed.fill(await seed.terminal(zoe), other, "1.10000", close="1.10200", profit="20")


async def test_results_against_the_strategy_for_a_month(database: str) -> None:
    await _history()
    sam = await seed.user(SAM)
    stats = await mystats.my_stats(sam, month(2026, 11))
    t = stats.total
    assert (stats.terminals, t.signals, t.taken, t.closed) == (2, 3, 2, 2)
    assert t.strategy_r == pytest.approx(4.0)
    # per signal the mean of his fills: (2.98 + 3.00) / 2, then -1.01
    assert t.my_r == pytest.approx(2.99 - 1.01)
    assert t.slippage_r == pytest.approx(0.01 + 0.01)
    assert t.money == (MoneyTotal("EUR", D("27.50")), MoneyTotal("USD", D("19.70")))
    assert [(m.year, m.month) for m in stats.months] == [(2026, 11)]


async def test_an_open_fill_is_taken_without_a_result(database: str) -> None:
    sam = await seed.user(SAM)
    box = await seed.terminal(sam)
    s = await seed.signal(NOV, "2.0")
    await seed.fill(box, s, "1.10003")  # still open on the terminal
    t = (await mystats.my_stats(sam, month(2026, 11))).total
    assert (t.signals, t.taken, t.closed, t.my_r, t.money) == (1, 1, 0, 0.0, ())
    assert t.slippage_r == pytest.approx(0.03)


async def test_free_users_are_refused(database: str) -> None:
    visitor = await seed.user(VISITOR, Role.PUBLIC)
    with pytest.raises(PermissionDenied):
        await mystats.my_stats(visitor, month(2026, 11))


async def test_the_chat_answer_in_english_and_spanish(chat: Chat, clock: ManualClock) -> None:
    await _history()
    (en,) = await chat.send(SAM, "/mystats 2026-11")
    assert en.startswith("<b>Your results</b> · November 2026\n\n")
    assert ("You took 2 of 3 signals; your result +1.98 R vs the strategy's +4.00 R; "
            "slippage cost +0.02 R.") in en  # fmt: skip
    assert "P&amp;L: €27.50, $19.70" in en
    assert en.endswith(
        "Another period: /mystats 2026-11 (a month) or /mystats 90d (the last 90 days)."
    )
    (es,) = await chat.send(SAM, "/MyStats 2026-11", language="es")
    assert es.startswith("<b>Tus resultados</b> · noviembre de 2026\n\n")
    assert ("Tomaste 2 de 3 señales; tu resultado +1,98 R frente a +4,00 R de la estrategia; "
            "el deslizamiento costó +0,02 R.") in es  # fmt: skip
    assert "Ganancias y pérdidas: 27,50\xa0€, 19,70\xa0US$" in es


async def test_a_number_of_days_lists_each_month(chat: Chat, clock: ManualClock) -> None:
    await _history()
    clock.set(datetime(2026, 12, 1, tzinfo=UTC))
    (text,) = await chat.send(SAM, "/mystats 60d")
    assert "· the last 60 days\n\n" in text
    assert "You took 3 of 4 signals; your result +2.98 R vs the strategy's +5.00 R" in text
    assert "<b>By month</b>\nOctober 2026: 1 of 1 · you +1.00 R · strategy +1.00 R" in text
    assert "November 2026: 2 of 3 · you +1.98 R · strategy +4.00 R · slippage +0.02 R" in text
    (default,) = await chat.send(SAM, "/mystats")  # the last 30 days: November's only
    assert "· the last 30 days\n\n" in default and "You took 2 of 3 signals" in default


async def test_the_empty_cases_say_what_to_do(chat: Chat) -> None:
    await _history()
    newcomer = await seed.user(21, name="Nia")
    (text,) = await chat.send(21, "/mystats 2026-11")
    assert "You have no terminal yet" in text and "/devices" in text
    assert "The strategy closed 3 signals in this period: +4.00 R in total." in text
    await seed.terminal(newcomer)
    (text,) = await chat.send(21, "/mystats 2026-11")
    assert "Your terminals executed none of the signals closed in this period." in text
    assert "The strategy closed 3 signals" in text
    (text,) = await chat.send(SAM, "/mystats 2025-01")
    assert "No signal closed in January 2025. Try a longer period, e.g. /mystats 90d." in text
    (ru,) = await chat.send(21, "/mystats 2026-10", language="ru")
    assert "Стратегия закрыла за этот период 1 сигнал: +1,00 R." in ru
    await seed.user(VISITOR, Role.PUBLIC)
    assert await chat.send(VISITOR, "/mystats") == [
        "Terminals and copy trading need an active subscription."
    ]


async def test_the_spread_at_fills_and_the_users_brokers(chat: Chat) -> None:
    """The median of the spreads the user's terminals reported at their fills (a fill without
    one does not count), and every broker of theirs by name (their own data), escaped."""
    sam, zoe = await seed.user(SAM, name="Sam"), await seed.user(ZOE, name="Zoe")
    ic = await seed.terminal(sam, "IC box", broker="IC  Markets")
    await seed.terminal(sam, "Second IC", broker="ic markets")  # the same broker
    odd = await seed.terminal(sam, "Odd box", broker="<Odd & Co>")
    await seed.terminal(sam, "Silent box")  # reports no broker
    zoes = await seed.terminal(zoe, "Zoe box", broker="Zoe's Broker")
    a, b = await seed.signal(NOV, "1.0"), await seed.signal(NOV + timedelta(hours=1), "-1.0")
    await seed.fill(ic, a, "1.10001", close="1.10100", profit="9", spread=12)
    await seed.fill(odd, b, "1.10000", close="1.09900", profit="-10", spread=15)
    await seed.fill(odd, a, "1.10002", close="1.10100", profit="8")  # no spread reported
    await seed.fill(zoes, a, "1.10000", close="1.10100", profit="10", spread=40)  # Zoe's
    stats = await mystats.my_stats(sam, month(2026, 11))
    assert stats.total.median_spread_points == pytest.approx(13.5)
    assert stats.brokers == ("<Odd & Co>", "IC Markets")
    (en,) = await chat.send(SAM, "/mystats 2026-11")
    assert "Spread at your fills: 13.5 points (median, as your terminals reported it)" in en
    assert "Your brokers: &lt;Odd &amp; Co&gt;, IC Markets" in en
    assert "Zoe" not in en
    (ru,) = await chat.send(SAM, "/mystats 2026-11", language="ru")
    assert "Спред при ваших исполнениях: 13,5 п." in ru and "Ваши брокеры: " in ru
    zoe_stats = await mystats.my_stats(zoe, month(2026, 11))
    assert zoe_stats.brokers == ("Zoe's Broker",)
    assert zoe_stats.total.median_spread_points == pytest.approx(40.0)


async def test_no_spread_reported_says_nothing_of_it(chat: Chat) -> None:
    await _history()  # fills without a spread, terminals without a broker
    (en,) = await chat.send(SAM, "/mystats 2026-11")
    assert "Spread" not in en and "brokers" not in en


@pytest.mark.parametrize("arg", ["2026-13", "abc", "0d", "3651d", "2026-1", "٣٠d", "<b>x</b>"])
async def test_a_bad_period_is_refused_with_the_forms_it_takes(chat: Chat, arg: str) -> None:
    await seed.user(SAM)
    (text,) = await chat.send(SAM, f"/mystats {arg}")
    shown = arg.replace("<", "&lt;").replace(">", "&gt;")
    assert text == (f"“{shown}” is not a period. Use a month like 2026-11 or a number of days "
                    "like 30d (up to 3650 days).")  # fmt: skip
    (es,) = await chat.send(SAM, f"/mystats {arg}", language="es")
    assert es.startswith(f"«{shown}» no es un periodo.")


def test_periods() -> None:
    now = datetime(2026, 12, 3, 8, 30, tzinfo=UTC)
    assert parse_period("2026-02", now).end == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_period("2026-12", now).end == datetime(2027, 1, 1, tzinfo=UTC)
    days = parse_period(" 7D ", now)
    assert (days.start, days.end, days.label) == (now - timedelta(days=7), now, "7d")
    assert parse_period(None, now).label == "30d"
    with pytest.raises(InvalidInput):
        parse_period("x" * 100, now)
