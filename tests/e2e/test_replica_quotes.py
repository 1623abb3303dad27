"""PostgreSQL replicas: quotes an owner's EA posts to a standby replica reach the leader's alert
watch over the replica bus and fire an alert there (the watch runs on the leader only)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from bot.app import AppRunner
from ea.client.http import SignedClient
from models.alerts import AlertCondition, AlertState, PriceAlert
from models.users import Role
from services.terminals import devices
from services.users import profiles
from tests.dbutil import postgres_server_url
from tests.e2e.conftest import OWNER, SUB, app_settings, free_port, webhook_settings
from tests.e2e.test_replica_bus import MASTER_KEY, start_replica, stop_replica
from tests.waiting import until
from tgemu import EmulatorServer

pytestmark = pytest.mark.skipif(
    postgres_server_url() is None, reason="the bus is PostgreSQL's (CI runs it)"
)
ACCOUNT = {"balance": 10000, "equity": 10000, "margin": 0, "currency": "USD", "positions": []}


async def test_owner_quotes_posted_to_a_standby_fire_an_alert_on_the_leader(
    clean_db: str, emulator: EmulatorServer, tmp_path: Path
) -> None:
    settings = app_settings(
        clean_db, emulator.url, master_key=MASTER_KEY, data_dir=str(tmp_path),
        **webhook_settings("webhook"),
    )  # fmt: skip
    leader = AppRunner(settings, migrate=False)
    await leader.start()
    port_b = free_port()
    standby = await start_replica(clean_db, emulator.url, port_b, tmp_path)
    try:
        assert leader.leadership is not None and leader.leadership.is_leader
        evaluator = leader.alert_watch.evaluator
        user = await profiles.seed(SUB, "Sam", None, Role.PUBLIC)
        now = datetime.now(UTC)
        row = await PriceAlert.create(
            user_id=user.id, symbol="XAUUSD", condition=AlertCondition.BELOW, level=D("2399.50"),
            created_at=now, updated_at=now,
        )  # fmt: skip
        await evaluator.refresh(row.id)
        made = await devices.create_device(OWNER, "Owner's MT5", owners=frozenset({OWNER}))
        async with SignedClient(f"http://127.0.0.1:{port_b}", made.device_id, made.secret) as ea:
            quote = {"symbol": "XAUUSDm", "bid": 2400.0, "ask": 2400.2}
            await ea.request("POST", "/ea/v1/account", {**ACCOUNT, "quotes": [quote]})
            await until(lambda: evaluator.index.reference("XAUUSD"), "the leader heard the quote",
                        accept=lambda price: price == D("2400.10"))  # fmt: skip
            quote = {"symbol": "XAUUSDm", "bid": 2399.3, "ask": 2399.5}  # mid 2399.40
            await ea.request("POST", "/ea/v1/account", {**ACCOUNT, "quotes": [quote]})
        fired = await until(lambda: PriceAlert.get(id=row.id), "the alert fired on the leader",
                            accept=lambda r: r.state is AlertState.FIRED)  # fmt: skip
        assert (fired.fired_count, fired.last_price) == (1, D("2399.40"))
    finally:
        await stop_replica(standby)
        await leader.stop()
