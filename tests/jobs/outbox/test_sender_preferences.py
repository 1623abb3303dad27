"""Notification preferences reach Telegram, for every kind a user chooses for (new signal,
revision, fill, outcome, expiry, terminal alerts, reminders, price alerts): a kind made silent
is sent with `disable_notification` (the emulator records it), one they turned off is never
sent, the others as before."""

from __future__ import annotations

import pytest
from aiogram import Bot

from models.notifications import DeliveryMode, Notification
from services.app_settings import Visibility
from services.outbox import notifications as outbox
from services.outbox import preferences
from services.outbox.kinds import (
    BillingNotice,
    Fill,
    FreeSummary,
    Notice,
    PlainText,
    PositionClosed,
    PriceAlertFired,
    SignalCard,
    SignalUpdate,
    TerminalAlert,
)
from services.outbox.preferences import Category
from services.signals.views import SignalView
from services.text.formatting import phrase
from tests.jobs.helpers import bot_messages, drained, running, subscribers
from tests.services.terminals import helpers as th
from tgemu import EmulatorServer


async def test_silent_kinds_are_sent_without_sound_and_off_kinds_not_at_all(
    database: str, server: EmulatorServer, bot: Bot
) -> None:
    silent, off, default = await subscribers(server, 3)
    await preferences.set_modes(silent, {Category.TERMINAL: DeliveryMode.SILENT})
    await preferences.set_modes(off, {Category.TERMINAL: DeliveryMode.OFF})
    alert = TerminalAlert(
        "offline", "en", phrase("terminal.offline", name="Main MT5", when="12:00")
    )
    items = [
        outbox.Outgoing(t, message, f"{what}:{t}", user_id=t)
        for t in (silent, off, default)
        for what, message in (("alert", alert), ("text", PlainText("Welcome")))
    ]
    async with running(bot):
        async with outbox.transaction():
            assert await outbox.enqueue_many(items) == 5
        await drained()
    sent = {t: [(m.text, m.disable_notification) for m in bot_messages(server, t)]
            for t in (silent, off, default)}  # fmt: skip
    offline = bot_messages(server, default)[0].text
    assert offline and "Main MT5" in offline
    assert sent[silent] == [(offline, True), ("Welcome", False)]  # PlainText: not governed
    assert sent[off] == [("Welcome", False)]
    assert sent[default] == [(offline, False), ("Welcome", False)]


def governed(category: Category, view: SignalView) -> list[Notice]:
    """Every typed message the `category` preference governs (`preferences.category_of`)."""
    said = phrase("terminal.offline", name=f"{category.value} box", when="12:00")
    update = lambda event: SignalUpdate(view, "en", Visibility.FULL, event, "sig:none")  # noqa: E731
    return {
        Category.NEW_SIGNAL: [SignalCard(view, "en", Visibility.FULL), FreeSummary(view, "en")],
        Category.REVISION: [update("revised"), update("replaced")],
        Category.FILL: [update("filled"), Fill("en", said)],
        Category.OUTCOME: [update("closed"), update("cancelled"), PositionClosed("en", said)],
        Category.EXPIRY: [update("expired")],
        Category.TERMINAL: [TerminalAlert("offline", "en", said)],
        Category.REMINDER: [BillingNotice("reminder", "en", said)],
        Category.ALERT: [PriceAlertFired("en", said)],
    }[category]


@pytest.mark.parametrize("category", list(Category), ids=lambda c: c.value)
async def test_each_kind_is_sent_with_sound_silently_or_not_at_all_as_chosen(
    database: str, server: EmulatorServer, bot: Bot, category: Category
) -> None:
    view = await th.publish()  # before anyone subscribes: its own cards go to no one
    await Notification.all().delete()
    default, on, silent, off = await subscribers(server, 4)
    others = [c for c in Category if c is not category]
    await preferences.set_modes(on, {category: DeliveryMode.ON})
    # each user's other kinds are set the other way: only this kind's choice may count
    await preferences.set_modes(silent, {category: DeliveryMode.SILENT}
                                | dict.fromkeys(others, DeliveryMode.OFF))  # fmt: skip
    await preferences.set_modes(off, {category: DeliveryMode.OFF}
                                | dict.fromkeys(others, DeliveryMode.SILENT))  # fmt: skip
    notices = governed(category, view)
    assert {preferences.category_of(n) for n in notices} == {category}
    people = (default, on, silent, off)
    items = [
        outbox.Outgoing(t, notice, f"{category.value}:{i}:{t}", user_id=t)
        for t in people
        for i, notice in enumerate([*notices, PlainText("Welcome")])
    ]
    async with running(bot):
        async with outbox.transaction():
            assert await outbox.enqueue_many(items) == 3 * len(notices) + 4
        await drained()
    quiet = {t: [m.disable_notification for m in bot_messages(server, t)] for t in people}
    n = len(notices)
    assert quiet[default] == quiet[on] == [False] * (n + 1)
    assert quiet[silent] == [True] * n + [False]  # the reply the user asked for: as it is
    assert quiet[off] == [False]  # the Welcome only
    texts = [m.text or m.caption for m in bot_messages(server, silent)]
    assert texts[:n] == [m.text or m.caption for m in bot_messages(server, default)][:n]
