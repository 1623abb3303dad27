"""End-to-end update throughput: webhook HTTP route -> dispatcher (all middlewares) -> database
-> the reply, in the webhook response (default) or as a Bot API call to the emulator.

Three processes on loopback so the app gets a core of its own: the emulator, the app, and a load
generator posting Telegram updates to the webhook route with a fixed concurrency. Users arrive in
a seeded random order; latency of first contacts (registration: a write transaction with its
audit row) is reported apart from known users (served from the user cache, no query).

Modes ("mode" in the output):
- "reply" (default, `webhook_in_background=False`): the webhook answers after the handler
  finished and the reply travels back in that answer, as Telegram allows, so the HTTP latency is
  the full processing time including the reply; the emulator sees no Bot API call.
- "background" (`--background`, WEBHOOK_IN_BACKGROUND=true, the app's default): the webhook
  answers at once and the reply is a Bot API call to the emulator over HTTP. Latencies are the
  webhook answer times; updates_per_s counts until every update was handled and replied to.

`--database-url sqlite://PATH` uses that SQLite file; a postgres:// URL names a server on which a
throwaway database is created and dropped afterwards. Prints one JSON object.

    python bench/updates.py [--updates 6000] [--users 600] [--concurrency 16] [--background]
                            [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import secrets
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from bot.app import AppRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TOKEN = "123456789:BENCH-token-abcdefghijklmnop"
SECRET = "bench-secret"
COMMANDS = ("/help", "/menu", "/cancel", "/language")
PG_SCHEMES = ("postgres", "postgresql", "asyncpg", "psycopg")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The emulator runs in its own process: its control token comes from here (one per run).
CONTROL_TOKEN = secrets.token_urlsafe(32)


def run_emulator(port: int, users: int, ready: mp.Event, control_token: str) -> None:
    from tgemu import EmulatorServer

    async def main() -> None:
        async with EmulatorServer(TOKEN, port=port, control_token=control_token) as server:
            for user_id in [9_999, *range(10_000, 10_000 + users)]:
                server.emulator.add_user(user_id, f"U{user_id}")
            ready.set()
            await asyncio.Event().wait()

    asyncio.run(main())


def make_update(update_id: int, user_id: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": {
                "id": user_id,
                "is_bot": False,
                "first_name": f"U{user_id}",
                "language_code": "en",
            },
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


def arrival_order(updates: int, users: int, seed: int = 42) -> list[int]:
    """Which user sends update i: every user sends updates/users of them, in a seeded random
    order, so first contacts (registrations) trickle in as they do for a live bot."""
    order = [10_000 + i % users for i in range(updates)]
    random.Random(seed).shuffle(order)
    return order


def run_load(url: str, updates: int, users: int, concurrency: int, out: mp.Queue) -> None:
    import aiohttp

    senders = arrival_order(updates, users)

    async def main() -> None:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(updates):
            queue.put_nowait(i)
        latencies: list[float] = []
        first_contact: list[bool] = []
        seen: set[int] = set()
        errors = 0
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

        async def worker(http: aiohttp.ClientSession) -> None:
            nonlocal errors
            while not queue.empty():
                i = queue.get_nowait()
                user_id = senders[i]
                first = user_id not in seen
                seen.add(user_id)
                body = make_update(i + 1, user_id, COMMANDS[i % len(COMMANDS)])
                t0 = time.perf_counter()
                async with http.post(url, json=body, headers=headers) as resp:
                    await resp.read()
                    if resp.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - t0)
                first_contact.append(first)

        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as http:
            # warm-up: the first request of each kind pays imports and caches
            for text in COMMANDS:
                async with http.post(
                    url, json=make_update(10**9, 9_999, text), headers=headers
                ) as r:
                    await r.read()
            started_wall = time.time()
            started = time.perf_counter()
            await asyncio.gather(*(worker(http) for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        out.put(
            {
                "elapsed": elapsed,
                "started_wall": started_wall,
                "latencies": latencies,
                "first": first_contact,
                "errors": errors,
            }
        )

    asyncio.run(main())


async def run_app(db_url: str, emulator_url: str, port: int, args: argparse.Namespace) -> dict:
    from bot.app import AppRunner
    from core.settings import load_settings

    settings = load_settings(
        _env_file=None,
        bot_token=TOKEN,
        telegram_api_base=emulator_url,
        database_url=db_url,
        web_port=port,
        webhook_url=f"http://127.0.0.1:{port}/tg/hook",
        webhook_secret=SECRET,
        webhook_in_background=args.background,
        log_level="WARNING",
        throttle_rate=1000.0,
        throttle_burst=1000,
    )
    runner = AppRunner(settings, migrate=True)
    await runner.start()
    profiler = None
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        ctx = mp.get_context("spawn")
        out: mp.Queue = ctx.Queue()
        url = f"http://127.0.0.1:{port}/tg/hook"
        load = ctx.Process(
            target=run_load, args=(url, args.updates, args.users, args.concurrency, out)
        )
        load.start()
        result = await asyncio.to_thread(out.get, True, 600)
        load.join(10)
        if args.background:  # answered is not handled: wait until every reply went out
            await _drained(runner)
            result["elapsed"] = time.time() - result["started_wall"]
            result["emulator"] = await _emulator_stats(emulator_url)
        return result
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(os.environ["BENCH_PROFILE"])
        await runner.stop()


async def _drained(runner: AppRunner, timeout_s: float = 120) -> None:
    webhook = runner._webhook
    assert webhook is not None
    deadline = time.monotonic() + timeout_s
    while webhook._background_feed_update_tasks:
        if time.monotonic() > deadline:
            raise SystemExit("background updates still running after the load finished")
        await asyncio.sleep(0.002)


async def _emulator_stats(emulator_url: str) -> dict:
    from tgemu import EmulatorClient

    async with EmulatorClient(emulator_url, token=CONTROL_TOKEN) as client:
        return await client.stats()


def database_kind(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        return "sqlite"
    if scheme in PG_SCHEMES:
        return "postgresql"
    raise SystemExit(f"--database-url must be sqlite:// or postgres://, got scheme {scheme!r}")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=6000)
    parser.add_argument("--users", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--background",
        action="store_true",
        help="WEBHOOK_IN_BACKGROUND=true: answer at once, reply by a Bot API call",
    )
    args = parser.parse_args()

    db_url = args.database_url or f"sqlite://{tempfile.mkdtemp(prefix='sd-bench-')}/bench.sqlite3"
    database = database_kind(db_url)
    throwaway_pg = database == "postgresql"
    if throwaway_pg:
        from tests.dbutil import create_pg_database

        db_url = asyncio.run(create_pg_database(db_url, prefix="sdbench"))
    ctx = mp.get_context("spawn")
    emu_port, app_port = free_port(), free_port()
    ready = ctx.Event()
    emulator = ctx.Process(
        target=run_emulator, args=(emu_port, args.users, ready, CONTROL_TOKEN), daemon=True
    )
    emulator.start()
    try:
        if not ready.wait(30):
            raise SystemExit("emulator did not start")
        result = asyncio.run(run_app(db_url, f"http://127.0.0.1:{emu_port}", app_port, args))
    finally:
        emulator.terminate()
        if throwaway_pg:
            from tests.dbutil import drop_pg_database

            asyncio.run(drop_pg_database(db_url))
    extra = {}
    if "emulator" in result:  # background: how the replies fared as Bot API calls
        stats = result["emulator"]
        extra = {
            "replies_sent": stats["methods"].get("sendMessage", 0),
            "bot_api_errors": sum(stats["errors"].values()),
        }
    lat_ms = [v * 1000 for v in result["latencies"]]
    known_ms = [v for v, first in zip(lat_ms, result["first"], strict=True) if not first]
    first_ms = [v for v, first in zip(lat_ms, result["first"], strict=True) if first]
    print(
        json.dumps(
            {
                "benchmark": "updates",
                "database": database,
                "mode": "background" if args.background else "reply",
                "updates": len(lat_ms),
                "users": args.users,
                "concurrency": args.concurrency,
                "errors": result["errors"],
                "updates_per_s": round(len(lat_ms) / result["elapsed"], 1),
                "p50_ms": round(percentile(lat_ms, 50), 2),
                "p99_ms": round(percentile(lat_ms, 99), 2),
                "max_ms": round(max(lat_ms), 2),
                "known_users_p99_ms": round(percentile(known_ms, 99), 2),
                "first_contact_p50_ms": round(percentile(first_ms, 50), 2),
                "first_contact_p99_ms": round(percentile(first_ms, 99), 2),
                **extra,
                "cpu_count": os.cpu_count(),
                "target": {"updates_per_s": 1500, "p99_ms": 50},
            }
        )
    )


if __name__ == "__main__":
    main()
