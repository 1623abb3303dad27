"""The bus between replicas: `ReplicaEvent`s over PostgreSQL LISTEN/NOTIFY.

So a terminal long-polling one replica hears at once what another replica did: a command
became pending for it (the poll answers now, not at the end of its wait), or it was revoked
(its open polls end now, not after the credentials cache's TTL); the owner's EA bars
(MARKET_DATA=ea) reach the replica running the trading loop whichever replica the EA posted
them to; and a user whose role, status or language changed is dropped from every replica's
user cache. The database announces those user changes itself (a trigger, migration 0006),
whoever made them: a replica, the CLI, an operator's psql.

The bridge subscribes to the event types it is given on the local bus and sends each as JSON
(`ReplicaEvent.to_wire`, plus this replica's id); what it hears from others it decodes with
every type's `from_wire` and publishes on the local bus. It ignores its own events (this
replica already acted on them) and never sends back what it received.

One dedicated connection per replica, outside Tortoise's pool. If the connection drops,
events from others are missed until it is back (polls still answer by the end of their wait);
it reconnects every `RECONNECT_S`, and on reconnecting publishes `on_reconnect()` (e.g. "every
cached user is stale": a change may have been missed). SQLite has one replica: no bridge
(core/db_changes.py instead).

Imports: core and asyncpg only (the events are given to it by the assembly).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from core.bus import Bus, Event, ReplicaEvent

log = logging.getLogger(__name__)
CHANNEL = "signaldesk_events"
RECONNECT_S = 5.0
CONNECT_TIMEOUT_S = 10.0  # one attempt to connect and listen (its own: a loaded server is slow)


class PgBridge:
    def __init__(
        self,
        credentials: dict[str, Any],
        bus: Bus,
        events: Sequence[type[ReplicaEvent]],
        *,
        on_reconnect: Callable[[], Event | None] = lambda: None,
    ) -> None:
        self._credentials = credentials
        self._bus = bus
        self._events = tuple(events)
        self._on_reconnect = on_reconnect
        self.origin = secrets.token_hex(8)
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()  # one statement at a time on the connection
        self._unsubscribe: list[Callable[[], None]] = []
        self._inbound: Event | None = None  # being published locally: not to be sent back
        self._tasks: set[asyncio.Task[None]] = set()
        self._watch: asyncio.Task[None] | None = None
        self.received = 0  # events from other replicas acted on
        self.listens = 0  # connections that started listening (the first, then each reconnection)

    async def start(self) -> None:
        """Listen (a failure here is a warning: the bridge reconnects on its own), then forward
        this replica's events."""
        await self._connect()
        self._unsubscribe = [self._bus.subscribe(t, self._forward) for t in self._events]
        self._watch = asyncio.create_task(self._keep_connected(), name="replica-bus")

    async def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await asyncio.gather(*self._tasks, return_exceptions=True)
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), RECONNECT_S)

    # -- receiving -------------------------------------------------------------------------
    async def _connect(self) -> None:
        conn: asyncpg.Connection | None = None
        try:
            conn = await asyncpg.connect(
                **self._credentials, timeout=CONNECT_TIMEOUT_S,
                server_settings={"application_name": "signaldesk-bus"},
            )  # fmt: skip
            await conn.add_listener(CHANNEL, self._on_notify)
        except Exception as exc:  # any failure to listen: warn, and the watch tries again
            if conn is not None:
                conn.terminate()
            log.warning("replica bus: cannot listen; will retry", extra={"error": repr(exc)})
            return
        self._conn = conn
        self.listens += 1

    async def _keep_connected(self) -> None:
        while True:
            await asyncio.sleep(RECONNECT_S)
            if self._conn is None or self._conn.is_closed():
                self._conn = None
                await self._connect()
                if self._conn is not None and (missed := self._on_reconnect()) is not None:
                    self._publish_locally(missed)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            data = json.loads(payload)
        except ValueError:
            log.warning("replica bus: unreadable event", extra={"payload": payload[:200]})
            return
        if not isinstance(data, dict) or data.get("origin") == self.origin:
            return
        events = [e for t in self._events if (e := t.from_wire(data)) is not None]
        if not events:
            log.warning("replica bus: unknown event", extra={"payload": payload[:200]})
            return
        self.received += 1
        for event in events:
            self._publish_locally(event)

    def _publish_locally(self, event: Event) -> None:
        self._inbound = event
        try:
            self._bus.publish(event)
        finally:
            self._inbound = None

    # -- sending ---------------------------------------------------------------------------
    def _forward(self, event: ReplicaEvent) -> None:
        if event is self._inbound:
            return
        for data in event.to_wire():
            self._send(data)

    def _send(self, data: dict[str, Any]) -> None:
        payload = json.dumps({**data, "origin": self.origin}, separators=(",", ":"))
        task = asyncio.get_running_loop().create_task(self._notify(payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _notify(self, payload: str) -> None:
        conn = self._conn
        if conn is None or conn.is_closed():
            return  # others learn at the end of their polls' wait, or from the database
        try:
            async with self._lock:
                await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("replica bus: could not publish", extra={"error": repr(exc)})
