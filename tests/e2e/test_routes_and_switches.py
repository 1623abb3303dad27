"""/route only to chats the bot can post in and only for symbols with a feed; the strategy's
pause switch and /route say when nothing changed (issue 9, item 8). The real app, the
emulator, EURUSD bars pushed by the test."""

from __future__ import annotations

from pathlib import Path

from bot.app import AppRunner
from models.audit import AuditLog
from models.signals import ChannelRoute
from tests.e2e.conftest import OWNER, SUB, say, text
from tests.waiting import until
from tgemu import EmulatorClient
from trading.candles import load_csv
from trading.feeds import PushFeed

CHANNEL, NOT_ADMIN, GROUP, LEFT = -1001234567890, -1001000000001, -1001000000002, -1001000000003


async def live_feed(owner_app: tuple[AppRunner, PushFeed], data_dir: Path, bars: int = 10) -> None:
    runner, feed = owner_app
    candles = load_csv(data_dir / "EURUSD_H1.csv", "EURUSD").candles
    feed.push("EURUSD", [candles.bar(i) for i in range(bars)])
    loop = runner.trading_loop
    assert loop is not None
    await until(lambda: loop.processed >= bars, timeout_s=30)


async def test_route_needs_a_symbol_with_a_feed(owner_app, tg: EmulatorClient, data_dir) -> None:
    await tg.add_chat(CHANNEL, "channel", "Gold Signals", username="goldchannel")
    reply = text(await say(tg, OWNER, "/route EURUSD @goldchannel"))
    assert reply.startswith("EURUSD has no live market feed, so no signal would ever reach")
    assert "no symbol has a feed right now" in reply
    await live_feed(owner_app, data_dir)
    reply = text(await say(tg, OWNER, "/route XAUUSD @goldchannel"))  # a known symbol, no feed
    assert reply == (
        "XAUUSD has no live market feed, so no signal would ever reach the chat. "
        "Symbols with a feed: EURUSD."
    )
    assert "Unknown symbol “BTCXYZ”" in text(await say(tg, OWNER, "/route btcxyz @goldchannel"))
    assert not await ChannelRoute.exists()
    assert text(await say(tg, OWNER, "/route eurusd @goldchannel")) == (
        "EURUSD signals now also go to Gold Signals."
    )


async def test_route_needs_a_chat_the_bot_can_post_in(
    owner_app, tg: EmulatorClient, data_dir
) -> None:
    await live_feed(owner_app, data_dir)
    await tg.add_chat(CHANNEL, "channel", "Gold Signals", username="goldchannel")
    await tg.add_chat(NOT_ADMIN, "channel", "Their channel", username="theirs", bot_is_admin=False)
    await tg.add_chat(GROUP, "supergroup", "Traders", members=[SUB], bot_is_admin=False)
    refusals = {
        f"/route EURUSD {SUB}": f"{SUB} is a private chat with a person, not a channel or a group",
        f"/route EURUSD {OWNER}": f"{OWNER} is a private chat with a person",
        "/route EURUSD @theirs": "The bot must be an admin of @theirs, allowed to post messages",
        "/route EURUSD @nowhere": "I cannot see the chat @nowhere.",
        "/route EURUSD -1009999": "I cannot see the chat -1009999.",
    }
    for command, refusal in refusals.items():
        assert text(await say(tg, OWNER, command)).startswith(refusal), command
    assert not await ChannelRoute.exists()
    # a group where the bot is a plain member may get the cards
    assert text(await say(tg, OWNER, f"/route EURUSD {GROUP}")) == (
        "EURUSD signals now also go to Traders."
    )
    # the same route again changes nothing, and says so
    assert text(await say(tg, OWNER, "/route EURUSD @goldchannel")) == (
        "EURUSD signals now also go to Gold Signals."
    )
    assert text(await say(tg, OWNER, "/route EURUSD @goldchannel")) == (
        "EURUSD signals already go to Gold Signals; nothing changed."
    )
    assert await ChannelRoute.filter(symbol="EURUSD").count() == 2
    assert await AuditLog.filter(action="route.added").count() == 2


async def test_pausing_a_paused_symbol_says_nothing_changed(owner_app, tg: EmulatorClient) -> None:
    """Two /strategy views: a tap on the older one's button (another admin was quicker, or a
    double tap) changes nothing and says so."""
    first, second = await say(tg, OWNER, "/strategy"), await say(tg, OWNER, "/strategy")
    taps = [(first, "⏸ Pause EURUSD"), (second, "⏸ Pause EURUSD"),
            (first, "▶️ Resume EURUSD"), (second, "▶️ Resume EURUSD")]  # fmt: skip
    answers = []
    for view, label in taps:
        pressed = await tg.press(OWNER, OWNER, view["message_id"], text=label)
        answers.append((await tg.callback_answer(pressed))["text"])
        await tg.wait_for(OWNER, lambda m, v=view: m["message_id"] == v["message_id"], timeout=10)
    assert answers == [
        "EURUSD: publishing paused.",
        "EURUSD: publishing was already paused; nothing changed.",
        "EURUSD: publishing resumed.",
        "EURUSD: publishing was already running; nothing changed.",
    ]
    actions = await AuditLog.filter(target="EURUSD").values_list("action", flat=True)
    assert list(actions) == ["strategy.paused", "strategy.resumed"]


async def test_russian_strategy_status_counts_in_russian(owner_app, tg: EmulatorClient) -> None:
    assert text(await say(tg, OWNER, "/language ru")) == "Язык сохранён: русский."
    status = text(await say(tg, OWNER, "/strategy"))
    assert "0 баров · 0 открытых сигналов" in status, status
