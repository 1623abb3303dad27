"""The optional report fields over the real signed protocol: a fill's spread, the account's
broker, and bid/ask quotes reaching the price alerts (mapped, filtered, fired via the outbox)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import aiohttp
import pytest

from bot.app import AppRunner
from models.alerts import AlertCondition, AlertState, PriceAlert
from models.billing import EntitlementSource
from models.devices import Device, Execution
from models.notifications import Notification, NotificationStatus
from models.users import Role
from services.billing import entitlements as ent
from services.users import profiles
from tests.e2e.conftest import text
from tests.ea.conftest import Terminal, new_terminal
from tests.ea.test_api import ACK, make_command
from tests.waiting import until
from tgemu import EmulatorServer

pytestmark = pytest.mark.asyncio(loop_scope="module")
OWNER_TID, TRADER_TID = 720_001, 720_002
ACCOUNT = {"balance": 10000, "equity": 10000, "margin": 0, "currency": "USD", "positions": []}


async def owner_terminal(app: AppRunner, http: aiohttp.ClientSession) -> Terminal:
    await profiles.seed(OWNER_TID, "Olga", "olga", Role.OWNER)
    return await new_terminal(app.base_url, http, OWNER_TID)


async def account(t: Terminal, **fields: Any) -> int:
    return (await t.call("POST", "/ea/v1/account", {**ACCOUNT, **fields})).status


async def filled(t: Terminal, key: str, **fields: Any) -> Execution:
    command_id = await make_command(t, key)
    reply = await t.call("POST", "/ea/v1/acks", {**ACK, "command_id": command_id, **fields})
    assert reply.status == 200, reply.json
    return await Execution.get(command_id=command_id)


async def test_a_fill_stores_the_spread_it_reports(terminal: Terminal) -> None:
    assert (await filled(terminal, "spread", spread_points=17)).spread_points == 17
    assert (await filled(terminal, "tight", spread_points=0)).spread_points == 0
    assert (await filled(terminal, "older-ea")).spread_points is None  # an EA without the field


async def test_the_broker_is_stored_and_follows_a_change(terminal: Terminal) -> None:
    assert await account(terminal) == 204  # an older EA: no broker
    assert (await Device.get(id=terminal.pk)).broker is None
    assert await account(terminal, broker="Exness (SC) Ltd") == 204
    assert (await Device.get(id=terminal.pk)).broker == "Exness (SC) Ltd"
    assert await account(terminal) == 204  # not reported this time: what we knew stays
    assert (await Device.get(id=terminal.pk)).broker == "Exness (SC) Ltd"
    assert await account(terminal, broker="IC Markets (EU) Ltd") == 204
    assert (await Device.get(id=terminal.pk)).broker == "IC Markets (EU) Ltd"


QUOTE = {"symbol": "XAUUSDm", "bid": 2400.1, "ask": 2400.4}
BAD = [
    ({"spread_points": -1}, "spread_points"),
    ({"spread_points": 100_001}, "spread_points"),
    ({"spread_points": 1.5}, "spread_points"),
    ({"spread_points": "12"}, "spread_points"),
    ({"spread_points": True}, "spread_points"),
]
BAD_ACCOUNT = [
    ({"broker": "x" * 65}, "broker"),
    ({"broker": 7}, "broker"),
    ({"broker": "bad\u0000name"}, "broker"),
    ({"quotes": {"symbol": "XAUUSD"}}, "quotes"),
    ({"quotes": [QUOTE] * 201}, "quotes"),
    ({"quotes": ["XAUUSD"]}, "quotes[0]"),
    ({"quotes": [{**QUOTE, "symbol": ""}]}, "quotes[0].symbol"),
    ({"quotes": [{**QUOTE, "symbol": "X" * 33}]}, "quotes[0].symbol"),
    ({"quotes": [{"symbol": "XAUUSD", "ask": 1}]}, "quotes[0].bid"),
    ({"quotes": [QUOTE, {**QUOTE, "bid": 0}]}, "quotes[1].bid"),
    ({"quotes": [{**QUOTE, "bid": -2400.1}]}, "quotes[0].bid"),
    ({"quotes": [{**QUOTE, "ask": "2400.4"}]}, "quotes[0].ask"),
    ({"quotes": [{**QUOTE, "ask": 0}]}, "quotes[0].ask"),
    ({"quotes": [{**QUOTE, "ask": 1e16}]}, "quotes[0].ask"),
    ({"quotes": [{**QUOTE, "bid": 2400.5}]}, "quotes[0].ask"),  # the ask below the bid
]


@pytest.mark.parametrize(("fields", "where"), BAD)
async def test_a_bad_spread_is_refused_naming_the_field(
    terminal: Terminal, fields: dict[str, Any], where: str
) -> None:
    command_id = await make_command(terminal, f"bad-{where}-{fields[where]!r}")
    reply = await terminal.call("POST", "/ea/v1/acks", {**ACK, "command_id": command_id, **fields})
    assert (reply.status, reply.content_type) == (422, "application/problem+json")
    assert reply.json["field"] == where
    assert not await Execution.exists(command_id=command_id)


@pytest.mark.parametrize(("fields", "where"), BAD_ACCOUNT)
async def test_a_bad_broker_or_quote_is_refused_naming_the_field(
    terminal: Terminal, fields: dict[str, Any], where: str
) -> None:
    reply = await terminal.call("POST", "/ea/v1/account", {**ACCOUNT, **fields})
    assert (reply.status, reply.content_type) == (422, "application/problem+json")
    assert reply.json["field"] == where, reply.json
    assert (await Device.get(id=terminal.pk)).broker is None


async def alert(telegram_id: int, symbol: str, condition: str, level: str) -> PriceAlert:
    """An active alert of a Pro user, watched from now on (what `alerts.service.create` does)."""
    user = await profiles.seed(telegram_id, "Sam", None, Role.PUBLIC)
    now = datetime.now(UTC)
    await ent.grant(user.id, "pro", 30, source=EntitlementSource.GRANT, now=now)
    return await PriceAlert.create(
        user_id=user.id, symbol=symbol, condition=AlertCondition(condition), level=D(level),
        created_at=now, updated_at=now,
    )  # fmt: skip


async def evaluated_after(app: AppRunner, before: int) -> int:
    evaluator = app.alert_watch.evaluator
    return await until(
        lambda: evaluator.evaluated, "quotes evaluated", accept=lambda n: n > before
    )


async def test_owner_quotes_fire_an_alert_through_the_outbox(
    app: AppRunner, http: aiohttp.ClientSession, emulator: EmulatorServer
) -> None:
    async with emulator.client() as tg:
        await tg.add_user(TRADER_TID, "Sam")  # a chat the sender can reach
    olga = await owner_terminal(app, http)
    watch = app.alert_watch
    assert watch.running  # the only replica leads
    evaluator = watch.evaluator
    row = await alert(TRADER_TID, "XAUUSD", "above", "2400.20")
    await evaluator.refresh(row.id)

    start = evaluator.evaluated
    unknown = {"symbol": "ZZTOP.pro", "bid": 3, "ask": 4}
    assert await account(olga, quotes=[unknown, {**QUOTE, "bid": 2399.9, "ask": 2400.1}]) == 204
    await evaluated_after(app, start)  # the reference: mid 2400.00, below the level
    assert evaluator.index.reference("XAUUSD") == D("2400.00")
    assert evaluator.index.reference("ZZTOP") is None  # not one of our symbols: dropped
    assert (await PriceAlert.get(id=row.id)).state is AlertState.ACTIVE

    # A subscriber's terminal may sign any price: its quotes never reach the alerts.
    trader = await new_terminal(app.base_url, http)
    start = evaluator.evaluated
    assert await account(trader, quotes=[{**QUOTE, "bid": 2410, "ask": 2410.4}]) == 204
    assert await account(olga, quotes=[{"symbol": "EURUSD.r", "bid": 1.085, "ask": 1.0851}]) == 204
    await evaluated_after(app, start)
    assert evaluator.evaluated == start + 1  # only the owner's EURUSD
    assert evaluator.index.reference("XAUUSD") == D("2400.00")

    # The level lies between the new bid and the new mid: the mid is what counts.
    start = evaluator.evaluated
    assert await account(olga, quotes=[{**QUOTE, "bid": 2400.1, "ask": 2400.5}]) == 204
    await evaluated_after(app, start)
    fired = await PriceAlert.get(id=row.id)
    assert (fired.state, fired.fired_count, fired.last_price) == (
        AlertState.FIRED, 1, D("2400.30")
    )  # fmt: skip
    (notice,) = await Notification.filter(kind="alert", chat_id=TRADER_TID)
    assert notice.dedupe_key == f"alert:{row.id}:1"
    assert "2,400.20" in notice.payload["text"] and "2,400.30" in notice.payload["text"]
    async with emulator.client() as tg:
        message = await tg.wait_for(TRADER_TID, lambda m: "🔔" in text(m), after_seq=0)
    assert text(message).startswith("🔔 XAUUSD rose to 2,400.20"), text(message)
    sent = await until(
        lambda: Notification.get(id=notice.id), "the alert marked sent",
        accept=lambda n: n.status is NotificationStatus.SENT,
    )  # fmt: skip
    assert sent.sent_message_id == message["message_id"]
