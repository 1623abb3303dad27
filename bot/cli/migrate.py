"""`python -m bot migrate [--to NAME | --down [NAME]] [--status]`: the one migration history."""

from __future__ import annotations

import argparse
import asyncio
import json

import asyncpg
from tortoise.exceptions import DBConnectionError, OperationalError

from bot.cli import CliError, CliFailure
from bot.cli.run import settings_or_exit
from core import db


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("migrate", help="apply (or roll back) database migrations")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--to", metavar="NAME", help="migrate forward to this migration")
    group.add_argument(
        "--down",
        metavar="NAME",
        nargs="?",
        const="__first__",
        help="roll back to NAME (all if none)",
    )
    group.add_argument("--status", action="store_true", help="print applied and pending as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    url = settings_or_exit().database_url
    for name in (args.to, args.down):
        if name not in (None, "__first__") and name not in db.known_migrations():
            known = ", ".join(db.known_migrations())
            msg = f"unknown migration {name!r}; known: {known}"
            raise CliError(msg)
    try:
        if args.status:
            print(json.dumps(asyncio.run(_status(url))))
        elif args.down:
            asyncio.run(db.migrate(url, target=args.down, backward=True))
        else:
            target = f"{db.APP_LABEL}.{args.to}" if args.to else None
            asyncio.run(db.migrate(url, target=target))
    except (OSError, DBConnectionError, OperationalError, asyncpg.PostgresError) as exc:
        msg = f"database {db.redacted(url)}: {str(exc).strip() or type(exc).__name__}"
        raise CliFailure(msg) from None
    return 0


async def _status(url: str) -> dict[str, list[str]]:
    await db.init_db(url)
    try:
        return {"applied": await db.applied_migrations(), "pending": await db.pending_migrations()}
    finally:
        await db.close_db()
