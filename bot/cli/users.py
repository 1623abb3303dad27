"""`python -m bot users show <id|@username> [--json]`, `users list`, and the operator's access
changes: `users role <user> <public|subscriber|admin>`, `users ban <user>`, `users unban <user>`.

Changes go through `services.users.access` like the chat's /role and /ban (audited with `via=cli`, the
user told in their language through the outbox, which the running bot's sender delivers). The
running bot stops serving its cached copy of the user at once: on PostgreSQL the database
announces the change on the replica bus, on SQLite the bot notices another process's write
(core/db_changes.py).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
from typing import Any

from bot.cli import CliError, int_option
from bot.cli.run import settings_or_exit
from core import db
from services.errors import InvalidInput, UserFacingError
from services.text.numbers import LIST_LIMIT, TELEGRAM_ID
from services.users import access
from services.users import profiles as users_service


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("users", help="inspect users")
    sub = parser.add_subparsers(dest="users_command", required=True)
    show = sub.add_parser("show", help="show one user")
    show.add_argument("user", help="Telegram id or @username")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=show_user)
    lst = sub.add_parser("list", help="list recent users")
    lst.add_argument("--search", default="")
    lst.add_argument("--limit", default=20, help="how many (1 to 1000, default 20)")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=list_users)
    role = sub.add_parser("role", help="change a user's role (as the owner would with /role)")
    role.add_argument("user", help="Telegram id or @username")
    role.add_argument("role", help="public, subscriber or admin")
    role.add_argument("--json", action="store_true")
    role.set_defaults(func=change_role)
    for name in ("ban", "unban"):
        ban = sub.add_parser(name, help=f"{name} a user (as an admin would with /{name})")
        ban.add_argument("user", help="Telegram id or @username")
        ban.add_argument("--json", action="store_true")
        ban.set_defaults(func=change_ban, banned=name == "ban")


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


def _print(info: users_service.UserInfo, as_json: bool) -> None:
    data = _as_dict(info)
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        for key, value in data.items():
            print(f"{key:>15}: {value}")


def show_user(args: argparse.Namespace) -> int:
    url = settings_or_exit().database_url
    try:
        info = asyncio.run(_with_db(url, lambda: users_service.find(args.user)))
    except InvalidInput:
        msg = f"{args.user[:32]!r} is not {TELEGRAM_ID.describe()} (ASCII digits) or an @username"
        raise CliError(msg) from None
    except UserFacingError as exc:
        msg = f"no such user: {args.user} ({exc.key})"
        raise CliError(msg) from None
    _print(info, args.json)
    return 0


def _refused(args: argparse.Namespace, exc: UserFacingError) -> CliError:
    reasons = {
        "error.user_not_found": f"no such user: {args.user}",
        "error.role_unknown": "the role must be public, subscriber or admin",
        "error.role_owner_fixed": "owners come from OWNER_IDS: their role cannot be changed",
        "error.cannot_ban": "owners cannot be banned",
    }
    return CliError(reasons.get(exc.key, f"refused: {exc.key}"))


def change_role(args: argparse.Namespace) -> int:
    url = settings_or_exit().database_url
    try:
        info = asyncio.run(
            _with_db(url, lambda: access.set_role(access.SHELL, args.user, args.role))
        )
    except UserFacingError as exc:
        raise _refused(args, exc) from None
    _print(info, args.json)
    return 0


def change_ban(args: argparse.Namespace) -> int:
    url = settings_or_exit().database_url
    try:
        info = asyncio.run(
            _with_db(url, lambda: access.set_banned(access.SHELL, args.user, banned=args.banned))
        )
    except UserFacingError as exc:
        raise _refused(args, exc) from None
    _print(info, args.json)
    return 0


def list_users(args: argparse.Namespace) -> int:
    limit = int_option(args.limit, LIST_LIMIT, "--limit")
    url = settings_or_exit().database_url
    rows = asyncio.run(_with_db(url, lambda: users_service.search(args.search, limit)))
    if args.json:
        print(json.dumps([_as_dict(r) for r in rows], ensure_ascii=False))
    else:
        for r in rows:
            print(
                f"{r.telegram_id:>12}  {r.role.value:<10}  {r.status.value:<12}  {r.display_name}"
            )
    return 0
