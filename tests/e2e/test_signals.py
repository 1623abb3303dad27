"""The signal pipeline end to end: bundled EURUSD bars pushed into the real app, the bot talking
to the emulator over HTTP, users pressing buttons. Bars are pushed step by step (no wall clock).

Bundled data facts (from the live step, same as the backtester): bar 37 publishes a SELL
(1.07592 / 1.07965 / 1.06379); bar 60 fills it and stops it out (-1 R) and publishes a BUY;
bar 270 publishes another BUY that bar 271 revises.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from bot.app import AppRunner
from models.audit import AuditLog
from models.signals import Approval, Signal, SignalStatus
from models.users import Role
from services import app_settings
from services.outbox import notifications
from services.signals.callbacks import SignalCB
from services.users import profiles as users_service
from tests.e2e.conftest import ADMIN, SUB, VISITOR
from tests.e2e.conftest import app_settings as make_settings
from tests.waiting import until
from tgemu import EmulatorClient, EmulatorServer
from tgemu.models import BOT
from trading.candles import Candles, load_csv
from trading.feeds import PushFeed


@dataclass
class Pipeline:
    app: AppRunner
    tg: EmulatorClient
    emulator: EmulatorServer
    feed: PushFeed
    candles: Candles
    pushed: int = 0

    async def push_until(self, index: int) -> None:
        """Push bars up to and including `index` and wait until the loop applied them."""
        bars = [self.candles.bar(i) for i in range(self.pushed, index + 1)]
        self.feed.push("EURUSD", bars)
        self.pushed = index + 1
        loop = self.app.trading_loop
        assert loop is not None
        pushed = self.pushed
        await until(
            lambda: loop.processed, f"{pushed} bars processed", accept=lambda n: n >= pushed
        )


@pytest.fixture
async def pipeline(
    clean_db: str, emulator: EmulatorServer, tg: EmulatorClient, data_dir
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
        clean_db,
        emulator.url,
        symbols="EURUSD",
        loop_poll_s=0.01,
        sender_rate_per_s=500,
        sender_per_chat_per_s=100,
    )
    async with _app(settings, feed) as app:
        yield Pipeline(app, tg, emulator, feed, candles)


@asynccontextmanager
async def _app(settings, feed: PushFeed) -> AsyncIterator[AppRunner]:
    runner = AppRunner(settings, migrate=False, feeds={"EURUSD": feed})
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


def caption(message: dict) -> str:
    return message.get("caption") or message.get("text") or ""


def buttons(message: dict) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


async def card_of(tg: EmulatorClient, user: int, signal_id: int) -> dict:
    return await tg.wait_for(
        user, lambda m: f"#{signal_id}" in caption(m) and m["from_bot"], after_seq=0
    )


async def test_signal_reaches_each_user_as_their_plan_allows(pipeline: Pipeline) -> None:
    await pipeline.push_until(37)
    sig = await Signal.get(symbol="EURUSD")
    assert (sig.side, sig.entry, sig.stop, sig.take_profit) == (
        "sell",
        D("1.07592"),
        D("1.07965"),
        D("1.06379"),
    )

    paid = await card_of(pipeline.tg, SUB, sig.id)
    assert paid["photo"], "the paid card carries a chart"
    text = caption(paid)
    assert (
        "EURUSD · SELL" in text and "1.07592" in text and "1.07965" in text and "1.06379" in text
    )
    assert "Reward:risk 1:3.25" in text and "Fib-RSI" in text
    assert buttons(paid) == ["✅ Approve", "❌ Reject", "ℹ️ Details"]
    admin_card = await card_of(pipeline.tg, ADMIN, sig.id)
    assert admin_card["photo"] == paid["photo"], (
        "the chart is uploaded once and re-sent by file_id"
    )

    free = await pipeline.tg.wait_for(VISITOR, lambda m: "EURUSD" in caption(m), after_seq=0)
    assert "1.07592" not in caption(free) and not free.get("photo")
    assert buttons(free) == ["⭐ Upgrade for real-time signals"]


async def test_approve_reject_consent_and_audit(pipeline: Pipeline) -> None:
    tg = pipeline.tg
    await pipeline.push_until(37)
    sig = await Signal.get(symbol="EURUSD")
    card = await card_of(tg, SUB, sig.id)

    await tg.press(SUB, SUB, card["message_id"], text="✅ Approve")
    disclaimer = await tg.wait_for(SUB, lambda m: "Risk disclaimer" in caption(m))
    assert not await Approval.exists(signal_id=sig.id)  # no consent, no approval
    callback = await tg.press(SUB, SUB, disclaimer["message_id"], text="I understand and accept")
    answer = await tg.callback_answer(callback)
    assert "You approved signal" in answer["text"]
    approval = await Approval.get(signal_id=sig.id, user__telegram_id=SUB)
    assert approval.decision == "approved" and approval.consent_version == "2026-11"

    admin_card = await card_of(tg, ADMIN, sig.id)
    callback = await tg.press(ADMIN, ADMIN, admin_card["message_id"], text="❌ Reject")
    assert "rejected" in (await tg.callback_answer(callback))["text"]
    assert (await Approval.get(signal_id=sig.id, user__telegram_id=ADMIN)).decision == "rejected"
    actions = set(await AuditLog.filter(target=str(sig.id)).values_list("action", flat=True))
    assert {"signal.published", "signal.approved", "signal.rejected"} <= actions


async def test_a_free_user_pressing_approve_on_a_forwarded_card_is_refused(
    pipeline: Pipeline,
) -> None:
    tg = pipeline.tg
    await pipeline.push_until(37)
    sig = await Signal.get(symbol="EURUSD")
    await tg.wait_for(VISITOR, lambda m: "EURUSD" in caption(m), after_seq=0)
    emu = pipeline.emulator.emulator
    forwarded = emu.add_message(
        emu.chat(VISITOR),
        BOT,
        caption="EURUSD · SELL (forwarded)",
        reply_markup={
            "inline_keyboard": [
                [
                    {
                        "text": "✅ Approve",
                        "callback_data": SignalCB(action="approve", signal_id=sig.id).pack(),
                    }
                ]
            ]
        },
    )
    callback = await tg.press(VISITOR, VISITOR, forwarded.message_id, text="✅ Approve")
    answer = await tg.callback_answer(callback)
    assert answer["show_alert"] and "es para suscriptores" in answer["text"]  # Nico speaks Spanish
    assert not await Approval.exists(signal_id=sig.id)


async def test_outcomes_reply_to_the_card_and_edit_its_status(pipeline: Pipeline) -> None:
    tg = pipeline.tg
    await pipeline.push_until(37)
    sig = await Signal.get(symbol="EURUSD")
    card = await card_of(tg, SUB, sig.id)
    await pipeline.push_until(60)
    closed = await tg.wait_for(
        SUB,
        lambda m: "closed" in caption(m) and m.get("reply_to_message_id") == card["message_id"],
        after_seq=0,
    )
    assert "-1.00 R" in caption(closed)
    filled = await tg.wait_for(
        SUB,
        lambda m: "filled" in caption(m) and m.get("reply_to_message_id") == card["message_id"],
        after_seq=0,
    )
    assert filled["message_id"] < closed["message_id"]
    edited = await tg.wait_for(
        SUB,
        lambda m: m["message_id"] == card["message_id"] and "closed at stop" in caption(m),
        after_seq=0,
    )
    assert buttons(edited) == []  # the approval window is over
    sig = await Signal.get(id=sig.id)
    assert sig.status == SignalStatus.CLOSED and sig.close_reason == "sl" and sig.result_r == -1
    # a new BUY was published on the same bar
    assert await Signal.filter(side="buy", status=SignalStatus.PUBLISHED).count() == 1


async def test_revision_replies_with_new_levels_and_edits_in_place(pipeline: Pipeline) -> None:
    tg = pipeline.tg
    await pipeline.push_until(270)
    sig = await Signal.filter(status=SignalStatus.PUBLISHED).order_by("-id").first()
    assert sig is not None and sig.entry == D("1.09043")
    card = await card_of(tg, SUB, sig.id)
    await pipeline.push_until(271)
    reply = await tg.wait_for(
        SUB,
        lambda m: "revised" in caption(m) and m.get("reply_to_message_id") == card["message_id"],
        after_seq=0,
    )
    assert "1.09070" in caption(reply) and "1.08552" in caption(reply) and reply["photo"]
    edited = await tg.wait_for(
        SUB,
        lambda m: m["message_id"] == card["message_id"] and "v2" in caption(m),
        after_seq=0,
    )
    assert "1.09070" in caption(edited) and buttons(edited)[0] == "✅ Approve"
    assert (await Signal.get(id=sig.id)).version == 2


async def test_every_message_is_delivered_exactly_once(pipeline: Pipeline) -> None:
    await pipeline.push_until(135)
    stats = await until(
        notifications.stats,
        "the outbox drained (nothing pending or sending)",
        accept=lambda s: s.pending == 0 and s.sending == 0,
    )
    assert stats.failed == 0
    signal_ids = await Signal.all().values_list("id", flat=True)
    for user in (SUB, ADMIN):
        cards = [
            m
            for m in await pipeline.tg.messages(user)
            if m["from_bot"] and m.get("photo") and not m.get("reply_to_message_id")
        ]
        numbers = [
            next(f"#{i}" for i in signal_ids if f"#{i} " in caption(m) or f"#{i}\n" in caption(m))
            for m in cards
        ]
        assert sorted(numbers) == sorted(f"#{i}" for i in signal_ids)
