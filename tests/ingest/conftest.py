"""Shared set-up of the ingest tests: a live EURUSD feed (last close 1.08412), producers, and the
real app with two owners against the Telegram emulator (the held flow end to end)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from bot.app import AppRunner
from core import db
from models.billing import EntitlementSource
from models.ingest import ProducerMode
from models.users import Role
from services import app_settings as stored_settings
from services.billing import catalog
from services.billing import entitlements as ent
from services.ingest import producers
from services.ingest.intake import SignalIn
from services.outbox import fanout
from services.signals import market_data
from services.users import profiles as users_service
from tests.e2e.conftest import app_settings, running_app
from tgemu import EmulatorClient, EmulatorServer
from trading.candles import Bar

LAST = 1.08412
OWNER, ADMIN, SUB = 1001, 1002, 1003
OTTO = 1004  # a second owner (the held flow: each owner gets the held message)


@pytest.fixture(autouse=True)
def chart_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Published signals' charts go to the test's directory, not the worktree's data/."""
    charts = tmp_path / "charts"
    monkeypatch.setattr(fanout, "CHART_DIR", charts)
    return charts


async def feed(symbol: str = "EURUSD", close: float = LAST, bars: int = 5) -> None:
    """`bars` hourly bars ending an hour ago, stored now: a live feed."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    for i in range(bars):
        t = end - timedelta(hours=bars - 1 - i)
        await market_data.record_bar(
            symbol, Bar(t, close, close * 1.001, close * 0.999, close), 3600
        )


async def producer(
    name: str = "Gold breakout", mode: ProducerMode = ProducerMode.PUBLISH, **kw: Any
) -> producers.Credentials:
    symbols = kw.pop("symbols", ("EURUSD", "XAUUSD"))
    return await producers.register(name, symbols, mode=mode, actor_id=OWNER, **kw)


def signal(external_id: str = "s-1", **kw: Any) -> SignalIn:
    values: dict[str, Any] = {
        "symbol": "EURUSD", "side": "buy", "entry": D("1.0800"), "stop": D("1.0750"),
        "take_profit": D("1.0950"),
    }  # fmt: skip
    values.update(kw)
    return SignalIn(external_id=external_id, **values)


@pytest.fixture
async def held_app(
    clean_db: str, emulator: EmulatorServer
) -> AsyncIterator[tuple[AppRunner, EmulatorClient]]:
    """The app with two owners (Olivia, Otto) and Sam on the Pro plan, a live EURUSD feed
    (last close 1.08412) and free summaries at once."""
    await db.init_db(clean_db)
    await catalog.sync_catalog(catalog.load_catalog(None, D("0.013")))
    for tid, name, role in ((OWNER, "Olivia", Role.OWNER), (OTTO, "Otto", Role.OWNER),
                            (SUB, "Sam", Role.PUBLIC)):  # fmt: skip
        await users_service.seed(tid, name, name.lower(), role)
    sam = await users_service.get_by_telegram_id(SUB)
    await ent.grant(sam.id, "pro", 30, source=EntitlementSource.GRANT, now=datetime.now(UTC))
    await stored_settings.put("signals.free_delay_hours", 0)
    await feed()
    await db.close_db()
    settings = app_settings(
        clean_db, emulator.url, owner_ids=f"{OWNER},{OTTO}", sender_rate_per_s=500,
        sender_per_chat_per_s=100, throttle_rate=100, throttle_burst=100,
    )  # fmt: skip
    async with emulator.client() as tg:
        for tid, name in ((OWNER, "Olivia"), (OTTO, "Otto"), (SUB, "Sam")):
            await tg.add_user(tid, name, username=name.lower())
        async with running_app(settings) as runner:
            yield runner, tg


# The app-and-emulator harness of the end-to-end tests, for the held flow.
from tests.e2e.conftest import emulator  # noqa: E402

__all__ = ["emulator"]
