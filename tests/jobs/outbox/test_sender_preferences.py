"""Notification preferences reach Telegram: a kind the user made silent is sent with
`disable_notification` (the emulator records it), one they turned off is never sent, the
others as before."""

from __future__ import annotations

from aiogram import Bot

from models.notifications import DeliveryMode
from services.outbox import notifications as outbox
from services.outbox import preferences
from services.outbox.kinds import PlainText, TerminalAlert
from services.outbox.preferences import Category
from services.text.formatting import phrase
from tests.jobs.helpers import bot_messages, drained, running, subscribers
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
