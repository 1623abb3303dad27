"""Fixtures for the reference EA: a fake /ea/v1 server, a paper broker with a quote, helpers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from ea.client.terminal import EAClient, EAConfig
from tests.ea.client.fake_server import FakeServer
from tests.waiting import until
from trading.brokers.paper import PaperBroker, PaperEngine
from trading.symbols import get_spec

DEVICE, SECRET = "dev_test0001", "s3cret-Of-the-device-0123456789"
T0 = datetime(2030, 1, 7, 10, tzinfo=UTC)
STOP_S = 30  # a stopped EA ends its run at once; the bound only catches one that hangs


@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    fake = FakeServer(DEVICE, SECRET)
    await fake.start()
    yield fake
    await fake.stop()


def paper(bid: str = "1.10000", spread_points: int = 10) -> PaperBroker:
    broker = PaperBroker(PaperEngine({"EURUSD": get_spec("EURUSD")}, spread_points=spread_points))
    quote(broker, bid, spread_points=spread_points)
    return broker


def quote(broker: PaperBroker, bid: str, *, spread_points: int = 10, minutes: int = 0) -> None:
    b = D(bid)
    broker.on_tick("EURUSD", b, b + D("0.00001") * spread_points, T0 + timedelta(minutes=minutes))


def config(url: str, state: Path, **overrides: Any) -> EAConfig:
    values: dict[str, Any] = {
        "device_id": DEVICE,
        "secret": SECRET,
        "state_path": state,
        "server": url,
        "poll_wait_s": 1,
        "account_interval_s": 0.2,
        "symbols": ("EURUSD",),
        "retry_base_s": 0.05,
        "retry_cap_s": 0.2,
    }
    values.update(overrides)
    return EAConfig(**values)


def open_cmd(command_id: str = "cmd_0001", **fields: Any) -> dict[str, Any]:
    cmd: dict[str, Any] = {
        "id": command_id,
        "type": "open",
        "signal_id": 7,
        "symbol": "EURUSD",
        "side": "buy",
        "order_type": "limit",
        "price": 1.09500,
        "sl": 1.09000,
        "tp": 1.11125,
        "volume": 0.10,
        "expires_at": int((T0 + timedelta(hours=100)).timestamp()),
        "ticket": None,
        "comment": f"SD {command_id}",
    }
    cmd.update(fields)
    return cmd


def statuses(server: FakeServer, command_id: str) -> list[str]:
    return [a["status"] for a in server.acks if a["command_id"] == command_id]


async def acked(server: FakeServer, command_id: str, expected: list[str]) -> None:
    """Until the server has received exactly these acks of the command, in this order."""
    await until(
        lambda: statuses(server, command_id),
        f"acks {expected} of {command_id}",
        accept=lambda seen: seen == expected,
    )


@asynccontextmanager
async def running(client: EAClient) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(client.run())
    try:
        yield task
    finally:
        client.stop()
        await asyncio.wait_for(task, STOP_S)
