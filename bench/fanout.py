"""Fan-out benchmark: one signal to N subscribers through the outbox, against the emulator.

    python bench/fanout.py                      # 3,000 users at 300 msg/s on a temp SQLite
    python bench/fanout.py --users 1000 --rate 100 --database-url postgres://...
    python bench/fanout.py --crash-after 1000   # kill the sender mid fan-out, restart it
    python bench/fanout.py --photo              # a chart: one upload, then file_id re-sends

The emulator enforces Telegram-shaped limits scaled by --rate (overall) and --per-chat; the
sender runs with the same limits. Prints one JSON object:

- recipients, lost (subscribers with no message), duplicates (extra copies), throttled_429;
- first_delivery_ms / last_delivery_ms: from the enqueue (standing in for bar close) to the
  first / last accepted send;
- rate_ratio: messages delivered between the first and the last delivery / the most the
  emulator's limit lets through in that window (its 1 s burst + rate x window): 1.0 means
  "exactly at the limit" (it cannot exceed 1 without 429s);
- ideal_last_delivery_ms: when the last message could arrive at best (burst, then rate);
- sent_per_s: recipients / last delivery time, burst included;
- uploads: photo uploads the emulator stored (1 with --photo: the chart went up once);
- crash: with --crash-after, the rows in flight at the kill and the duplicates they caused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import struct
import sys
import tempfile
import time
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import db  # noqa: E402
from core.bus import Bus  # noqa: E402
from jobs.outbox.buckets import SenderLimits  # noqa: E402
from jobs.outbox.sender import Sender, SenderConfig  # noqa: E402
from models.notifications import Notification, NotificationStatus  # noqa: E402
from models.signals import ChartFile, Signal  # noqa: E402
from models.users import Role, User  # noqa: E402
from services.events import OutboxChanged  # noqa: E402
from services.outbox import notifications
from services.outbox.kinds import Prepared
from services.users import profiles as users
from tgemu import DEFAULT_TOKEN, EmulatorServer  # noqa: E402

FIRST_USER_ID = 10_000_000
SIGNAL_TEXT = (
    "<b>XAUUSD BUY LIMIT</b> 2350.50\nStop 2340.00 | Target 2371.50 (2R)\n"
    "Fib 61.8% retracement, RSI(14) oversold on H1."
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=300.0, help="overall messages/s")
    parser.add_argument("--per-chat", type=float, default=1.0, help="messages/s per chat")
    parser.add_argument("--in-flight", type=int, default=64, help="concurrent sends")
    parser.add_argument("--database-url", default=None, help="default: a temp SQLite file")
    parser.add_argument("--photo", action="store_true", help="send a chart, not text")
    parser.add_argument("--crash-after", type=int, default=0, help="kill after N deliveries")
    parser.add_argument("--timeout", type=float, default=120.0)
    return parser.parse_args(argv)


async def _pg_database(server_url: str, *, drop: str | None = None) -> str:
    """Create (or drop) a throwaway database on the server in `server_url`."""
    import asyncpg  # noqa: PLC0415 - only for PostgreSQL runs

    base = db.normalise_url(server_url).replace("postgres://", "postgresql://", 1)
    admin = base.rsplit("/", 1)[0] + "/postgres"
    conn = await asyncpg.connect(admin)
    try:
        if drop:
            await conn.execute(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)')
            return drop
        name = f"bench_fanout_{uuid.uuid4().hex[:8]}"
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return db.normalise_url(server_url).rsplit("/", 1)[0] + "/" + name


async def seed_users(count: int) -> list[int]:
    ids = [FIRST_USER_ID + i for i in range(count)]
    rows = [
        User(
            telegram_id=tid,
            first_name=f"Sub {tid}",
            role=Role.SUBSCRIBER,
            referral_code=users.new_referral_code(),
        )
        for tid in ids
    ]
    await User.bulk_create(rows, batch_size=500)
    return ids


def png(width: int, height: int) -> bytes:
    """A plain PNG standing in for a rendered chart."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes(range(256)) * (width * 3 // 256) for _ in range(height))
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


async def make_chart() -> int:
    """A signal and its chart file (uploaded once, then re-sent by file_id)."""
    now = datetime.now(UTC)
    price = Decimal("2350.50")
    signal = await Signal.create(
        setup_key="XAUUSD:buy:bench",
        symbol="XAUUSD",
        side="buy",
        entry=price,
        stop=price,
        take_profit=price,
        published_at=now,
        expires_at=now + timedelta(hours=4),
    )
    path = Path(tempfile.mkdtemp()) / "chart.png"
    path.write_bytes(png(768, 432))
    return int((await ChartFile.create(signal=signal, version=1, path=str(path))).id)


def signal_notifications(
    ids: list[int], chart_id: int | None = None
) -> list[notifications.Outgoing]:
    keyboard = notifications.inline_keyboard(
        [
            [
                notifications.Button("Approve", callback_data="sig:approve:1:1"),
                notifications.Button("Reject", callback_data="sig:reject:1:1"),
            ]
        ]
    )
    payload = (
        notifications.photo(SIGNAL_TEXT, chart_id=chart_id, keyboard=keyboard)
        if chart_id
        else notifications.text(SIGNAL_TEXT, keyboard=keyboard)
    )
    return [
        notifications.Outgoing(
            chat_id=tid,
            message=Prepared(payload),
            dedupe_key=f"signal:1:v1:{tid}",
            user_id=tid,
            signal_id=1,
            priority=1,
        )
        for tid in ids
    ]


async def wait_drained(timeout_s: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        left = await Notification.filter(
            status__in=[NotificationStatus.PENDING, NotificationStatus.SENDING]
        ).count()
        if left == 0:
            return
        await asyncio.sleep(0.1)
    msg = f"outbox not drained within {timeout_s} s"
    raise TimeoutError(msg)


def transcript_counts(server: EmulatorServer, ids: list[int]) -> dict[int, int]:
    """Bot messages each subscriber's chat received, as the emulator recorded them."""
    messages = server.emulator.messages
    return {tid: sum(1 for m in messages.get(tid, {}).values() if m.from_bot) for tid in ids}


def make_limits(args: argparse.Namespace) -> SenderLimits:
    return SenderLimits(
        global_per_s=args.rate,
        global_burst=max(1.0, 0.95 * args.rate),  # a little under the emulator's 1 s of burst
        per_chat_per_s=args.per_chat,
        per_chat_burst=1,
    )


def make_sender(bot: Bot, args: argparse.Namespace) -> Sender:
    return Sender.build(bot, SenderConfig(limits=make_limits(args), max_in_flight=args.in_flight))


async def crash_and_restart(sender: Sender, bot: Bot, args: argparse.Namespace) -> Sender:
    while sender.counters["sent"] < args.crash_after:  # noqa: ASYNC110 - polling a counter
        await asyncio.sleep(0.005)
    await sender.abort()
    restarted = make_sender(bot, args)
    await restarted.start()
    restarted.counters["sent_before_crash"] = sender.counters["sent"]
    return restarted


async def publish(args: argparse.Namespace, bot: Bot, ids: list[int]) -> dict[str, Any]:
    """Queue the signal for everyone in one transaction and wait until the outbox is empty."""
    sender = make_sender(bot, args)
    await sender.start()
    events = Bus()
    events.activate()  # this run's bus, as the app's assembly makes one per process
    unsubscribe = events.subscribe(OutboxChanged, lambda _event: sender.wake())
    # The sender starts with an empty bucket; a bar closes long after start-up, when it is full.
    await asyncio.sleep(sender.config.limits.global_burst / args.rate)
    run: dict[str, Any] = {"started": datetime.now(UTC), "crash": None}
    try:
        clock = time.perf_counter()
        chart_id = await make_chart() if args.photo else None
        async with notifications.transaction():
            await notifications.enqueue_many(signal_notifications(ids, chart_id))
        run["enqueue_ms"] = round((time.perf_counter() - clock) * 1000, 1)
        if args.crash_after:
            sender = await crash_and_restart(sender, bot, args)
            run["crash"] = {"in_flight_at_kill": sender.recovered}
        await wait_drained(args.timeout)
        await sender.stop()
    finally:
        unsubscribe()
    return run


async def fanout(args: argparse.Namespace, server: EmulatorServer) -> dict[str, Any]:
    emu = server.emulator
    ids = await seed_users(args.users)
    for tid in ids:
        emu.add_user(tid, f"Sub {tid}")
    emu.limits.configure(enabled=True, global_per_s=args.rate, per_chat_per_s=args.per_chat)
    bot = Bot(DEFAULT_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(server.url)))
    try:
        run = await publish(args, bot, ids)
    finally:
        await bot.session.close()
    counts = transcript_counts(server, ids)
    sent_at = await Notification.filter(status=NotificationStatus.SENT).values_list(
        "sent_at", flat=True
    )
    first = (min(sent_at) - run["started"]).total_seconds()
    last = (max(sent_at) - run["started"]).total_seconds()
    burst = max(1.0, args.rate)  # the emulator's global bucket holds 1 s of messages
    duplicates = sum(max(0, n - 1) for n in counts.values())
    if run["crash"] is not None:
        run["crash"]["duplicates"] = duplicates
    return {
        "recipients": len(ids),
        "rate_ratio": round(len(ids) / (burst + args.rate * (last - first)), 4),
        "throttled_429": emu.stats.errors.get(429, 0),
        "lost": sum(1 for n in counts.values() if n == 0),
        "duplicates": duplicates,
        "first_delivery_ms": round(first * 1000, 1),
        "last_delivery_ms": round(last * 1000, 1),
        "ideal_last_delivery_ms": round(max(0.0, len(ids) - burst) / args.rate * 1000, 1),
        "sent_per_s": round(len(ids) / last, 1),
        "allowed_per_s": args.rate,
        "enqueue_ms": run["enqueue_ms"],
        "uploads": sum(1 for f in emu.files.values() if f.data is not None),
        "database": db.normalise_url(args.database_url or "sqlite").split(":", 1)[0],
        "crash": run["crash"],
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        if args.database_url:
            url = await _pg_database(args.database_url)
        else:
            url = f"sqlite://{Path(tmp) / 'bench.sqlite3'}"
        try:
            await db.migrate(url)
            await db.init_db(url)
            async with EmulatorServer() as server:
                return await fanout(args, server)
        finally:
            await db.close_db()
            if args.database_url:
                await _pg_database(args.database_url, drop=url.rsplit("/", 1)[1])


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    print(json.dumps(asyncio.run(main(parse_args()))))
