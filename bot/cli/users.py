"""`python -m bot users show <id|@username> [--json]` and `users list`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
from typing import Any

from bot import db
from bot.cli import CliError
from bot.cli.run import settings_or_exit
from services import users as users_service
from services.errors import UserFacingError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("users", help="inspect users")
    sub = parser.add_subparsers(dest="users_command", required=True)
    show = sub.add_parser("show", help="show one user")
    show.add_argument("user", help="Telegram id or @username")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=show_user)
    lst = sub.add_parser("list", help="list recent users")
    lst.add_argument("--search", default="")
    lst.add_argument("--limit", type=int, default=20)
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=list_users)


def _as_dict(info: users_service.UserInfo) -> dict[str, Any]:
    data = dataclasses.asdict(info)
    data["role"] = info.role.value
    data["status"] = info.status.value
    data["created_at"] = info.created_at.isoformat()
    return data


async def _with_db(url: str, coro_factory: Any) -> Any:
    await db.init_db(url)
    try:
        return await coro_factory()
    finally:
        await db.close_db()


def show_user(args: argparse.Namespace) -> int:
    url = settings_or_exit().database_url
    try:
        info = asyncio.run(_with_db(url, lambda: users_service.find(args.user)))
    except UserFacingError as exc:
        msg = f"no such user: {args.user} ({exc.key})"
        raise CliError(msg) from None
    data = _as_dict(info)
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        for key, value in data.items():
            print(f"{key:>15}: {value}")
    return 0


def list_users(args: argparse.Namespace) -> int:
    if args.limit < 1:
        msg = f"--limit must be a positive number of users, got {args.limit}"
        raise CliError(msg)
    url = settings_or_exit().database_url
    rows = asyncio.run(_with_db(url, lambda: users_service.search(args.search, args.limit)))
    if args.json:
        print(json.dumps([_as_dict(r) for r in rows], ensure_ascii=False))
    else:
        for r in rows:
            print(
                f"{r.telegram_id:>12}  {r.role.value:<10}  {r.status.value:<12}  {r.display_name}"
            )
    return 0
