"""Local guards refuse an open before it reaches the broker, with a reason the user can read."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from ea.client.execution import Executor
from ea.client.terminal import EAClient, Guards
from ea.client.wire import parse_command
from tests.ea.client.conftest import acked, config, open_cmd, paper, running
from tests.ea.client.fake_server import FakeServer
from trading.brokers.base import OrderRequest, OrderType, Side


@pytest.mark.parametrize(
    ("guards", "spread", "reason"),
    [
        (Guards(max_lot=D("0.05")), 10, "volume 0.1 > max lot 0.05"),
        (Guards(max_spread_points=20), 25, "spread 25 points > max 20"),
        (Guards(max_positions=1), 10, "1 open positions/orders >= max 1"),
    ],
)
async def test_guard_rejects_with_a_reason(
    server: FakeServer, tmp_path: Path, guards: Guards, spread: int, reason: str
) -> None:
    broker = paper(spread_points=spread)
    if guards.max_positions:  # one position of ours already open
        await broker.place_order(
            OrderRequest("EURUSD", Side.SELL, OrderType.MARKET, D("0.01"), magic=20_260_515)
        )
    client = EAClient(config(server.url, tmp_path / "s.json", guards=guards), broker)
    server.add(open_cmd())
    async with running(client):
        await acked(server, "cmd_0001", ["rejected"])
    assert reason in server.acks[0]["error"]
    assert await broker.orders() == []


@pytest.mark.parametrize(
    ("guards", "spread"),
    [
        (Guards(max_lot=D("0.10"), max_spread_points=10, max_positions=1), 10),
        (Guards(), 50),
    ],
)
async def test_within_the_guards_the_order_goes_out(guards: Guards, spread: int) -> None:
    broker = paper(spread_points=spread)
    # somebody else's position (another magic) does not count against max_positions
    await broker.place_order(OrderRequest("EURUSD", Side.BUY, OrderType.MARKET, D("0.01")))
    executor = Executor(broker, guards=guards)
    assert await executor.guard(parse_command(open_cmd())) is None
