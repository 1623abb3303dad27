"""The owner's tools from chat, as the owner would use them: /post, /strategy, /cancel_signal,
/route. The real app, the emulator, bars pushed by the test."""

from __future__ import annotations

from models.audit import AuditLog
from models.signals import ChannelRoute, Signal, SignalStatus, SymbolState
from tests.e2e.conftest import ADMIN, OWNER, SUB, say, text
from tests.waiting import until
from tgemu import EmulatorClient
from trading.candles import load_csv

CHANNEL = -1001234567890


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
    candles = load_csv(data_dir / "EURUSD_H1.csv", "EURUSD").candles
    feed.push("EURUSD", [candles.bar(i) for i in range(10)])  # a live feed: a route may start
    await until(lambda: runner.trading_loop.processed >= 10)
    reply = await say(tg, OWNER, "/route EURUSD @goldchannel")
    assert text(reply) == "EURUSD signals now also go to Gold Signals."
    assert await ChannelRoute.exists(symbol="EURUSD", chat_id=CHANNEL)
    feed.push("EURUSD", [candles.bar(i) for i in range(10, 38)])
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
    assert "currently see: entry, stop and take-profit." in text(
        await say(tg, OWNER, "/visibility")
    )
    assert "Unknown visibility" in text(await say(tg, OWNER, "/visibility secret"))
    assert text(await say(tg, OWNER, "/visibility full")) == (
        "Nothing changed: new signals already show entry, stop and take-profit."
    )
    assert text(await say(tg, OWNER, "/visibility entry_only")) == (
        "New signals will show: the entry only (the server manages the exits)."
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
