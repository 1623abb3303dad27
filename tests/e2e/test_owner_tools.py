"""The owner's tools from chat, as the owner would use them: /post, /strategy, /cancel_signal,
/route. The real app, the emulator, bars pushed by the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from bot import db
from bot.app import AppRunner
from bot.emulator import EmulatorClient, EmulatorServer
from models.audit import AuditLog
from models.signals import ChannelRoute, Signal, SignalSource, SignalStatus, SymbolState
from models.users import Role
from services import app_settings
from services import users as users_service
from tests.e2e.conftest import ADMIN, OWNER, SUB, VISITOR
from tests.e2e.conftest import app_settings as make_settings
from tests.waiting import until
from trading.candles import load_csv
from trading.feeds import PushFeed

CHANNEL = -1001234567890


def text(m: dict) -> str:
    return m.get("text") or m.get("caption") or ""


@pytest.fixture
async def owner_app(
    clean_db: str, emulator: EmulatorServer, tg: EmulatorClient
) -> AsyncIterator[tuple[AppRunner, PushFeed]]:
    await db.init_db(clean_db)
    await users_service.seed(OWNER, "Olivia", "olivia", Role.OWNER)
    await users_service.seed(SUB, "Sam", "sam", Role.SUBSCRIBER)
    await users_service.seed(VISITOR, "Nico", "nico", Role.PUBLIC)
    await app_settings.put("signals.free_delay_hours", 0)
    await db.close_db()
    feed = PushFeed(clock=lambda: datetime(2030, 1, 1, tzinfo=UTC))
    settings = make_settings(
        clean_db, emulator.url, symbols="EURUSD", loop_poll_s=0.01,
        sender_rate_per_s=500, sender_per_chat_per_s=100, throttle_rate=100, throttle_burst=100,
    )  # fmt: skip
    runner = AppRunner(settings, migrate=False, feeds={"EURUSD": feed})
    await runner.start()
    try:
        yield runner, feed
    finally:
        await runner.stop()


async def say(tg: EmulatorClient, user: int, line: str) -> dict:
    await tg.send(user, line)
    return await tg.wait_for_bot(user)


async def test_post_dialog_validates_previews_and_publishes(owner_app, tg: EmulatorClient) -> None:
    assert "Which symbol" in text(await say(tg, OWNER, "/post"))
    assert "Unknown symbol “BTCXYZ”" in text(await say(tg, OWNER, "btcxyz"))
    side = await say(tg, OWNER, "xauusd")
    await tg.press(OWNER, OWNER, side["message_id"], text="BUY")
    assert "Entry price" in text(await tg.wait_for_bot(OWNER))
    assert "is not a price" in text(await say(tg, OWNER, "abc"))
    assert "Stop price" in text(await say(tg, OWNER, "2350.5"))
    assert "do not fit the side" in text(await say(tg, OWNER, "2360"))  # stop above a buy entry
    assert "Take-profit" in text(await say(tg, OWNER, "2340"))
    assert "expiry in hours" in text(await say(tg, OWNER, "auto"))
    assert "rationale" in text(await say(tg, OWNER, "48"))
    preview = await say(tg, OWNER, "Breakout retest")
    body = text(preview)
    assert "Preview" in body and "2350.50" in body and "2340.00" in body and "2384.63" in body
    assert not await Signal.exists(source=SignalSource.MANUAL)  # nothing before Publish
    await tg.press(OWNER, OWNER, preview["message_id"], text="📣 Publish")
    await tg.wait_for(OWNER, lambda m: "Published as signal" in text(m))
    sig = await Signal.get(source=SignalSource.MANUAL)
    assert (sig.symbol, sig.side, sig.entry, sig.stop, sig.take_profit) == (
        "XAUUSD",
        "buy",
        D("2350.50"),
        D("2340.00"),
        D("2384.63"),
    )
    card = await tg.wait_for(SUB, lambda m: f"#{sig.id}" in text(m), after_seq=0)
    assert "Breakout retest" in text(card) and "2350.50" in text(card)


async def test_cancel_leaves_the_dialog(owner_app, tg: EmulatorClient) -> None:
    await say(tg, OWNER, "/post")
    assert text(await say(tg, OWNER, "/cancel")) == "Cancelled. You are back at the start."
    assert "I don't know that command" not in text(await say(tg, OWNER, "/help"))


async def test_strategy_pause_stops_publishing_and_resume_restarts(
    owner_app, tg: EmulatorClient, data_dir
) -> None:
    runner, feed = owner_app
    view = await say(tg, OWNER, "/strategy")
    assert "EURUSD" in text(view) and "publishing" in text(view)
    await tg.press(OWNER, OWNER, view["message_id"], text="⏸ Pause EURUSD")
    await tg.wait_for(
        OWNER, lambda m: m["message_id"] == view["message_id"] and "paused" in text(m)
    )
    assert (await SymbolState.get(symbol="EURUSD")).paused
    candles = load_csv(data_dir / "EURUSD_H1.csv", "EURUSD").candles
    feed.push("EURUSD", [candles.bar(i) for i in range(40)])  # bar 37 would publish
    await until(lambda: runner.trading_loop.processed, "40 bars", accept=lambda n: n >= 40)
    assert await Signal.all().count() == 0  # bar 37 was processed, and published nothing
    await tg.press(OWNER, OWNER, view["message_id"], text="▶️ Resume EURUSD")
    await tg.wait_for(
        OWNER,
        lambda m: m["message_id"] == view["message_id"] and "publishing" in text(m),
    )
    actions = await AuditLog.filter(target="EURUSD").values_list("action", flat=True)
    assert list(actions) == ["strategy.paused", "strategy.resumed"]


async def test_cancel_signal_and_route_to_a_channel(
    owner_app, tg: EmulatorClient, data_dir
) -> None:
    runner, feed = owner_app
    await tg.add_chat(
        CHANNEL, "channel", "Gold Signals", username="goldchannel", bot_is_admin=True
    )
    assert "Usage: /route" in text(await say(tg, OWNER, "/route EURUSD"))
    reply = await say(tg, OWNER, "/route EURUSD @goldchannel")
    assert text(reply) == "EURUSD signals now also go to Gold Signals."
    assert await ChannelRoute.exists(symbol="EURUSD", chat_id=CHANNEL)
    candles = load_csv(data_dir / "EURUSD_H1.csv", "EURUSD").candles
    feed.push("EURUSD", [candles.bar(i) for i in range(38)])
    post = await tg.wait_for(CHANNEL, lambda m: "EURUSD · SELL" in text(m), after_seq=0)
    assert not post.get("reply_markup"), "channels get the public card without buttons"
    sig = await Signal.get(symbol="EURUSD")
    assert "Usage: /cancel_signal" in text(await say(tg, OWNER, "/cancel_signal abc"))
    assert f"Signal #{sig.id} EURUSD cancelled" in text(
        await say(tg, OWNER, f"/cancel_signal {sig.id}")
    )
    assert (await Signal.get(id=sig.id)).status == SignalStatus.CANCELLED
    await tg.wait_for(SUB, lambda m: "was cancelled" in text(m), after_seq=0)
    assert "no signal #999" in text(await say(tg, OWNER, "/cancel_signal 999")).lower()


async def test_non_admins_cannot_use_owner_tools(owner_app, tg: EmulatorClient) -> None:
    for command in ("/post", "/strategy", "/cancel_signal 1", "/route EURUSD @x"):
        assert (
            text(await say(tg, SUB, command))
            == "Sorry, this action is not available for your account."
        )
    assert await AuditLog.filter(action="access.denied", actor_id=SUB).count() == 4
    _ = ADMIN


async def test_owner_sets_visibility_and_cards_follow(
    owner_app, tg: EmulatorClient, data_dir
) -> None:
    runner, feed = owner_app
    assert "currently see: full" in text(await say(tg, OWNER, "/visibility"))
    assert "Unknown visibility" in text(await say(tg, OWNER, "/visibility secret"))
    assert (
        text(await say(tg, OWNER, "/visibility entry_only"))
        == "New signals will show: entry_only."
    )
    candles = load_csv(data_dir / "EURUSD_H1.csv", "EURUSD").candles
    feed.push("EURUSD", [candles.bar(i) for i in range(38)])
    card = await tg.wait_for(SUB, lambda m: "EURUSD · SELL" in text(m), after_seq=0)
    body = text(card)
    assert "1.07592" in body and "1.07965" not in body and "1.06379" not in body
    assert "managed by the server" in body
    assert (
        text(await say(tg, SUB, "/visibility full"))
        == "Sorry, this action is not available for your account."
    )
