"""The replica bridge on its own: it hears other replicas' events and publishes them on the local
bus, ignores its own, never sends back what it heard, survives bad payloads and reconnects when
its connection is cut."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator

import asyncpg
import pytest

from core import bus_pg, db
from core.bus import Bus
from core.bus_pg import CHANNEL, PgBridge
from services.events import REPLICA_EVENTS, CommandsPending, DeviceRevoked, UserChanged
from tests.buses import heard
from tests.dbutil import create_pg_database, drop_pg_database, postgres_server_url
from tests.waiting import until

PG_SERVER = postgres_server_url() or os.environ.get("PG_TEST_URL")


@pytest.fixture
async def credentials() -> AsyncIterator[dict[str, object]]:
    if not PG_SERVER:
        pytest.skip("no PostgreSQL server: set PG_TEST_URL or DATABASE_URL (CI does)")
    url = await create_pg_database(PG_SERVER, prefix="sdbus")
    found = db.pg_credentials(url)
    assert found is not None
    yield found
    await drop_pg_database(url)


def _from(payload: str, origin: str) -> bool:
    try:
        event = json.loads(payload)
    except ValueError:
        return False
    return isinstance(event, dict) and event.get("origin") == origin


async def test_hears_others_ignores_itself_and_reconnects(
    credentials: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bus_pg, "RECONNECT_S", 0.05)
    events = Bus()
    pending = heard(events, CommandsPending)
    woken: list[list[int]] = []
    events.subscribe(CommandsPending, lambda e: woken.append(list(e.device_ids)))
    bus = PgBridge(credentials, events, REPLICA_EVENTS)
    await bus.start()
    await until(lambda: bus.listens, "the bus listening", accept=lambda n: n == 1)
    other = await asyncpg.connect(**credentials)  # type: ignore[arg-type]
    sent: list[str] = []
    await other.add_listener(CHANNEL, lambda *args: sent.append(args[3]))

    async def send(event: object) -> None:
        await other.execute("SELECT pg_notify($1, $2)", CHANNEL, json.dumps(event))

    try:
        await send({"wake": [7, 8], "origin": "replica-2"})
        await until(lambda: woken, "the first event", accept=lambda w: w == [[7, 8]])
        await send({"wake": [9], "origin": bus.origin})  # our own: already acted on
        await send("not an event")
        await other.execute("SELECT pg_notify($1, 'not json')", CHANNEL)
        await send({"wake": [10], "origin": "replica-2"})
        await until(lambda: woken, "the next good event", accept=lambda w: len(w) == 2)
        assert woken == [[7, 8], [10]]

        cut = await other.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = 'signaldesk-bus' AND datname = current_database()"
        )
        assert cut == 1
        await until(lambda: bus.listens, "the bus listening again", accept=lambda n: n == 2)
        await send({"wake": [11], "origin": "replica-2"})
        await until(
            lambda: woken[-1], "the event after the reconnection", accept=lambda w: w == [11]
        )
        events.publish(DeviceRevoked("dev_mine"))  # ours: to the others, with our origin
        await until(
            lambda: sent,
            "our event on the channel",
            accept=lambda s: any("dev_mine" in p for p in s),
        )
        faked = {"wake": [9], "origin": bus.origin}  # the test's, above
        ours = [json.loads(p) for p in sent if _from(p, bus.origin)]
        assert [e for e in ours if e != faked] == [{"revoked": "dev_mine", "origin": bus.origin}]
    finally:
        await other.close()
        await bus.close()
    assert bus.received == 3
    assert len(pending) == 3


async def test_a_users_change_drops_him_from_the_cache_and_a_reconnect_drops_everyone(
    credentials: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bus_pg, "RECONNECT_S", 0.05)
    events = Bus()
    changed: list[int] = []
    missed: list[bool] = []
    events.subscribe(
        UserChanged,
        lambda e: changed.append(e.telegram_id) if e.telegram_id else missed.append(True),
    )
    bus = PgBridge(credentials, events, REPLICA_EVENTS, on_reconnect=lambda: UserChanged(None))
    await bus.start()
    other = await asyncpg.connect(**credentials)  # type: ignore[arg-type]
    try:
        # what the users trigger sends (migration 0006): no origin, so every replica acts
        await other.execute("SELECT pg_notify($1, $2)", CHANNEL, '{"user" : 5}')
        await until(lambda: changed == [5])
        for bad in ('{"user": true}', '{"user": "5"}', '{"user": null}'):
            await other.execute("SELECT pg_notify($1, $2)", CHANNEL, bad)
        await other.execute("SELECT pg_notify($1, $2)", CHANNEL, '{"user": 6}')
        await until(lambda: changed == [5, 6])
        assert missed == []
        await other.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = 'signaldesk-bus' AND datname = current_database()"
        )
        await until(lambda: missed == [True])  # events may have been lost meanwhile
    finally:
        await other.close()
        await bus.close()
