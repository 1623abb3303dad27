"""The database for one command: open it (and the secret box) around a coroutine, map what
goes wrong to one line on stderr.

Shared by the subcommands that change what the services keep (`devices`, `producers`): a
refusal of the service (`UserFacingError`) is shown in English and exits 2, as bad input; a
database that is missing or not migrated exits 2 too, with the command that fixes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from tortoise.exceptions import DBConnectionError, OperationalError

from bot.cli import CliError
from bot.cli.run import settings_or_exit
from core import db
from core.bus import Bus
from services.errors import UserFacingError
from services.events import REPLICA_EVENTS
from services.terminals import secrets as secret_box
from services.text import formatting

if TYPE_CHECKING:
    from core.bus_pg import PgBridge

T = TypeVar("T")


def run(make: Callable[[], Awaitable[T]], *, announce: bool = False) -> T:
    """Run `make` with the database open; with `announce`, on PostgreSQL the replica bus is up
    meanwhile, so what `make` announces (a revocation) reaches the running servers at once.
    (Without a bus, on SQLite, the servers find it in the database within REVOCATION_CHECK_S.)"""
    settings = settings_or_exit()

    async def main() -> T:
        await db.init_db(settings.database_url)
        key = settings.master_key
        secret_box.configure(key.get_secret_value() if key else None, settings.data_dir)
        bridge = _bridge(settings.database_url) if announce else None
        try:
            if bridge is not None:
                await bridge.start()
            return await make()
        finally:
            if bridge is not None:
                await bridge.close()  # after its notifications went out
            await db.close_db()

    try:
        return asyncio.run(main())
    except UserFacingError as exc:
        raise CliError(english(exc)) from None
    except (OperationalError, DBConnectionError) as exc:
        msg = f"database not usable ({exc}); is it migrated? run: python -m bot migrate"
        raise CliError(msg) from None


def _bridge(database_url: str) -> PgBridge | None:
    """A bus for this command, bridged to the replicas on PostgreSQL (None on SQLite)."""
    from core.bus_pg import PgBridge  # only for a revoke: asyncpg

    credentials = db.pg_credentials(database_url)
    if credentials is None:
        return None
    bus = Bus()
    bus.activate()
    return PgBridge(credentials, bus, REPLICA_EVENTS)


def english(exc: UserFacingError) -> str:
    """The refusal as the English catalog words it, on one line (the key if it cannot be
    rendered)."""
    try:
        text = formatting.render("en", exc.key, **exc.params)
    except (KeyError, IndexError, ValueError):
        return exc.key
    return " ".join(text.split())
