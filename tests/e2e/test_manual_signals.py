"""/post as the owner uses it: every value checked against the feed's last price and the
symbol's spec, refusals that name the numbers, Back, and a published signal whose chart is
drawn from the feed's bars. The real app, the emulator, EURUSD bars pushed by the test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

from bot.app import AppRunner
from models.signals import ChartFile, MarketBar, Signal, SignalSource
from services.text import formatting
from tests.e2e.conftest import OWNER, SUB, say, text
from tests.waiting import until
from tgemu import EmulatorClient
from trading.candles import Candles, load_csv
from trading.charting import ChartLevels, render_signal_chart
from trading.detector import Side
from trading.feeds import PushFeed

BARS = 30  # bars 0..29: no strategy signal yet; the last close is 1.07657 (20 Apr 2017 14:00)
LAST = "1.07657"
BACK = "⬅️ Back"


async def feed_bars(owner_app: tuple[AppRunner, PushFeed], data_dir: Path) -> Candles:
    runner, feed = owner_app
    candles = load_csv(data_dir / "EURUSD_H1.csv", "EURUSD").candles.slice(0, BARS)
    feed.push("EURUSD", [candles.bar(i) for i in range(BARS)])
    loop = runner.trading_loop
    assert loop is not None
    await until(lambda: loop.processed >= BARS, timeout_s=30)
    return candles


async def press(tg: EmulatorClient, message: dict, label: str) -> dict:
    await tg.press(OWNER, OWNER, message["message_id"], text=label)
    return dict(await tg.wait_for_bot(OWNER, timeout=10))


async def test_a_symbol_needs_a_live_feed(owner_app, tg: EmulatorClient, data_dir: Path) -> None:
    await say(tg, OWNER, "/post")
    reply = text(await say(tg, OWNER, "eurusd"))
    assert "EURUSD has no live market feed" in reply and "no symbol has a feed" in reply
    assert "Which symbol" in reply, "the same question again"

    await feed_bars(owner_app, data_dir)
    reply = text(await say(tg, OWNER, "xauusd"))
    assert "XAUUSD has no live market feed" in reply
    assert "Symbols with a feed: EURUSD." in reply
    assert "GOLD has no live market feed" in text(await say(tg, OWNER, "gold"))
    assert "Unknown symbol “BTCXYZ”" in text(await say(tg, OWNER, "btcxyz"))
    side = text(await say(tg, OWNER, "eurusd"))
    assert side == f"EURUSD: last price {LAST} (bar of Apr 20, 2017, 14:00 UTC). Buy or sell?"

    # the loop stops delivering: a week later (five trading days) the feed is stale
    stalled = (datetime.now(UTC) - timedelta(days=7)).replace(second=0, microsecond=0)
    await MarketBar.filter(symbol="EURUSD").update(recorded_at=stalled)
    await say(tg, OWNER, "/post")
    reply = text(await say(tg, OWNER, "eurusd"))
    arrived = formatting.when(stalled, "en")  # "Nov 25, 14:00 UTC"
    assert f"The feed of EURUSD is stale: its last bar arrived at {arrived}." in reply
    assert not await Signal.exists(source=SignalSource.MANUAL)


async def test_every_value_is_checked_and_back_returns_a_step(
    owner_app, tg: EmulatorClient, data_dir: Path
) -> None:
    candles = await feed_bars(owner_app, data_dir)
    await say(tg, OWNER, "/post")
    side = await say(tg, OWNER, "EURUSD")
    entry_q = await press(tg, side, "BUY")
    assert text(entry_q) == f"EURUSD BUY, last price {LAST}: the entry price (a limit order)?"

    # entry: not a price, far from the market, below one tick, off the tick grid
    for typed in ("1e5", "abc", "-1", "١٫٠٧", "NaN"):
        reply = text(await say(tg, OWNER, typed))
        assert f"“{typed}” is not a price" in reply, typed
        assert reply.endswith("EURUSD BUY, last price 1.07657: the entry price (a limit order)?")
    far = (D(100000) - D(LAST)) / D(LAST) * 100
    assert (
        f"Entry 100000 is {far.quantize(D(1)):,} % from the last price {LAST} of EURUSD "
        "(at most 5 % is allowed)." in text(await say(tg, OWNER, "100000"))
    )
    assert "Entry 1.2 is 11.47 % from the last price" in text(await say(tg, OWNER, "1.2"))
    assert "0.0000000001 is below one tick of EURUSD (0.00001)." in text(
        await say(tg, OWNER, "0.0000000001")
    )
    stop_q = text(await say(tg, OWNER, "1.071234"))
    assert stop_q == (
        "1.071234 is not on the tick grid (0.00001): rounded to 1.07123.\n"
        "EURUSD BUY, entry 1.07123: now the stop price?"
    )

    # stop: wrong side, too close, too far; then Back to the entry
    assert "A buy's stop must be below its entry 1.07123; 1.08 is not." in text(
        await say(tg, OWNER, "1.08")
    )
    assert (
        "Stop 1.07121 is only 2 points from the entry 1.07123; the minimum is 5 points."
        in text(await say(tg, OWNER, "1.07121"))
    )
    far_stop = await say(tg, OWNER, "0.9")
    assert (
        "Stop 0.9 is 0.17123 (15.98 %) from the entry 1.07123; at most 5 % of the price"
        in text(far_stop)
    )
    assert text(far_stop).endswith("EURUSD BUY, entry 1.07123: now the stop price?")
    again = await press(tg, far_stop, BACK)
    assert text(again) == f"EURUSD BUY, last price {LAST}: the entry price (a limit order)?"
    assert "EURUSD BUY, entry 1.07000: now the stop price?" in text(await say(tg, OWNER, "1.07"))

    # take-profit: wrong side, reward:risk too small; /back to the stop
    tp_q = text(await say(tg, OWNER, "1.065"))
    assert tp_q == (
        "EURUSD BUY, entry 1.07000, stop 1.06500: the take-profit price? "
        "Send “auto” for 3.25 × the risk (1.08625)."
    )
    assert "A buy's take-profit must be above its entry 1.07000; 1.06000 is not." in text(
        await say(tg, OWNER, "1.06")
    )
    assert "gives a reward:risk of 0.10; it must be between 1 and 20." in text(
        await say(tg, OWNER, "1.0705")
    )
    assert "EURUSD BUY, entry 1.07000: now the stop price?" in text(await say(tg, OWNER, "/back"))
    assert "(1.08300)" in text(await say(tg, OWNER, "1.066"))
    expiry_q = text(await say(tg, OWNER, "auto"))
    assert expiry_q.startswith("Take-profit set to 1.08300 (3.25 × the risk).\n")
    assert "order expiry in hours" in expiry_q

    # expiry: whole hours 1..336, ASCII digits only
    for typed in ("99999999999999999999", "0", "337", "١٢", "+5", "1e2", "4.5"):
        reply = text(await say(tg, OWNER, typed))
        assert f"“{typed}” is not an expiry: send a whole number of hours from 1 to 336" in reply
    assert "rationale" in text(await say(tg, OWNER, " 48 "))

    preview = await say(tg, OWNER, "Support retest")
    assert "Preview" in text(preview)
    assert all(p in text(preview) for p in ("1.07000", "1.06600", "1.08300", "Support retest"))
    note_q = await press(tg, preview, BACK)
    assert "a one-line rationale" in text(note_q)
    preview = await say(tg, OWNER, "Support retest, take two")
    assert not await Signal.exists(source=SignalSource.MANUAL), "nothing before Publish"

    await tg.press(OWNER, OWNER, preview["message_id"], text="📣 Publish")
    await tg.wait_for(OWNER, lambda m: "Published as signal" in text(m), timeout=10)
    sig = await Signal.get(source=SignalSource.MANUAL)
    levels = (sig.symbol, sig.side, sig.entry, sig.stop, sig.take_profit, sig.rationale)
    assert levels == (
        "EURUSD",
        "buy",
        D("1.07"),
        D("1.066"),
        D("1.083"),
        "Support retest, take two",
    )
    assert sig.expires_at - sig.published_at == timedelta(hours=48)
    assert sig.point1_time is None and sig.point2_time is None

    card = await tg.wait_for(SUB, lambda m: f"#{sig.id}" in text(m), timeout=10, after_seq=0)
    assert "Support retest, take two" in text(card) and card["photo"], "a card with a chart"
    png = await tg.file(card["photo"])
    expected = ChartLevels(
        side=Side.BUY, entry=1.07, stop=1.066, take_profit=1.083,
        title=f"EURUSD · BUY · #{sig.id} · manual", digits=5,
    )  # fmt: skip
    assert png == render_signal_chart(candles, expected), "the feed's bars and the levels"
    with_points = ChartLevels(
        side=Side.BUY, entry=1.07, stop=1.066, take_profit=1.083, title=expected.title,
        digits=5, point1=(candles.time[5], 1.07), point2=(candles.time[20], 1.075),
    )  # fmt: skip
    assert png != render_signal_chart(candles, with_points), "no Fib points on a manual chart"
    assert await ChartFile.exists(signal_id=sig.id, version=1)


async def test_a_sell_is_checked_the_other_way_round(
    owner_app, tg: EmulatorClient, data_dir: Path
) -> None:
    await feed_bars(owner_app, data_dir)
    await say(tg, OWNER, "/post")
    side = await say(tg, OWNER, "eurusd")
    await press(tg, side, "SELL")
    note = text(await say(tg, OWNER, "1.0700"))  # a sell limit below the market
    assert note.startswith(
        f"Note: the last price {LAST} is already at or above this sell limit at 1.07000"
    )
    assert "A sell's stop must be above its entry 1.07000; 1.069 is not." in text(
        await say(tg, OWNER, "1.069")
    )
    assert "The last price 1.07657 is already beyond the stop 1.07500" in text(
        await say(tg, OWNER, "1.075")
    )
    assert "take-profit price" in text(await say(tg, OWNER, "1.0790"))
    assert "A sell's take-profit must be below its entry 1.07000; 1.07100 is not." in text(
        await say(tg, OWNER, "1.071")
    )
    assert "order expiry" in text(await say(tg, OWNER, "1.04"))
    assert "rationale" in text(await say(tg, OWNER, "auto"))
    preview = await say(tg, OWNER, "-")
    assert "Preview" in text(preview) and "1.04000" in text(preview)

    # the market runs away before Publish: checked again, refused, the preview stays usable
    newest = await MarketBar.filter(symbol="EURUSD").order_by("-time").first()
    assert newest is not None
    await MarketBar.filter(id=newest.id).update(close=1.2)
    refused = await press(tg, preview, "📣 Publish")
    assert "Entry 1.07000 is 10.83 % from the last price 1.20000 of EURUSD" in text(refused)
    assert [b["text"] for row in refused["reply_markup"]["inline_keyboard"] for b in row] == [
        "📣 Publish", "🗑 Discard", BACK,
    ]  # fmt: skip
    assert not await Signal.exists(source=SignalSource.MANUAL)
    await tg.press(OWNER, OWNER, preview["message_id"], text="🗑 Discard")
    await tg.wait_for(OWNER, lambda m: "Nothing was published" in text(m), timeout=10)
    assert not await Signal.exists(source=SignalSource.MANUAL)
