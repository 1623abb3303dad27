"""The terminal loop end to end, over real HTTP: signal -> approval in the emulator -> command
-> the Python EA (ea.client.terminal) on a paper account fed the same bars -> acks -> execution ->
position report -> outcome. Also copy mode, a crash between placing and acking, and a server
restart in the middle of a long poll. Bars are pushed step by step; every wait is a condition.

Bundled EURUSD facts (as tests/e2e/test_signals.py): bar 37 publishes a SELL that bar 60
fills and stops out, bar 60 publishes a BUY; bar 168 publishes a BUY (entry 1.08992) that
bar 173 fills and bar 300 closes at its take-profit (a gap: filled at the open, 1.10200).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from bot.app import AppRunner
from bot.sandbox import SandboxExtension
from bot.sandbox_terminal import DEVICE_NAME, MarketTee
from core.clock import ManualClock
from core.settings import load_settings
from ea.client.sim import feed_bar, paper_broker
from ea.client.terminal import EAClient, EAConfig
from ea.client.wire import Command
from models.devices import AccountSnapshot, CommandStatus, DeviceSymbol, Execution, Position
from models.devices import Command as CommandRow
from models.devices import Device as DeviceRow
from models.signals import Signal, SignalStatus
from models.users import Role, User
from services import app_settings
from services.terminals import devices
from services.users import profiles as users_service
from tests.e2e.conftest import SUB, free_port
from tests.e2e.conftest import app_settings as make_settings
from tests.e2e.test_signals import caption, card_of
from tests.waiting import until
from tgemu import EmulatorClient, EmulatorServer
from trading.brokers.paper import PaperBroker
from trading.candles import Bar, Candles, load_csv
from trading.feeds import PushFeed

NOW = datetime(2030, 1, 1, tzinfo=UTC)  # the feeds' "closed by": every pushed bar is closed


class Crash(Exception):
    """The EA process dies here (injected fault)."""


@dataclass
class Loop:
    """The running app, a subscriber's terminal (device + paper account) and its EA."""

    settings: Any
    candles: Candles
    clock: ManualClock
    tg: EmulatorClient
    state_path: Path
    broker: PaperBroker
    device_id: str = ""
    secret: str = field(default="", repr=False)
    app: AppRunner | None = None
    feed: PushFeed | None = None
    client: EAClient | None = None
    task: asyncio.Task[None] | None = None
    pushed: int = 0
    last_applied: datetime | None = None

    async def start_app(self) -> None:
        self.feed = PushFeed(clock=lambda: NOW)
        feed = MarketTee(self.feed, self._market)  # the terminal sees each bar as it closes
        self.app = AppRunner(self.settings, migrate=False, feeds={"EURUSD": feed})
        await self.app.start()
        assert self.app.trading_loop is not None
        self.app.trading_loop.on_bar = self._applied
        self.pushed = 0

    async def stop_app(self) -> None:
        assert self.app is not None
        await self.app.stop()
        self.app = None

    def _market(self, symbol: str, bar: Bar) -> None:
        """A bar closes: the terminal's market moves, the process clock too (the app runs on
        market time, so a command's expiry, in bar time, is judged on the bar clock)."""
        feed_bar(self.broker, self.client, symbol, bar)
        self.clock.set(bar.time + timedelta(hours=1))

    def _applied(self, symbol: str, bar: Bar) -> None:
        self.last_applied = bar.time

    async def push_until(self, index: int) -> None:
        """Push bars up to ``index`` (after a restart all of them again: the loop only replays
        the ones it applied before) and wait until the loop applied the last one."""
        assert self.feed is not None
        self.feed.push("EURUSD", [self.candles.bar(i) for i in range(self.pushed, index + 1)])
        self.pushed = index + 1
        last = self.candles.bar(index).time
        await until(lambda: self.last_applied, f"bar {index} applied", accept=lambda t: t == last)

    def start_client(self, fault: Callable[[str, Command], None] | None = None) -> EAClient:
        assert self.app is not None
        config = EAConfig(
            device_id=self.device_id, secret=self.secret, state_path=self.state_path,
            server=self.app.base_url, poll_wait_s=2, account_interval_s=0.2,
            symbols=("EURUSD",), retry_base_s=0.05, retry_cap_s=0.2,
        )  # fmt: skip
        self.client = EAClient(config, self.broker, fault=fault)
        self.task = asyncio.create_task(self.client.run())
        return self.client

    async def stop_client(self) -> None:
        if self.client is not None and self.task is not None:
            self.client.stop()
            await asyncio.wait_for(self.task, 30)  # catches a hang only
        self.client = self.task = None


@pytest.fixture
async def make_loop(
    clean_db: str,
    emulator: EmulatorServer,
    tg: EmulatorClient,
    data_dir: Path,
    tmp_path: Path,
    clock: ManualClock,
) -> AsyncIterator[Callable[..., Awaitable[Loop]]]:
    """``await make_loop(mode)``: the app up, Sam's terminal registered and its EA running."""
    from core import db

    await db.init_db(clean_db)
    await users_service.seed(SUB, "Sam", "sam", Role.SUBSCRIBER)
    await app_settings.put("signals.free_delay_hours", 0)
    await db.close_db()
    settings = make_settings(
        clean_db, emulator.url, symbols="EURUSD", loop_poll_s=0.01, sender_rate_per_s=500,
        sender_per_chat_per_s=100, web_port=free_port(), data_dir=tmp_path / "data",
    )  # fmt: skip
    candles = load_csv(data_dir / "EURUSD_H1.csv", "EURUSD").candles
    loops: list[Loop] = []

    async def make(mode: str = "approval") -> Loop:
        loop = Loop(
            settings, candles, clock, tg, tmp_path / "ea-state.json", paper_broker(["EURUSD"])
        )
        loops.append(loop)
        await loop.start_app()
        new = await devices.create_device(SUB, "Sam's MT5", mode)
        loop.device_id, loop.secret = new.device_id, new.secret
        loop.start_client()
        pk = new.device.id
        await until(lambda: DeviceSymbol.exists(device_id=pk, symbol="EURUSD"))
        await until(lambda: AccountSnapshot.exists(device_id=pk))
        return loop

    yield make
    for loop in loops:
        await loop.stop_client()
        if loop.app is not None:
            await loop.stop_app()


async def approve(tg: EmulatorClient, signal_id: int, user: int = SUB) -> None:
    """The user presses Approve on the card, then accepts the risk disclaimer."""
    card = await card_of(tg, user, signal_id)
    await tg.press(user, user, card["message_id"], text="✅ Approve")
    disclaimer = await tg.wait_for(user, lambda m: "Risk disclaimer" in caption(m))
    await tg.press(user, user, disclaimer["message_id"], text="I understand and accept")


async def open_command(signal_id: int, *statuses: CommandStatus) -> CommandRow | None:
    return await CommandRow.filter(
        signal_id=signal_id, type="open", status__in=list(statuses)
    ).first()


async def test_full_loop_from_approval_to_a_closed_execution(make_loop: Any) -> None:
    loop: Loop = await make_loop("approval")
    await loop.push_until(168)
    sig = await Signal.filter(side="buy", status=SignalStatus.PUBLISHED).order_by("-id").first()
    assert sig is not None and sig.entry == D("1.08992")
    assert not await CommandRow.exists()  # approval mode: nothing before Sam approves

    await approve(loop.tg, sig.id)
    cmd = await until(lambda: open_command(sig.id, CommandStatus.PLACED))
    [order] = await loop.broker.orders()
    assert (order.price, order.sl, order.comment) == (D("1.08992"), sig.stop, f"sd:{sig.id}")
    assert cmd.ticket == order.ticket and order.volume == D(str(cmd.payload["volume"]))

    await loop.push_until(173)  # fills the limit
    execution = await until(lambda: Execution.get_or_none(command_id=cmd.id))
    assert execution.fill_price == D("1.08992") and execution.ticket == order.ticket
    assert execution.volume == order.volume and execution.closed_at is None
    position = await until(lambda: Position.get_or_none(ticket=order.ticket))
    assert position.command_id == cmd.id and not position.orphan  # reported by POST account

    await loop.push_until(300)  # the take-profit, through a gap at the open
    await until(lambda: Execution.get_or_none(command_id=cmd.id, closed_at__not_isnull=True))
    execution = await Execution.get(command_id=cmd.id)
    assert execution.close_price == D("1.10200") and execution.profit is not None
    assert execution.profit > 0
    assert (await Signal.get(id=sig.id)).status == SignalStatus.CLOSED
    assert (await CommandRow.get(id=cmd.id)).status == CommandStatus.CLOSED
    await until(lambda: _no_positions(loop))
    assert await loop.broker.positions() == []
    acked = [a["status"] for a in loop.client.acks_sent if a["command_id"] == cmd.id]
    assert acked == ["placed", "filled", "closed"]


async def _no_positions(loop: Loop) -> bool:
    return not await Position.exists()


async def test_copy_mode_executes_every_signal_without_approval(make_loop: Any) -> None:
    loop: Loop = await make_loop("copy")
    await loop.push_until(37)
    sell = await Signal.get(side="sell")
    cmd = await until(lambda: open_command(sell.id, CommandStatus.PLACED))
    await loop.push_until(60)  # fills and stops out the SELL, publishes a BUY
    await until(lambda: open_command(sell.id, CommandStatus.CLOSED))
    execution = await Execution.get(command_id=cmd.id)
    assert execution.fill_price == D("1.07592") and execution.close_price == D("1.07965")
    assert execution.profit is not None and execution.profit < 0
    buy = await Signal.get(side="buy")
    await until(lambda: open_command(buy.id, CommandStatus.PLACED))
    assert len(await loop.broker.orders()) == 1


async def test_ea_killed_after_placing_before_acking_places_once(make_loop: Any) -> None:
    loop: Loop = await make_loop("copy")
    await loop.stop_client()

    def crash(point: str, command: Command) -> None:
        if point == "placed" and command.type == "open":
            raise Crash(command.id)

    loop.start_client(fault=crash)
    await loop.push_until(37)
    with pytest.raises(Crash):
        await asyncio.wait_for(loop.task, 30)
    [order] = await loop.broker.orders()
    sell = await Signal.get(side="sell")
    assert await open_command(sell.id, CommandStatus.PENDING)  # no ack reached the server

    client = loop.start_client()  # restarted with the same state file and terminal
    cmd = await until(lambda: open_command(sell.id, CommandStatus.PLACED))
    assert await loop.broker.orders() == [order] and cmd.ticket == order.ticket
    polls = client.polls  # a few more polls: nothing new
    await until(lambda: client.polls, accept=lambda n: n >= polls + 3)
    assert len(await loop.broker.orders()) == 1
    assert [a["status"] for a in client.acks_sent if a["command_id"] == cmd.id] == ["placed"]


async def test_server_restart_mid_long_poll(make_loop: Any) -> None:
    loop: Loop = await make_loop("copy")
    await loop.push_until(37)
    sell = await Signal.get(side="sell")
    await until(lambda: open_command(sell.id, CommandStatus.PLACED))
    client = loop.client
    assert client is not None
    polls = client.polls
    await until(lambda: client.polls, accept=lambda n: n > polls)  # a long poll is in flight
    await loop.stop_app()
    await loop.start_app()  # same database, same port
    await loop.push_until(60)  # bar 60 publishes a BUY: the next command
    buy = await Signal.get(side="buy")
    await until(lambda: open_command(buy.id, CommandStatus.PLACED))
    await until(lambda: open_command(sell.id, CommandStatus.CLOSED))
    assert client is loop.client and not loop.task.done()  # the same EA, reconnected


async def test_sandbox_runs_one_ea_for_the_owner(
    clean_db: str, data_dir: Path, tmp_path: Path, clock: ManualClock
) -> None:
    candles = load_csv(data_dir / "EURUSD_H1.csv", "EURUSD").candles
    settings = load_settings(
        _env_file=None, database_url=clean_db, web_port=0, log_json=False,
        data_dir=tmp_path / "data", loop_poll_s=0.01,
    )  # fmt: skip
    feed = PushFeed(clock=lambda: NOW)
    feed.push("EURUSD", [candles.bar(i) for i in range(38)])
    clock.set(candles.close_time_utc(37))  # the app runs on the replay's market time
    ext = SandboxExtension()
    runner = AppRunner(settings, migrate=False, feeds={"EURUSD": feed})
    runner.extensions.append(ext)
    await runner.start()
    try:
        device = await until(lambda: DeviceRow.get_or_none(name=DEVICE_NAME))
        assert device.user_id == (await User.get(telegram_id=ext.owner_id)).id
        await until(lambda: AccountSnapshot.exists(device_id=device.id))
        sig = await until(lambda: Signal.get_or_none(side="sell"))
        async with ext.client() as tg:
            await approve(tg, sig.id, user=ext.owner_id)
        cmd = await until(lambda: open_command(sig.id, CommandStatus.PLACED))
        assert ext.terminal is not None and cmd.device_id == device.id
        [order] = await ext.terminal.broker.orders()
        assert order.ticket == cmd.ticket and order.comment == f"sd:{sig.id}"
    finally:
        await runner.stop()
    assert ext.terminal.client is None  # stopped with the app

    again = SandboxExtension()
    runner = AppRunner(settings, migrate=False, feeds={"EURUSD": PushFeed(clock=lambda: NOW)})
    runner.extensions.append(again)
    await runner.start()
    try:
        await until(lambda: again.terminal is not None and again.terminal.client)
        await until(lambda: DeviceSymbol.exists(device_id=device.id))
        assert await DeviceRow.filter(name=DEVICE_NAME).count() == 1  # found, not re-created
    finally:
        await runner.stop()


async def _bot_texts(tg: EmulatorClient, user: int = SUB) -> list[str]:
    return [caption(m) for m in await tg.messages(user) if m["from_bot"]]


async def test_outcomes_tell_the_strategys_trade_and_the_users_own_apart(make_loop: Any) -> None:
    """Copy mode: the card's replies are the strategy's; the terminal's fill and close are
    Sam's own, with his fill price, side, volume and P&L."""
    loop: Loop = await make_loop("copy")
    await loop.push_until(37)
    sell = await Signal.get(side="sell")
    cmd = await until(lambda: open_command(sell.id, CommandStatus.PLACED))
    await loop.push_until(60)  # fills and stops out the SELL
    await until(lambda: open_command(sell.id, CommandStatus.CLOSED))
    execution = await Execution.get(command_id=cmd.id)
    card = await card_of(loop.tg, SUB, sell.id)
    strategy = await loop.tg.wait_for(
        SUB, lambda m: m.get("reply_to_message_id") == card["message_id"]
        and "filled" in caption(m), timeout=15, after_seq=0,
    )  # fmt: skip
    assert caption(strategy) == f"🟢 Signal #{sell.id} EURUSD filled at 1.07592 (strategy)."
    own = await loop.tg.wait_for(SUB, lambda m: "Your trade" in caption(m) and "filled"
                                 in caption(m), timeout=15, after_seq=0)  # fmt: skip
    assert caption(own).startswith(
        f"✅ Your trade: terminal Sam's MT5 filled signal #{sell.id}, SELL {execution.volume} lot"
        " at 1.07592 (slippage"
    )
    closed = await loop.tg.wait_for(SUB, lambda m: "Your trade" in caption(m) and "closed"
                                    in caption(m), timeout=15, after_seq=0)  # fmt: skip
    assert f"closed your {execution.volume} lot of signal #{sell.id} at 1.07965" in caption(closed)
    assert all(": the trade is open" not in text for text in await _bot_texts(loop.tg))


async def test_a_terminal_that_skipped_gets_no_fill_of_its_own(make_loop: Any) -> None:
    loop: Loop = await make_loop("copy")
    await DeviceRow.filter(device_id=loop.device_id).update(status="paused")
    await loop.push_until(37)
    sell = await Signal.get(side="sell")
    skipped = await loop.tg.wait_for(SUB, lambda m: "was not sent to your terminal" in caption(m),
                                     timeout=15, after_seq=0)  # fmt: skip
    assert f"Signal #{sell.id}" in caption(skipped) and "it is paused" in caption(skipped)
    await loop.push_until(60)
    card = await card_of(loop.tg, SUB, sell.id)
    await loop.tg.wait_for(
        SUB, lambda m: m.get("reply_to_message_id") == card["message_id"]
        and "closed at" in caption(m), timeout=15, after_seq=0,
    )  # fmt: skip
    texts = await _bot_texts(loop.tg)
    assert f"🟢 Signal #{sell.id} EURUSD filled at 1.07592 (strategy)." in texts
    assert not any("Your trade" in text for text in texts)
    assert not await CommandRow.filter(signal_id=sell.id).exists()
