"""The outbox sender against the real emulator over loopback HTTP."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from aiogram import Bot

from jobs.outbox.sender import Sender
from models.notifications import NotificationStatus
from models.signals import ChartFile, Signal
from models.users import UserStatus
from services.outbox import notifications as outbox
from services.outbox.kinds import Prepared
from services.outbox.notifications import Claimed, Outgoing
from services.users import profiles as users
from tests.jobs.helpers import (
    FAST,
    LIMITS,
    bot_messages,
    drained,
    emulator_limits,
    rows,
    running,
    subscribers,
)
from tests.tgemu.helpers import png
from tests.waiting import until
from tgemu import EmulatorClient, EmulatorServer

KEYBOARD = outbox.inline_keyboard([[outbox.Button("Approve", callback_data="sig:ok:1")]])


def signal_to(ids: list[int], version: int = 1) -> list[Outgoing]:
    payload = outbox.text(f"<b>XAUUSD BUY</b> v{version}", keyboard=KEYBOARD)
    return [Outgoing(t, Prepared(payload), f"sig:1:v{version}:{t}", user_id=t) for t in ids]


async def test_fanout_reaches_every_reachable_user_exactly_once(
    database: str, server: EmulatorServer, control: EmulatorClient, bot: Bot
) -> None:
    ids = await subscribers(server, 30)
    blocker = ids[7]
    await control.block(blocker)
    follow_ups = [
        Outgoing(t, Prepared(outbox.text("TP1 hit", reply_to=f"sig:1:v1:{t}")), f"tp1:{t}", t)
        for t in ids
    ]
    async with running(bot) as sender:
        async with outbox.transaction():
            await outbox.enqueue_many(signal_to(ids) + follow_ups)
        await drained()
    for t in ids:
        sent = bot_messages(server, t)
        if t == blocker:
            assert sent == []
            continue
        assert [m.text for m in sent] == ["XAUUSD BUY v1", "TP1 hit"]
        assert sent[1].reply_to_message_id == sent[0].message_id
        assert sent[0].reply_markup == KEYBOARD.as_json()
    state = await rows()
    assert state[f"sig:1:v1:{blocker}"].status == NotificationStatus.SKIPPED
    assert state[f"tp1:{blocker}"].status == NotificationStatus.SKIPPED
    assert (await users.get_by_telegram_id(blocker)).status is UserStatus.BLOCKED_BOT
    stats = await control.stats()
    assert stats["errors"] == {"403": 1}  # one try, then the chat was skipped
    assert stats["methods"]["sendMessage"] == 2 * 29 + 1
    assert sender.counters["sent"] == 58


async def test_injected_403_skips_only_that_users_queue(
    database: str, server: EmulatorServer, control: EmulatorClient, bot: Bot
) -> None:
    victim, other = await subscribers(server, 2)
    await control.inject_fault("sendMessage", 403, chat_id=victim)
    items = [
        Outgoing(t, Prepared(outbox.text(f"m{i}")), f"{t}:{i}", t)
        for t in (victim, other)
        for i in range(3)
    ]
    async with running(bot):
        await outbox.enqueue_many(items)
        await drained()
    assert [m.text for m in bot_messages(server, other)] == ["m0", "m1", "m2"]
    assert bot_messages(server, victim) == []
    state = await rows()
    assert {state[f"{victim}:{i}"].status for i in range(3)} == {NotificationStatus.SKIPPED}
    assert "blocked by the user" in (state[f"{victim}:0"].last_error or "")
    assert (await users.get_by_telegram_id(victim)).status is UserStatus.BLOCKED_BOT


async def test_replies_and_edits_wait_for_their_original(
    database: str, server: EmulatorServer, control: EmulatorClient, bot: Bot
) -> None:
    chat, failing = await subscribers(server, 2)
    await control.inject_fault("sendMessage", 400, chat_id=failing, description="Bad Request: x")
    items = [
        Outgoing(chat, Prepared(outbox.text("original", keyboard=KEYBOARD)), "orig"),
        Outgoing(chat, Prepared(outbox.text("reply", reply_to="orig")), "reply"),
        Outgoing(
            chat, Prepared(outbox.edit_text("orig", "original v2")), "edit"
        ),  # drops keyboard
        Outgoing(chat, Prepared(outbox.text("bye")), "bye"),
        Outgoing(chat, Prepared(outbox.delete("bye")), "delete"),
        Outgoing(chat, Prepared(outbox.edit_text("orig", "original v2")), "same"),  # not modified
        Outgoing(failing, Prepared(outbox.text("lost")), "lost"),
        Outgoing(failing, Prepared(outbox.edit_text("lost", "never")), "lost-edit"),
        Outgoing(failing, Prepared(outbox.text("re", reply_to="lost")), "lost-reply"),
    ]
    async with running(bot):
        await outbox.enqueue_many(items)  # all queued before the originals are sent
        await drained()
    original, reply, bye = bot_messages(server, chat)
    assert (original.text, original.reply_markup, len(original.edits)) == ("original v2", None, 1)
    assert reply.reply_to_message_id == original.message_id
    assert bye.deleted
    state = await rows()
    assert state["same"].status == NotificationStatus.SENT  # "message is not modified"
    assert state["delete"].sent_message_id == bye.message_id
    assert state["lost"].status == NotificationStatus.FAILED
    assert state["lost-edit"].status == NotificationStatus.SKIPPED
    [lonely] = bot_messages(server, failing)
    assert (lonely.text, lonely.reply_to_message_id) == ("re", None)


async def test_chart_is_uploaded_once_then_sent_by_file_id(
    database: str, server: EmulatorServer, bot: Bot, tmp_path: Path
) -> None:
    ids = await subscribers(server, 12)
    path = tmp_path / "chart.png"
    path.write_bytes(png(64, 48))
    chart = await _chart(path)
    payload = outbox.photo("<b>XAUUSD</b> setup", chart_id=chart.id, keyboard=KEYBOARD)
    async with running(bot):
        await outbox.enqueue_many([Outgoing(t, Prepared(payload), f"c:{t}", t) for t in ids[:8]])
        await drained()
    async with running(bot):  # a new sender: the file_id comes from the database
        await outbox.enqueue_many([Outgoing(t, Prepared(payload), f"c:{t}", t) for t in ids[8:]])
        await drained()
    uploads = [f for f in server.emulator.files.values() if f.data is not None]
    assert len(uploads) == 1
    await chart.refresh_from_db()
    assert chart.file_id == uploads[0].file_id
    photos = {m.photo for t in ids for m in bot_messages(server, t)}
    assert photos == {chart.file_id}
    assert server.emulator.stats.methods["sendPhoto"] == 12


async def test_photo_by_path_and_by_file_id_and_caption_edits(
    database: str, server: EmulatorServer, bot: Bot, tmp_path: Path
) -> None:
    first, second = await subscribers(server, 2)
    path = tmp_path / "card.png"
    path.write_bytes(png(32, 32))
    async with running(bot):
        await outbox.enqueue(first, Prepared(outbox.photo("v1", path=str(path))), "p1")
        await drained()
        [uploaded] = [f.file_id for f in server.emulator.files.values()]
        await outbox.enqueue_many(
            [
                Outgoing(second, Prepared(outbox.photo("v1", file_id=uploaded)), "p2"),
                Outgoing(second, Prepared(outbox.edit_caption("p2", "<i>v2</i>")), "p2-edit"),
            ]
        )
        await drained()
    assert len(server.emulator.files) == 1  # the file_id was reused, nothing uploaded again
    [photo] = bot_messages(server, second)
    assert (photo.photo, photo.caption, len(photo.edits)) == (uploaded, "v2", 1)


async def _chart(path: Path) -> ChartFile:
    now = datetime.now(UTC)
    price = Decimal("2350.5")
    signal = await Signal.create(
        setup_key="XAUUSD:buy:1",
        symbol="XAUUSD",
        side="buy",
        entry=price,
        stop=price,
        take_profit=price,
        published_at=now,
        expires_at=now + timedelta(hours=4),
    )
    return await ChartFile.create(signal=signal, version=1, path=str(path))


async def test_no_429_when_the_emulator_enforces_the_same_limits(
    database: str, server: EmulatorServer, control: EmulatorClient, bot: Bot
) -> None:
    emulator_limits(server)
    ids = await subscribers(server, 30)
    group = -100500
    await control.add_chat(group, "supergroup", "Traders", members=ids[:2])
    items = [
        Outgoing(t, Prepared(outbox.text(f"m{i}")), f"{t}:{i}", t) for i in range(4) for t in ids
    ]
    items += [Outgoing(group, Prepared(outbox.text(f"g{i}")), f"g:{i}") for i in range(8)]
    started = time.monotonic()
    async with running(bot) as sender:
        await outbox.enqueue_many(items)
        await drained()
    elapsed = time.monotonic() - started
    assert (await control.stats())["errors"] == {}
    assert sender.counters["throttled_429"] == 0
    for t in ids:
        assert [m.text for m in bot_messages(server, t)] == ["m0", "m1", "m2", "m3"]
    assert [m.text for m in bot_messages(server, group)] == [f"g{i}" for i in range(8)]
    assert elapsed >= (len(items) - 1) / LIMITS.global_per_s  # the bucket starts empty


async def test_injected_429_pauses_all_sending_then_delivers(
    database: str, server: EmulatorServer, control: EmulatorClient, bot: Bot
) -> None:
    first, second = await subscribers(server, 2)
    await control.inject_fault("sendMessage", 429, retry_after=1)
    started = datetime.now(UTC)
    async with running(bot) as sender:
        await outbox.enqueue(first, Prepared(outbox.text("a")), "a")
        await until(lambda: sender.counters["throttled_429"], accept=lambda n: n == 1)
        await outbox.enqueue(second, Prepared(outbox.text("b")), "b")
        await drained()
    state = await rows()
    assert {r.status for r in state.values()} == {NotificationStatus.SENT}
    assert state["a"].attempts == 1  # a 429 is not a failed attempt
    for row in state.values():
        assert row.sent_at is not None
        assert row.sent_at - started >= timedelta(seconds=1)  # nothing went out in the pause
    assert len(bot_messages(server, first)) == len(bot_messages(server, second)) == 1


async def test_stop_during_a_429_pause_requeues_without_counting(
    database: str, server: EmulatorServer, control: EmulatorClient, bot: Bot
) -> None:
    [user] = await subscribers(server, 1)
    await control.inject_fault("sendMessage", 429, retry_after=30)
    sender = Sender.build(bot, FAST)
    await sender.start()
    await outbox.enqueue(user, Prepared(outbox.text("a")), "a")
    sender.wake()
    await until(lambda: sender.counters["throttled_429"], accept=lambda n: n == 1)
    await asyncio.wait_for(sender.stop(), timeout=15)  # at once, not after the 30 s pause
    row = (await rows())["a"]
    assert (row.status, row.attempts) == (NotificationStatus.PENDING, 0)
    assert row.next_attempt_at > datetime.now(UTC) + timedelta(seconds=20)


async def test_400_fails_at_once_and_500_is_retried_with_backoff(
    database: str, server: EmulatorServer, control: EmulatorClient, bot: Bot
) -> None:
    bad, flaky = await subscribers(server, 2)
    await control.inject_fault(
        "sendMessage", 400, chat_id=bad, times=-1, description="Bad Request: can't parse entities"
    )
    await control.inject_fault("sendMessage", 500, chat_id=flaky, times=2)
    async with running(bot) as sender:
        await outbox.enqueue_many(
            [
                Outgoing(bad, Prepared(outbox.text("<b")), "bad"),
                Outgoing(flaky, Prepared(outbox.text("ok")), "ok"),
            ]
        )
        await drained()
    state = await rows()
    assert (state["bad"].status, state["bad"].attempts) == (NotificationStatus.FAILED, 1)
    assert "can't parse entities" in (state["bad"].last_error or "")
    assert (state["ok"].status, state["ok"].attempts) == (NotificationStatus.SENT, 3)
    assert sender.counters["retried"] == 2
    assert Counter((await control.stats())["errors"]) == Counter({"400": 1, "500": 2})
    assert [m.text for m in bot_messages(server, flaky)] == ["ok"]


async def test_exhausted_retries_fail_and_alert_the_owner(
    database: str, server: EmulatorServer, control: EmulatorClient, bot: Bot
) -> None:
    [user] = await subscribers(server, 1)
    await control.inject_fault("sendMessage", 502, chat_id=user, times=-1)
    alerts: list[tuple[Claimed, str]] = []

    async def alert(item: Claimed, error: str) -> None:
        alerts.append((item, error))

    async with running(bot, on_exhausted=alert):
        await outbox.enqueue(user, Prepared(outbox.text("x")), "x")
        await drained()
    row = (await rows())["x"]
    assert (row.status, row.attempts) == (NotificationStatus.FAILED, FAST.max_attempts)
    [(item, error)] = alerts
    assert item.dedupe_key == "x" and "TelegramServerError" in error
