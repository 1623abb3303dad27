"""The typed notification kinds: each renders in the reader's language (Babel's numbers,
money and month names), stores the kind string rows always had, and both matches of
services/outbox/kinds.py handle every member of the union."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import get_args

import pytest

from models.notifications import Notification
from models.signals import SignalStatus
from models.users import Role
from services.app_settings import Visibility
from services.ops_alerts import HANDLER_ERROR, OpsAlerts
from services.outbox import kinds
from services.outbox import notifications as outbox
from services.outbox.kinds import (
    AccessNotice,
    BillingNotice,
    ButtonsRemoved,
    CardEdit,
    ChannelCard,
    Fill,
    FreeSummary,
    Notice,
    OpsAlert,
    PlainText,
    PositionClosed,
    Prepared,
    PriceAlertFired,
    SignalCard,
    SignalUpdate,
    TerminalAlert,
)
from services.signals.views import SignalView
from services.text.formatting import Money, Percent, Price, Signed, Term, phrase, plural
from services.users import profiles

AT = datetime(2017, 5, 12, 14, 0, tzinfo=UTC)
NBSP, NNBSP = "\xa0", "\u202f"
ENGLISH_MONTHS = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b")
VIEW = SignalView(
    id=7, symbol="XAUUSD", side="buy", status=SignalStatus.PUBLISHED, close_reason=None,
    version=2, entry=D("2350.5"), stop=D("2340.25"), take_profit=D("2383.8"), digits=2,
    published_at=AT, expires_at=AT + timedelta(hours=100), result_r=None, rationale="",
    price_adjusted=False, fill_price=D("2350.7"),
)  # fmt: skip
GUARD = phrase(
    "guard.tripped", name="T1", drawdown=Percent(D("12.5")), cap=Percent(D(10)),
    high=Money(D("12345.6"), "USD"), equity=Money(D("10802.4"), "USD"),
    closes=plural("unit.positions", 2), cancels=plural("unit.pending_orders", 1),
)  # fmt: skip
FILL = phrase(
    "terminal.filled", name="T1", id=7, side=Term("signal.side_buy"), volume=D("0.10"),
    price=Price(D("2350.7"), 2), slippage=D("2.0"),
)  # fmt: skip
CLOSED = phrase(
    "terminal.closed", name="T1", id=7, price=D("2360.10"), volume=D("0.10"),
    profit=Signed(D("1234.5")),
)  # fmt: skip
ISOLATED = phrase(
    "ops.isolated", id=7, step=Term("isolation.step_fanout_card"), target="user 9",
    error="KeyError: 'x'",
)  # fmt: skip

# One value of every kind, with the kind string its row stores (unchanged from free strings).
SAMPLES: list[tuple[Notice, str]] = [
    (SignalCard(VIEW, "en", Visibility.FULL, chart_id=3), "signal.new"),
    (ChannelCard(VIEW, Visibility.FULL), "signal.channel"),
    (FreeSummary(VIEW, "en"), "signal.free"),
    (SignalUpdate(VIEW, "en", Visibility.FULL, "filled", "sig:7:new:1"), "signal.update"),
    (CardEdit(VIEW, "en", Visibility.FULL, "sig:7:new:1", photo=True), "signal.edit"),
    (ButtonsRemoved("sig:7:new:1"), "signal.edit"),
    (Fill("en", FILL), "terminal.filled"),
    (PositionClosed("en", CLOSED), "terminal.closed"),
    (TerminalAlert("guard", "en", GUARD), "terminal.guard"),
    (TerminalAlert("offline", "en", phrase("terminal.offline", name="T1", when=AT)),
     "terminal.offline"),
    (AccessNotice("access.banned", "en", Role.PUBLIC), "access.banned"),
    (BillingNotice("grace", "en", phrase("lifecycle.grace", plan="Pro", ended=AT, until=AT),
                   outbox.inline_keyboard([[outbox.Button("Renew", "renew:pro")]])),
     "billing.grace"),
    (OpsAlert("en", ISOLATED), "ops.alert"),
    (PriceAlertFired("en", phrase("alerts.fired_up", symbol="XAUUSD", level=Price(D("2400"), 2),
                                  price=Price(D("2401.5"), 2), note="",
                                  tail=phrase("alerts.fired_once"))), "alert"),
    (PlainText("hello"), "text"),
    (Prepared(outbox.delete("k")), "prepared"),
]  # fmt: skip


@pytest.mark.parametrize(("notice", "stored"), SAMPLES)
def test_each_kind_stores_its_kind_string_and_renders_a_valid_payload(
    notice: Notice, stored: str
) -> None:
    assert kinds.kind_of(notice) == stored
    payload = kinds.render(notice)
    outbox.validate_payload(payload)  # raises on a malformed payload


def test_the_samples_cover_every_member_of_the_union() -> None:
    assert {type(notice) for notice, _ in SAMPLES} == set(get_args(Notice))


def _matched_classes(function: ast.FunctionDef) -> tuple[set[str], bool]:
    """Class names in the cases of `function`'s match, and whether its last case is
    `case _: assert_never(...)`."""
    [match] = [node for node in ast.walk(function) if isinstance(node, ast.Match)]
    names = {
        node.cls.id
        for case in match.cases
        for node in ast.walk(case.pattern)
        if isinstance(node, ast.MatchClass) and isinstance(node.cls, ast.Name)
    }
    last = match.cases[-1]
    call = last.body[0]
    ends_never = (
        isinstance(last.pattern, ast.MatchAs)
        and last.pattern.pattern is None
        and isinstance(call, ast.Expr)
        and isinstance(call.value, ast.Call)
        and getattr(call.value.func, "id", "") == "assert_never"
    )
    return names, ends_never


@pytest.mark.parametrize("function", ["kind_of", "render"])
def test_both_matches_handle_every_kind_and_end_in_assert_never(function: str) -> None:
    tree = ast.parse(Path(kinds.__file__).read_text(encoding="utf-8"))
    [node] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function]
    names, ends_never = _matched_classes(node)
    assert names == {cls.__name__ for cls in get_args(Notice)}
    assert ends_never  # mypy (strict, in make lint) then refuses a missing case


CARD = {
    "en": ("Entry: <code>2,350.50</code>", "Order expires May 16, 2017, 18:00 UTC", "Approve"),
    "es": ("Entrada: <code>2.350,50</code>", "La orden caduca el 16 may 2017, 18:00 UTC",
           "Aprobar"),
    "ru": (f"Вход: <code>2{NBSP}350,50</code>", f"16 мая 2017{NNBSP}г., 18:00 UTC", "Одобрить"),
}  # fmt: skip


@pytest.mark.parametrize("lang", sorted(CARD))
def test_a_signal_card_in_the_readers_words(lang: str) -> None:
    payload = kinds.render(SignalCard(VIEW, lang, Visibility.FULL, chart_id=3))
    entry, expiry, approve = CARD[lang]
    assert payload["method"] == "send_photo" and payload["photo"] == {"chart_id": 3}
    assert entry in payload["caption"] and expiry in payload["caption"]
    [first, *_] = payload["reply_markup"]["inline_keyboard"][0]
    assert approve in first["text"] and first["callback_data"] == "sig:approve:7"
    if lang != "en":
        assert not ENGLISH_MONTHS.search(payload["caption"])


def test_an_update_replies_and_an_edit_keeps_the_buttons_only_when_asked() -> None:
    update = kinds.render(SignalUpdate(VIEW, "es", Visibility.FULL, "filled", "orig"))
    assert update["reply_to"] == "orig" and "2.350,70" in update["text"]
    edit = kinds.render(CardEdit(VIEW, "ru", Visibility.FULL, "orig", photo=False))
    assert edit["method"] == "edit_text" and edit["reply_markup"] is not None
    bare = kinds.render(CardEdit(VIEW, "ru", Visibility.FULL, "orig", photo=True, buttons=False))
    assert bare["method"] == "edit_caption" and bare["reply_markup"] is None
    assert kinds.render(ButtonsRemoved("orig")) == outbox.edit_markup("orig")


MONEY = {
    "en": ("12.5%", "$12,345.60", "$10,802.40"),
    "es": (f"12,5{NBSP}%", f"12.345,60{NBSP}US$", f"10.802,40{NBSP}US$"),
    "ru": (f"12,5{NBSP}%", f"12{NBSP}345,60{NBSP}$", f"10{NBSP}802,40{NBSP}$"),
}


@pytest.mark.parametrize("lang", sorted(MONEY))
def test_a_terminal_alert_shows_money_and_percent_with_the_locales_separators(
    lang: str,
) -> None:
    body = kinds.render(TerminalAlert("guard", lang, GUARD))["text"]
    for shown in MONEY[lang]:
        assert shown in body


@pytest.mark.parametrize(
    ("lang", "when", "profit", "fill"),
    [
        ("en", "May 12, 2017, 14:00 UTC", "+1,234.50", "2,350.70"),
        ("es", "12 may 2017, 14:00 UTC", "+1.234,50", "2.350,70"),
        ("ru", f"12 мая 2017{NNBSP}г., 14:00 UTC", f"+1{NBSP}234,50", f"2{NBSP}350,70"),
    ],
)
def test_fills_closes_and_offline_alerts_in_the_readers_words(
    lang: str, when: str, profit: str, fill: str
) -> None:
    offline = phrase("terminal.offline", name="T1", when=AT)
    assert when in kinds.render(TerminalAlert("offline", lang, offline))["text"]
    assert profit in kinds.render(PositionClosed(lang, CLOSED))["text"]
    assert fill in kinds.render(Fill(lang, FILL))["text"]


def test_an_access_notice_names_the_role_in_the_readers_language() -> None:
    body = kinds.render(AccessNotice("access.promoted_subscriber", "es", Role.SUBSCRIBER))
    assert body["text"].startswith("⭐ Ahora eres suscriptor")


@pytest.mark.parametrize(
    ("lang", "start"),
    [
        ("en", "⚠️ Signal #7: rendering the card failed for user 9"),
        ("es", "⚠️ Señal #7: no se pudo preparar la tarjeta para user 9"),
        ("ru", "⚠️ Сигнал #7: подготовка карточки — ошибка для user 9"),
    ],
)
def test_an_ops_alert_is_plain_text_in_the_owners_language(lang: str, start: str) -> None:
    payload = kinds.render(OpsAlert(lang, ISOLATED))
    assert payload["parse_mode"] is None and payload["text"].startswith(start)


async def test_each_owner_reads_an_ops_alert_in_the_language_they_saved(database: str) -> None:
    await profiles.seed(11, "Olga", "olga", Role.OWNER)
    await profiles.set_language(11, "es")
    await profiles.seed(12, "Omar", "omar", Role.OWNER)  # never chose: English
    alerts = OpsAlerts([11, 12, 13])  # 13: an owner the bot has not met yet
    text = phrase(HANDLER_ERROR, error_type="KeyError", ref="r-1", error="'x'")
    assert await alerts.alert("handler:KeyError", text)
    rows = {r.chat_id: r for r in await Notification.filter(kind="ops.alert")}
    assert rows[11].payload["text"] == "⚠️ KeyError en un manejador (referencia r-1): 'x'"
    assert rows[12].payload["text"] == "⚠️ KeyError in a handler (ref r-1): 'x'"
    assert rows[13].payload["text"] == rows[12].payload["text"]
