"""Alert fixtures: a migrated database, the shipped plans, users on each plan and live feeds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.clock import ManualClock
from models.billing import EntitlementSource
from models.users import Role
from services.billing import catalog
from services.billing import entitlements as ent
from services.signals import market_data
from services.users import profiles, registration
from services.users.profiles import UserInfo
from trading.candles import Bar

PRO, ELITE, STARTER, FREE, ADMIN, PRO_COPY = 501, 502, 503, 504, 505, 506
GOLD_PRICE = 2400.0
EUR_PRICE = 1.085


@dataclass
class World:
    clock: ManualClock
    users: dict[int, UserInfo]

    async def user(self, telegram_id: int) -> UserInfo:
        """The user with their access now (what the middleware loads per update)."""
        info = await profiles.get_by_telegram_id(telegram_id)
        return await registration.with_access(info, self.clock.now())


async def record(symbol: str, close: float, clock: ManualClock, high: float | None = None,
                 low: float | None = None) -> Bar:  # fmt: skip
    """A closed H1 bar of `symbol` stored as the trading loop stores it (its feed is live)."""
    time = clock.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    bar = Bar(time, close, high or close, low or close, close, 1.0)
    await market_data.record_bar(symbol, bar, 3600, clock.now())
    return bar


@pytest.fixture
async def world(database: str, clock: ManualClock) -> World:
    return await make_world(clock)


async def make_world(clock: ManualClock) -> World:
    """The shipped plans, a user on each, and live XAUUSD (2400.00) and EURUSD (1.08500)."""
    clock.set(datetime(2030, 1, 2, 12, 0, tzinfo=UTC))  # a Wednesday: markets open
    await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))
    users = {}
    plans = {PRO: "pro", ELITE: "elite", STARTER: "starter", PRO_COPY: "pro_copy"}
    for tid, role in ((PRO, Role.PUBLIC), (ELITE, Role.PUBLIC), (STARTER, Role.PUBLIC),
                      (FREE, Role.PUBLIC), (ADMIN, Role.ADMIN), (PRO_COPY, Role.PUBLIC)):  # fmt: skip
        users[tid] = await profiles.seed(tid, f"u{tid}", f"u{tid}", role)
        if tid in plans:
            await ent.grant(users[tid].id, plans[tid], 30, source=EntitlementSource.GRANT,
                            now=clock.now())  # fmt: skip
    await record("XAUUSD", GOLD_PRICE, clock)
    await record("EURUSD", EUR_PRICE, clock)
    return World(clock, users)
