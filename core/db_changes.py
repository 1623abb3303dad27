"""Noticing, on SQLite, that another process (the CLI) changed the database.

On PostgreSQL the replica bus hears every change of a user's role, status or language from a
database trigger (migration 0006). SQLite cannot notify another process, so the user cache asks
instead: ``PRAGMA data_version`` on our own connection changes exactly when *another*
connection committed a write to the file since we last asked (our own writes do not change it).
It is read from the WAL index in shared memory: no I/O, no lock on the database.

The answer is reused for `REUSE_S`, and concurrent callers share one query, so a busy bot pays
a handful of PRAGMAs a second and an idle one none. A role changed by the CLI is therefore
honoured by the first update that arrives more than `REUSE_S` after the CLI committed (the CLI
process takes far longer than that to even start). What changed is unknown, so the whole cache
is dropped: the next update of each user costs one shared query, as after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from tortoise import connections

log = logging.getLogger(__name__)
REUSE_S = 0.05


class SqliteDataVersion:
    """A `middlewares.users.ChangeProbe` for SQLite: True once after another process wrote."""

    def __init__(
        self, reuse_s: float = REUSE_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.reuse_s = reuse_s
        self._clock = clock
        self._version: int | None = None
        self._checked = -float("inf")
        self._pending: asyncio.Future[bool] | None = None

    async def changed(self) -> bool:
        if self._clock() - self._checked < self.reuse_s:
            return False
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._read())
            self._pending.add_done_callback(self._done)
        return await asyncio.shield(self._pending)

    def _done(self, _future: asyncio.Future[bool]) -> None:
        self._pending = None

    async def _read(self) -> bool:
        try:
            rows = await connections.get("default").execute_query_dict("PRAGMA data_version")
            version = int(next(iter(rows[0].values())))
        except Exception as exc:  # unknown: forget the cache rather than trust it
            log.warning("user cache: cannot read data_version", extra={"error": repr(exc)})
            return True
        self._checked = self._clock()
        before, self._version = self._version, version
        return before is not None and before != version


def probe_for(database_url: str) -> SqliteDataVersion | None:
    """A probe for SQLite; None for PostgreSQL (its replica bus carries the changes)."""
    return SqliteDataVersion() if database_url.startswith("sqlite") else None
