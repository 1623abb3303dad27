"""`python -m bot devices add|list|revoke`: terminals for operators and tests.

``devices add --user TELEGRAM_ID --name NAME [--mode approval|copy] [--json]`` prints the
device id and its secret (the only time the secret is shown), creating the user if new.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from tortoise.exceptions import DBConnectionError, OperationalError

from bot.cli import CliError, int_option
from bot.cli.run import settings_or_exit
from core import db
from core.bus import Bus
from services.errors import UserFacingError
from services.events import REPLICA_EVENTS
from services.terminals import devices
from services.terminals import secrets as secret_box
from services.text import formatting
from services.text.numbers import TELEGRAM_ID

if TYPE_CHECKING:
    from core.bus_pg import PgBridge

T = TypeVar("T")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("devices", help="manage terminals (MetaTrader + our EA)")
    sub = parser.add_subparsers(dest="devices_command", required=True)
    add = sub.add_parser("add", help="register a terminal; prints its id and secret once")
    add.add_argument("--user", required=True, help="the owner's Telegram id")
    add.add_argument("--name", required=True)
    add.add_argument("--mode", choices=("approval", "copy"), default="approval")
    add.add_argument("--encrypt", action="store_true", help="encrypt responses to this device")
    add.add_argument("--json", action="store_true")
    add.set_defaults(func=add_device)
    lst = sub.add_parser("list", help="list terminals")
    lst.add_argument("--user", help="only this Telegram id's terminals")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=list_devices)
    revoke = sub.add_parser("revoke", help="revoke a terminal now")
    revoke.add_argument("device_id")
    revoke.set_defaults(func=revoke_device)


def _run(make: Callable[[], Awaitable[T]], *, announce: bool = False) -> T:
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
        raise CliError(_english(exc)) from None
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


def _english(exc: UserFacingError) -> str:
    try:
        return formatting.render("en", exc.key, **exc.params)
    except (KeyError, IndexError, ValueError):
        return exc.key


def _row(info: devices.DeviceInfo) -> dict[str, Any]:
    return {
        "device_id": info.device_id,
        "user": info.user_telegram_id,
        "name": info.name,
        "mode": info.mode.value,
        "status": info.status.value,
        "encrypt_payloads": info.encrypt_payloads,
        "last_seen_at": info.last_seen_at.isoformat() if info.last_seen_at else None,
        "created_at": info.created_at.isoformat(),
    }


def add_device(args: argparse.Namespace) -> int:
    user = int_option(args.user, TELEGRAM_ID, "--user")
    owners = settings_or_exit().owners
    made = _run(
        lambda: devices.create_device(
            user,
            args.name,
            args.mode,
            encrypt_payloads=args.encrypt,
            by_operator=True,
            owners=owners,
        )
    )
    if args.json:
        print(json.dumps({"device_id": made.device_id, "secret": made.secret}))
    else:
        print(f"device_id: {made.device_id}\nsecret:    {made.secret}")
        print("The secret is shown only this once: paste it into the EA's inputs now.")
    return 0


def list_devices(args: argparse.Namespace) -> int:
    user = None if args.user is None else int_option(args.user, TELEGRAM_ID, "--user")
    rows = _run(lambda: devices.list_all(None, telegram_id=user))
    if args.json:
        print(json.dumps([_row(r) for r in rows], ensure_ascii=False))
        return 0
    for r in rows:
        seen = r.last_seen_at.strftime("%Y-%m-%d %H:%M") if r.last_seen_at else "never"
        print(
            f"{r.device_id}  {r.user_telegram_id:>12}  {r.mode.value:<8}  "
            f"{r.status.value:<8}  seen {seen:<16}  {r.name}"
        )
    return 0


def revoke_device(args: argparse.Namespace) -> int:
    info = _run(lambda: devices.revoke(None, args.device_id), announce=True)
    print(f"{info.device_id} revoked")
    return 0
