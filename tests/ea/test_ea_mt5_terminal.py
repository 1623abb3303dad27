"""The Python reference EA on a MetaTrader 5 terminal (MT5Broker over the fake MT5 module)
against the real server: a netting account where a limit fills into an existing position and
a close takes only our share, and AutoTrading off, which leaves commands pending."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from ea.client.terminal import EAClient, EAConfig
from models.devices import Command, CommandStatus, CommandType, Execution
from services.terminals import commands as ea_commands
from tests.ea.conftest import Terminal
from tests.fakes import mt5_api as api
from tests.fakes.fake_mt5 import FakeMT5
from tests.waiting import until
from trading.brokers.base import OrderRequest, OrderType, Side
from trading.brokers.mt5 import MT5Broker
from trading.brokers.paper import PaperEngine
from trading.symbols import get_spec

pytestmark = pytest.mark.asyncio(loop_scope="module")
OPEN = {"symbol": "EURUSD", "side": "buy", "order_type": "limit", "price": "1.09500",
        "sl": "1.09000", "tp": "1.11125", "volume": "0.10", "comment": "sd:7"}  # fmt: skip


def mt5_terminal(margin_mode: int) -> tuple[MT5Broker, FakeMT5]:
    engine = PaperEngine({"EURUSD": get_spec("EURUSD")}, spread_points=10)
    fake = FakeMT5(engine, margin_mode=margin_mode)
    fake.initialized = True
    fake.tick("EURUSD", 1.10000, time_s=int(time.time()))
    return MT5Broker(fake), fake


@asynccontextmanager
async def ea(t: Terminal, broker: MT5Broker, state: Path) -> AsyncIterator[EAClient]:
    config = EAConfig(
        device_id=t.device_id, secret=t.secret, state_path=state, server=t.base_url,
        poll_wait_s=1, account_interval_s=0.2, symbols=("EURUSD",), retry_base_s=0.05,
        retry_cap_s=0.2,
    )  # fmt: skip
    client = EAClient(config, broker)
    task = asyncio.create_task(client.run())
    try:
        yield client
    finally:
        client.stop()
        await asyncio.wait_for(task, 10)


async def command(
    t: Terminal, key: str, kind: CommandType = CommandType.OPEN, **extra: Any
) -> str:
    command_id = await ea_commands.create(
        t.pk, kind, {**OPEN, **extra}, signal_id=7, dedupe_key=f"{t.pk}:{key}",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    assert command_id is not None
    return command_id


async def status(command_id: str, wanted: CommandStatus) -> Command | None:
    row = await Command.get(id=command_id)
    return row if row.status == wanted else None


async def test_netting_fill_into_a_position_and_a_close_of_our_share(
    terminal: Terminal, tmp_path: Path
) -> None:
    broker, fake = mt5_terminal(api.ACCOUNT_MARGIN_MODE_RETAIL_NETTING)
    existing = await broker.place_order(
        OrderRequest("EURUSD", Side.BUY, OrderType.MARKET, D("0.20"))
    )
    async with ea(terminal, broker, tmp_path / "state.json") as client:
        open_id = await command(terminal, "netting")
        placed = await until(lambda: status(open_id, CommandStatus.PLACED))
        assert placed.ticket != existing.position
        fake.tick("EURUSD", 1.09490)  # the limit fills into the existing position
        client.poke()
        await until(lambda: status(open_id, CommandStatus.FILLED))
        execution = await Execution.get(command_id=open_id)
        assert (execution.ticket, execution.volume) == (existing.position, D("0.10"))
        assert execution.fill_price == D("1.095")
        close_id = await command(
            terminal, "close", CommandType.CLOSE, order_type="market", ticket=existing.position
        )
        await until(lambda: status(close_id, CommandStatus.CLOSED))
        await until(lambda: status(open_id, CommandStatus.CLOSED))
    assert [p.volume for p in await broker.positions()] == [D("0.20")]  # the rest stays
    assert (await Execution.get(command_id=open_id)).closed_at is not None


async def test_autotrading_off_keeps_commands_pending_until_it_is_on(
    terminal: Terminal, tmp_path: Path
) -> None:
    broker, fake = mt5_terminal(api.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING)
    fake.algo_trading = False
    async with ea(terminal, broker, tmp_path / "state.json") as client:
        open_id = await command(terminal, "autotrading")
        await until(lambda: _true(client.blocked is not None))
        assert (await Command.get(id=open_id)).status == CommandStatus.PENDING
        assert fake.requests == []
        fake.algo_trading = True
        placed = await until(lambda: status(open_id, CommandStatus.PLACED))
    assert [o.ticket for o in await broker.orders()] == [placed.ticket]


async def _true(value: bool) -> bool:
    return value
