"""Access follows role changes end to end: the real app and its trading loop against the
emulator, users pressing buttons on cards older than their role, the owner, an admin and the
operator's CLI changing roles and bans. The user cache lives for an hour here, so nothing
passes by its expiry.

Bundled data (tests/e2e/test_signals.py): bar 37 publishes a SELL (entry 1.07592, stop
1.07965) that bar 60 fills and stops out.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from models.notifications import Notification, NotificationStatus
from models.signals import Signal
from models.users import Role, User
from services import app_settings
from services.users import profiles as users_service
from tests.e2e.conftest import ADMIN, OWNER, SUB, VISITOR
from tests.e2e.conftest import app_settings as make_settings
from tests.e2e.test_signals import Pipeline, _app, buttons, caption, card_of
from tests.waiting import until
from tgemu import EmulatorClient, EmulatorServer
from trading.candles import load_csv
from trading.feeds import PushFeed

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def pipeline(
    clean_db: str, emulator: EmulatorServer, tg: EmulatorClient, data_dir: Path
) -> AsyncIterator[Pipeline]:
    from core import db

    await db.init_db(clean_db)
    await users_service.seed(SUB, "Sam", "sam", Role.SUBSCRIBER)
    await users_service.seed(ADMIN, "Adam", "adam", Role.ADMIN)
    await users_service.seed(VISITOR, "Nico", "nico", Role.PUBLIC)
    await app_settings.put("signals.free_delay_hours", 0)
    await db.close_db()
    candles = load_csv(data_dir / "EURUSD_H1.csv", "EURUSD").candles
    feed = PushFeed(clock=lambda: datetime(2030, 1, 1, tzinfo=UTC))
    settings = make_settings(
        clean_db, emulator.url, symbols="EURUSD", loop_poll_s=0.01, sender_rate_per_s=500,
        sender_per_chat_per_s=100, user_cache_ttl_s=3600,
    )  # fmt: skip
    async with _app(settings, feed) as app:
        yield Pipeline(app, tg, emulator, feed, candles)


async def say(tg: EmulatorClient, user: int, text: str, expect: str) -> dict:
    await tg.send(user, text)
    return await tg.wait_for(user, lambda m: m["from_bot"] and expect in caption(m), timeout=10)


async def press(tg: EmulatorClient, user: int, message: dict, text: str) -> dict:
    callback = await tg.press(user, user, message["message_id"], text=text)
    return await tg.callback_answer(callback)


async def notice(tg: EmulatorClient, user: int, expect: str) -> dict:
    return await tg.wait_for(
        user, lambda m: m["from_bot"] and expect in caption(m), timeout=15, after_seq=0
    )


async def settled(user: int) -> bool:
    """Nothing left to send to `user` (every row sent or skipped)."""
    unfinished = (NotificationStatus.PENDING, NotificationStatus.SENDING)
    return not await Notification.filter(chat_id=user, status__in=unfinished).exists()


async def test_a_demoted_subscriber_is_told_and_old_cards_stop_serving_him(
    pipeline: Pipeline,
) -> None:
    tg = pipeline.tg
    await pipeline.push_until(37)
    sig = await Signal.get(symbol="EURUSD")
    card = await card_of(tg, SUB, sig.id)
    await press(tg, SUB, card, "ℹ️ Details")
    details = await tg.wait_for(SUB, lambda m: "Your decision" in caption(m), timeout=10)
    assert "1.07965" in caption(details)  # a subscriber sees the stop (and is cached now)

    await say(tg, OWNER, "/role @sam public", "is now visitor")
    told = await notice(tg, SUB, "Your subscriber access has ended")
    assert "buttons on earlier signal cards no longer work" in caption(told)
    answer = await press(tg, SUB, card, "ℹ️ Details")
    assert answer["show_alert"] and "are for subscribers" in answer["text"]
    answer = await press(tg, SUB, card, "✅ Approve")
    assert answer["show_alert"] and "Approving signals is for subscribers" in answer["text"]

    await pipeline.push_until(60)  # the SELL fills and stops out
    await tg.wait_for(ADMIN, lambda m: "closed at" in caption(m), timeout=15, after_seq=0)
    await until(lambda: settled(SUB))
    sams = [m for m in await tg.messages(SUB) if m["from_bot"]]
    assert not any("filled at" in caption(m) or "closed at" in caption(m) for m in sams)
    assert sum("1.07965" in caption(m) for m in sams) == 2  # the card and the first details
    card_now = next(m for m in sams if m["message_id"] == card["message_id"])
    assert buttons(card_now) == []  # the buttons went; the text stayed as Sam last saw it
    assert "pending order" in caption(card_now) and "closed at stop" not in caption(card_now)
    skipped = await Notification.filter(chat_id=SUB, status=NotificationStatus.SKIPPED)
    assert {n.kind for n in skipped} == {"signal.update"}
    assert all("meant for audience 'paid'" in (n.last_error or "") for n in skipped)


async def test_a_promoted_visitor_gets_the_card_in_his_language_not_the_upgrade_summary(
    pipeline: Pipeline,
) -> None:
    tg = pipeline.tg
    await app_settings.put("signals.free_delay_hours", 24)
    prompt = await say(tg, VISITOR, "/language", "")
    await tg.press(VISITOR, VISITOR, prompt["message_id"], text="Español")
    await until(lambda: User.exists(telegram_id=VISITOR, language="es"))
    await pipeline.push_until(37)
    sig = await Signal.get(symbol="EURUSD")
    summary = await until(lambda: Notification.get_or_none(kind="signal.free", chat_id=VISITOR))
    assert summary.status == NotificationStatus.PENDING  # due in a day

    await say(tg, OWNER, "/role @nico subscriber", "is now subscriber")
    await notice(tg, VISITOR, "Ahora eres suscriptor")
    card = await card_of(tg, VISITOR, sig.id)
    assert "1,07965" in caption(card) and card["photo"]
    assert buttons(card) == ["✅ Aprobar", "❌ Rechazar", "ℹ️ Detalles"]
    await press(tg, VISITOR, card, "ℹ️ Detalles")
    details = await tg.wait_for(VISITOR, lambda m: "1,07592" in caption(m))
    assert details["message_id"] != card["message_id"]
    texts = [caption(m) for m in await tg.messages(VISITOR) if m["from_bot"]]
    assert not any("⭐" in t and "Mejorar" in t for t in texts)  # no upgrade summary

    await pipeline.push_until(60)  # the promoted user's card gets the outcomes like any card
    filled = await tg.wait_for(
        VISITOR, lambda m: m.get("reply_to_message_id") == card["message_id"],
        after_seq=0,
    )  # fmt: skip
    assert "ejecutada a 1,07592 (estrategia)" in caption(filled)


async def test_a_banned_user_hears_the_ban_and_nothing_else_until_unbanned(
    pipeline: Pipeline,
) -> None:
    tg = pipeline.tg
    await pipeline.push_until(37)
    sig = await Signal.get(symbol="EURUSD")
    await card_of(tg, SUB, sig.id)
    await say(tg, SUB, "/signals", "EURUSD")  # cached as an active subscriber
    await say(tg, ADMIN, "/ban @sam", "is banned")
    await notice(tg, SUB, "suspended your access")
    await pipeline.push_until(60)
    await tg.wait_for(ADMIN, lambda m: "closed at" in caption(m), timeout=15, after_seq=0)
    await until(lambda: settled(SUB))
    sams = [caption(m) for m in await tg.messages(SUB) if m["from_bot"]]
    assert not any("filled at" in t or "closed at" in t for t in sams)

    await say(tg, ADMIN, "/unban @sam", "is unbanned")
    await notice(tg, SUB, "restored (role: subscriber)")
    await say(tg, SUB, "/signals", "BUY")  # answered again: the BUY of bar 60 is open


async def test_a_role_changed_from_the_cli_is_honoured_at_once(
    pipeline: Pipeline, clean_db: str
) -> None:
    tg = pipeline.tg
    await pipeline.push_until(37)
    sig = await Signal.get(symbol="EURUSD")
    card = await card_of(tg, SUB, sig.id)
    await press(tg, SUB, card, "ℹ️ Details")
    await tg.wait_for(SUB, lambda m: "Your decision" in caption(m), timeout=10)

    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "OWNER_IDS")}
    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "users", "role", "@sam", "public", cwd=ROOT,
        env=env | {"DATABASE_URL": clean_db}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await cli.communicate()
    assert cli.returncode == 0, err.decode()
    assert "public" in out.decode()

    answer = await press(tg, SUB, card, "ℹ️ Details")  # the app's cached Sam is gone
    assert answer["show_alert"] and "are for subscribers" in answer["text"]
    await notice(tg, SUB, "Your subscriber access has ended")  # queued by the CLI, sent by us


async def test_an_approver_without_a_terminal_is_not_told_the_trade_is_his(
    pipeline: Pipeline,
) -> None:
    tg = pipeline.tg
    await pipeline.push_until(37)
    sig = await Signal.get(symbol="EURUSD")
    card = await card_of(tg, ADMIN, sig.id)
    await tg.press(ADMIN, ADMIN, card["message_id"], text="✅ Approve")
    disclaimer = await tg.wait_for(ADMIN, lambda m: "Risk disclaimer" in caption(m), timeout=10)
    await press(tg, ADMIN, disclaimer, "I understand and accept")
    await pipeline.push_until(60)
    strategy = f"🟢 Signal #{sig.id} EURUSD filled at 1.07592 (strategy)."
    adams = await tg.wait_for(ADMIN, lambda m: caption(m).startswith(strategy), timeout=15,
                              after_seq=0)  # fmt: skip
    assert caption(adams) == (
        f"{strategy}\nYou approved it, but no terminal of yours placed the order: nothing was"
        " executed for you."
    )
    sams = await tg.wait_for(SUB, lambda m: caption(m).startswith(strategy), timeout=15,
                             after_seq=0)  # fmt: skip
    assert caption(sams) == strategy  # Sam did not approve: the strategy's fill, nothing more
