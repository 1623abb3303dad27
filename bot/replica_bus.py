"""Events between replicas over PostgreSQL LISTEN/NOTIFY, so a terminal long-polling one replica
hears at once what another replica did: a command became pending for it (the poll answers now,
not at the end of its wait), or it was revoked (its open polls end now, not after the 10 s
credentials cache); the owner's EA bars (MARKET_DATA=ea) reach the replica running the
trading loop whichever replica the EA posted them to; and a user whose role, status or language
changed is dropped from every replica's user cache. The database announces those changes
itself (a trigger, migration 0006), whoever made them: a replica, the CLI, an operator's psql.

One dedicated connection per replica, outside Tortoise's pool. Each event carries the sending
replica's id, so a replica ignores its own (it already acted locally). If the connection
drops, events from others are missed until it is back (polls still answer by the end of their
wait); it reconnects every `RECONNECT_S`, and on reconnecting drops the whole user cache (a
change may have been missed). SQLite has one replica: no bus (core/db_changes.py instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.terminals import commands as ea_commands
from services.terminals import device_auth
from services.terminals import reports as terminal_reports
from trading.candles import Bar, to_unix_s

log = logging.getLogger(__name__)
CHANNEL = "signaldesk_events"
WAKE_CHUNK = 500  # device ids per NOTIFY: payloads must stay under PostgreSQL's 8,000 bytes
BAR_CHUNK = 50  # bars per NOTIFY (about 90 bytes each)
RECONNECT_S = 5.0


def _ignore_user(_telegram_id: int) -> None:
    return None


def _ignore() -> None:
    return None


class ReplicaBus:
    def __init__(
        self,
        credentials: dict[str, Any],
        *,
        on_user_changed: Callable[[int], None] = _ignore_user,
        on_missed: Callable[[], None] = _ignore,
    ) -> None:
        self._credentials = credentials
        self.on_user_changed = on_user_changed  # a user's role, status or language changed
        self.on_missed = on_missed  # reconnected: events may have been missed meanwhile
        self.origin = secrets.token_hex(8)
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()  # one statement at a time on the connection
        self._unsubscribe: list[Callable[[], None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._watch: asyncio.Task[None] | None = None
        self.received = 0  # events from other replicas acted on
        self.listens = 0  # connections that started listening (the first, then each reconnection)

    async def start(self) -> None:
        """Listen (a failure here is a warning: the bus reconnects on its own), then publish
        this replica's wake-ups and revocations."""
        await self._connect()
        self._unsubscribe = [
            ea_commands.add_wake_listener(self._publish_wake),
            device_auth.add_revocation_listener(self._publish_revoked),
            terminal_reports.add_bar_listener(self._publish_bars),
        ]
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
                **self._credentials, timeout=RECONNECT_S,
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
                if self._conn is not None:
                    self.on_missed()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            event = json.loads(payload)
        except ValueError:
            log.warning("replica bus: unreadable event", extra={"payload": payload[:200]})
            return
        if not isinstance(event, dict) or event.get("origin") == self.origin:
            return
        self.received += 1
        user = event.get("user")
        if isinstance(user, int) and not isinstance(user, bool):
            self.on_user_changed(user)
        if isinstance(device_id := event.get("revoked"), str):
            device_auth.mark_revoked(device_id)
        bars = event.get("bars")
        if isinstance(bars, list) and isinstance(symbol := event.get("symbol"), str):
            _push_bars(symbol, bars)
        pks = event.get("wake")
        if isinstance(pks, list):
            ea_commands.notify(
                [pk for pk in pks if isinstance(pk, int)], exclude=self._publish_wake
            )

    # -- publishing ------------------------------------------------------------------------
    def _publish_wake(self, device_pks: Sequence[int]) -> None:
        pks = list(device_pks)
        for start in range(0, len(pks), WAKE_CHUNK):
            self._send({"wake": pks[start : start + WAKE_CHUNK]})

    def _publish_bars(self, symbol: str, bars: Sequence[Bar]) -> None:
        rows = [[to_unix_s(b.time), b.open, b.high, b.low, b.close, b.volume] for b in bars]
        for start in range(0, len(rows), BAR_CHUNK):
            self._send({"symbol": symbol, "bars": rows[start : start + BAR_CHUNK]})

    def _publish_revoked(self, device_id: str, device_pk: int) -> None:
        self._send({"revoked": device_id, "wake": [device_pk]})

    def _send(self, event: dict[str, Any]) -> None:
        payload = json.dumps({**event, "origin": self.origin}, separators=(",", ":"))
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


def _push_bars(symbol: str, rows: list[Any]) -> None:
    """Owners' bars another replica accepted: into our feed (used if we run the loop)."""
    try:
        bars = [
            Bar(datetime.fromtimestamp(t, UTC), o, h, low, c, v) for t, o, h, low, c, v in rows
        ]
    except (TypeError, ValueError) as exc:
        log.warning("replica bus: bad bars", extra={"symbol": symbol, "error": str(exc)})
        return
    terminal_reports.push_relayed(symbol, bars)


def bus_for(
    credentials: dict[str, Any] | None,
    *,
    on_user_changed: Callable[[int], None] = _ignore_user,
    on_missed: Callable[[], None] = _ignore,
) -> ReplicaBus | None:
    """A bus for PostgreSQL credentials; None (no bus) for SQLite."""
    if credentials is None:
        return None
    return ReplicaBus(credentials, on_user_changed=on_user_changed, on_missed=on_missed)
