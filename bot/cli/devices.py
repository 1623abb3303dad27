"""`python -m bot devices add|list|revoke`: terminals for operators and tests.

``devices add --user TELEGRAM_ID --name NAME [--mode approval|copy] [--json]`` prints the
device id and its secret (the only time the secret is shown), creating the user if new.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.cli import database, int_option
from bot.cli.run import settings_or_exit
from services.terminals import devices
from services.text.numbers import TELEGRAM_ID


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
    made = database.run(
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
    rows = database.run(lambda: devices.list_all(None, telegram_id=user))
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
    info = database.run(lambda: devices.revoke(None, args.device_id), announce=True)
    print(f"{info.device_id} revoked")
    return 0
