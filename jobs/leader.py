"""Scheduler leadership: exactly one replica runs the singleton jobs (the outbox sender, the
trading loop and terminal housekeeping); the others serve webhooks and the EA API and stand by.

PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) held on a dedicated
connection outside Tortoise's pool. The server releases it the moment that connection or its
process dies, so a standby replica takes over within one retry interval; the leader checks its
connection every interval and steps down as soon as it cannot prove it still holds the lock.
SQLite lives on one machine: an exclusive ``flock`` on a file next to the database, which the
kernel releases when the process dies. An in-memory database has one process: always leader.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import asyncpg
from tortoise.backends.base.config_generator import expand_db_url

from core.db import pg_credentials

log = logging.getLogger(__name__)
# One lock per database: advisory lock keys are scoped to the current database.
LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"signaldesk:scheduler-leader").digest()[:8], "big", signed=True
)
CHECK_TIMEOUT_S = 5.0


class LeaderLock(Protocol):
    async def acquire(self) -> bool:
        """Try once, without waiting: True when we hold the lock now."""

    async def check(self) -> bool:
        """Do we provably still hold it? False means it is lost (and released)."""

    async def release(self) -> None: ...


class PostgresLeaderLock:
    """`pg_try_advisory_lock` on a connection of its own (the lock lives as long as it does)."""

    def __init__(self, credentials: dict[str, Any], key: int = LOCK_KEY) -> None:
        self._credentials = credentials
        self._key = key
        self._conn: asyncpg.Connection | None = None

    async def acquire(self) -> bool:
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(
                    **self._credentials, timeout=CHECK_TIMEOUT_S, server_settings={
                        "application_name": "signaldesk-leader"
                    }
                )  # fmt: skip
            got = await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self._key)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.warning("leader election: database unreachable", extra={"error": repr(exc)})
            await self._close()
            return False
        return bool(got)

    async def check(self) -> bool:
        if self._conn is None or self._conn.is_closed():
            return False
        try:
            held = await asyncio.wait_for(
                self._conn.fetchval(  # this connection holds no other advisory lock
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
                    " AND granted AND pid = pg_backend_pid())"
                ),
                CHECK_TIMEOUT_S,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.warning("leader lock connection lost", extra={"error": repr(exc)})
            await self._close()
            return False
        return bool(held)

    async def release(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await self._conn.fetchval("SELECT pg_advisory_unlock($1)", self._key)
        await self._close()

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()  # never wait on a connection we no longer trust


class FileLeaderLock:
    """An exclusive, non-blocking ``flock`` (one per open file: also exclusive in-process)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    async def acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        with contextlib.suppress(OSError):  # a lock file left 0644 by an older version
            os.fchmod(fd, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    async def check(self) -> bool:
        return self._fd is not None

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class SoleProcessLock:
    """An in-memory database belongs to one process: it always leads."""

    async def acquire(self) -> bool:
        return True

    async def check(self) -> bool:
        return True

    async def release(self) -> None:
        return None


def lock_for(database_url: str) -> LeaderLock:
    """The leader lock that fits the database behind `database_url`."""
    credentials = pg_credentials(database_url)
    if credentials is not None:
        return PostgresLeaderLock(credentials)
    path = str(expand_db_url(database_url)["credentials"].get("file_path", ":memory:"))
    if ":memory:" in path:
        return SoleProcessLock()
    return FileLeaderLock(Path(path + ".leader"))


class Leadership:
    """Campaign for the lock every `retry_s`; run `on_elected` when won, `on_deposed` when lost.

    `start` makes the first attempt before returning, so a lone replica leads from the start.
    """

    def __init__(
        self,
        lock: LeaderLock,
        *,
        on_elected: Callable[[], Awaitable[None]],
        on_deposed: Callable[[], Awaitable[None]],
        retry_s: float = 5.0,
    ) -> None:
        self.lock = lock
        self.on_elected = on_elected
        self.on_deposed = on_deposed
        self.retry_s = retry_s
        self.is_leader = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        """First campaign, then the watch. A failure to start the duties here is raised (bad
        configuration should stop start-up); later ones are logged and the lock handed back."""
        await self._campaign(raise_errors=True)
        self._task = asyncio.create_task(self._watch(), name="leader-watch")

    async def stop_watching(self) -> None:
        """No more campaigns or checks; the duties, if any, keep running (see `resign`).

        Waits for a campaign in progress instead of cancelling it: starting the duties runs
        database transactions, and cancelling one could leave SQLite's connection locked."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def resign(self) -> None:
        """Hand the lock back so a standby takes over at once (after the duties stopped)."""
        self.is_leader = False
        await self.lock.release()

    async def _watch(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.retry_s)
            if self._stopping.is_set():
                return
            try:
                if self.is_leader:
                    if not await self.lock.check():
                        log.error("lost the scheduler lock: stopping the singleton jobs")
                        await self._step_down()
                else:
                    await self._campaign()
            except Exception:  # the watch must outlive any one bad round
                log.exception("leader election round failed; trying again")

    async def _campaign(self, *, raise_errors: bool = False) -> None:
        if not await self.lock.acquire():
            return
        try:
            await self.on_elected()
        except Exception:
            log.exception("could not start the singleton jobs; giving the lock back")
            await self._step_down()
            if raise_errors:
                raise
            return
        self.is_leader = True
        log.info("elected scheduler leader")

    async def _step_down(self) -> None:
        try:
            await self.on_deposed()
        finally:
            self.is_leader = False
            await self.lock.release()
