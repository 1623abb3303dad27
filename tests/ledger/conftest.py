"""The ledger's routes on a loopback port (the same handlers the app mounts), a seeded history,
and a way around the append-only triggers for tampering tests."""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal as D
from pathlib import Path

import pytest
from aiohttp import web
from tortoise import connections

from core.http.problems import problem_middleware
from models.signals import CloseReason, SignalStatus
from services.ledger import heads
from services.signals import lifecycle as signals
from tests.ledger.helpers import publish, revise
from webapp.ledger import setup_ledger

S = SignalStatus
SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "verify_ledger.py"
GUARD = importlib.import_module("models.migrations.0017_ledger")
CHANNEL = -1001234567


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


@pytest.fixture
async def ledger_url(database: str) -> AsyncIterator[str]:
    app = web.Application(middlewares=[problem_middleware])
    setup_ledger(app)
    runner, url = await serve(app)
    yield url
    await runner.cleanup()


@dataclass(frozen=True)
class Seeded:
    closed: int  # published, revised, filled, closed: seq 1, 2, 3, 5
    expired: int  # published, expired: seq 4, 6
    open: int  # published: seq 7


async def seed_history() -> Seeded:
    """Seven entries over three signals, the head (7) posted to the channel."""
    closed = await publish()
    await revise(closed, 2)
    await signals.transition(closed.id, S.FILLED, price=D("2030.55"))
    expired = await publish(side="sell")
    await signals.transition(closed.id, S.CLOSED, price=D("2051.02"), reason=CloseReason.TP)
    await signals.transition(expired.id, S.EXPIRED)
    still_open = await publish("EURUSD")
    await heads.set_channel(900, CHANNEL, "@signaldesk_ledger")
    assert (await heads.publish(900)).created
    return Seeded(closed.id, expired.id, still_open.id)


async def without_guard(change: Callable[[], Awaitable[object]]) -> None:
    """Run `change` with the append-only triggers off (what only a database owner can do)."""
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    if postgres:
        await conn.execute_script("ALTER TABLE ledger_entries DISABLE TRIGGER USER")
    else:
        await conn.execute_script(GUARD.SQLITE_DOWN)
    try:
        await change()
    finally:
        if postgres:
            await conn.execute_script("ALTER TABLE ledger_entries ENABLE TRIGGER USER")
        else:
            await conn.execute_script(GUARD.SQLITE_UP)


async def run_script(*args: str) -> tuple[int, str]:
    """docs/verify_ledger.py as a reader runs it: its exit code and output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


# The app-and-emulator harness of the end-to-end tests, for the channel post of the head.
from tests.e2e.conftest import emulator, owner_app, tg  # noqa: E402

__all__ = ["emulator", "owner_app", "tg"]
