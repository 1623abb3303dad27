"""The sender asks the entitlement service just before each send: a role or ban changed while a
message waited in the outbox decides what the user gets (emulator over loopback HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiogram import Bot

from models.notifications import Notification, NotificationStatus
from models.signals import SignalStatus
from models.users import Role
from services import app_settings
from services.outbox import notifications as outbox
from services.signals import lifecycle as signals
from services.terminals import messages as tm
from services.text.formatting import phrase
from services.users import access, registration
from services.users.entitlements import Audience
from services.users.profiles import TelegramProfile, UserInfo
from tests.jobs.helpers import bot_messages, drained, running
from tests.services.terminals import helpers as th
from tests.waiting import until
from tgemu import EmulatorServer

OWNER, SUB, NICO = 801, 802, 803


@pytest.fixture
async def owner(database: str, server: EmulatorServer) -> UserInfo:
    for tid, name in ((OWNER, "Olivia"), (SUB, "Sam"), (NICO, "Nico")):
        server.emulator.add_user(tid, name)
    await th.user(SUB, Role.SUBSCRIBER, "Sam")
    await th.user(NICO, Role.PUBLIC, "Nico")
    await app_settings.put("signals.free_delay_hours", 0)  # free summaries due at once
    return await registration.ensure_user(
        TelegramProfile(OWNER, "olivia", "Olivia", None, "en"), owners=frozenset({OWNER})
    )


def texts(server: EmulatorServer, chat: int) -> list[str]:
    return [m.text or m.caption or "" for m in bot_messages(server, chat)]


def buttons(message: object) -> list[str]:
    markup = getattr(message, "reply_markup", None) or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_a_user_promoted_before_his_free_summary_gets_the_card_instead(
    owner: UserInfo, server: EmulatorServer, bot: Bot
) -> None:
    view = await th.publish()
    ended = await th.publish()
    await signals.transition(ended.id, SignalStatus.CANCELLED)
    await access.set_role(owner, "@nico", "subscriber")  # before the sender got to them
    async with running(bot):
        await drained()
        [notice, card] = bot_messages(server, NICO)
        assert "You are now a subscriber" in (notice.text or "")
        assert f"#{view.id}" in (card.text or "") and "1.07965" in (card.text or "")
        assert buttons(card) == ["✅ Approve", "❌ Reject", "ℹ️ Details"]
        assert all("Upgrade" not in t for t in texts(server, NICO))
        row = await Notification.get(dedupe_key=f"sig:{view.id}:free:{NICO}")
        assert (row.kind, row.audience, row.status) == ("signal.new", "paid", "sent")
        gone = await Notification.get(dedupe_key=f"sig:{ended.id}:free:{NICO}")
        assert gone.status == NotificationStatus.SKIPPED and "subscriber" in gone.last_error

        await signals.transition(view.id, SignalStatus.FILLED, price=th.ENTRY)  # a card now
        await drained()
    reply = bot_messages(server, NICO)[-1]
    assert reply.reply_to_message_id == card.message_id
    assert f"Signal #{view.id} EURUSD filled at 1.07592 (strategy)." in (reply.text or "")


async def test_a_user_demoted_before_his_card_gets_the_delayed_summary_not_the_levels(
    owner: UserInfo, server: EmulatorServer, bot: Bot
) -> None:
    await app_settings.put("signals.free_delay_hours", 24)
    view = await th.publish()
    await access.set_role(owner, "@sam", "public")
    async with running(bot):  # the summary waits a day: wait for the notice, not a drain
        await until(lambda: len(bot_messages(server, SUB)) == 1, timeout_s=30)
    [notice] = texts(server, SUB)
    assert "subscriber access has ended" in notice
    row = await Notification.get(dedupe_key=f"sig:{view.id}:new:{SUB}")
    assert (row.kind, row.audience, row.status) == ("signal.free", "free", "pending")
    assert "1.07965" not in row.payload["text"] and "Upgrade" in str(row.payload["reply_markup"])
    assert row.next_attempt_at > datetime.now(UTC) + timedelta(hours=23)  # the free delay


async def test_a_banned_user_gets_the_ban_notice_and_nothing_else(
    owner: UserInfo, server: EmulatorServer, bot: Bot
) -> None:
    view = await th.publish()
    async with running(bot):
        await drained()
        [card] = bot_messages(server, SUB)
        await access.set_banned(owner, "@sam", banned=True)
        await signals.transition(view.id, SignalStatus.FILLED, price=th.ENTRY)
        to = tm.Recipient(SUB, None)
        fill = tm.fill(to, phrase("terminal.filled", name="T1", id=view.id, price=th.ENTRY,
                                  slippage=0, side="BUY", volume=1))  # fmt: skip
        await outbox.enqueue_many([tm.item(to, fill, "ack:x:filled")])
        await drained()
    [card_now, notice] = bot_messages(server, SUB)
    assert card_now.message_id == card.message_id and card_now.edits == []  # not edited
    assert "suspended your access" in (notice.text or "")
    skipped = await Notification.filter(chat_id=SUB, status=NotificationStatus.SKIPPED)
    assert {n.kind for n in skipped} == {"signal.update", "signal.edit", "terminal.filled"}
    assert all("(banned)" in (n.last_error or "") for n in skipped)


async def test_a_demoted_users_old_card_loses_its_buttons_and_gets_no_outcome(
    owner: UserInfo, server: EmulatorServer, bot: Bot
) -> None:
    view = await th.publish()
    async with running(bot):
        await drained()
        [card] = bot_messages(server, SUB)
        assert buttons(card)
        await access.set_role(owner, "@sam", "public")
        await signals.transition(view.id, SignalStatus.FILLED, price=th.ENTRY)
        await drained()
    card, notice = bot_messages(server, SUB)
    assert buttons(card) == [] and "1.07965" in (card.text or "")  # only the buttons went
    update = await Notification.get(kind="signal.update", chat_id=SUB)
    assert update.status == NotificationStatus.SKIPPED
    assert "meant for audience 'paid'" in (update.last_error or "")
    edit = await Notification.get(kind="signal.edit", chat_id=SUB)
    assert (edit.status, edit.audience) == (NotificationStatus.SENT, Audience.ACTIVE)
    assert edit.payload["method"] == "edit_markup"
