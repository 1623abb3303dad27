"""End-to-end update throughput: webhook HTTP route -> dispatcher (all middlewares) -> database
-> reply to the Telegram emulator over HTTP.

Three processes on loopback so the app gets a core of its own: the emulator, the app, and a load
generator posting Telegram updates to the webhook route with a fixed concurrency. Users arrive in
a seeded random order; latency of first contacts (registration: a write transaction with its
audit row) is reported apart from known users (served from the user cache, no query). The webhook
answers after the handler finished (`webhook_in_background=False`), so the HTTP latency is the
full processing time including the reply. Prints one JSON object.

    python bench/updates.py [--updates 6000] [--users 600] [--concurrency 16] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TOKEN = "123456789:BENCH-token-abcdefghijklmnop"
SECRET = "bench-secret"
COMMANDS = ("/help", "/menu", "/cancel", "/language")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_emulator(port: int, users: int, ready: mp.Event) -> None:
    from bot.emulator import EmulatorServer

    async def main() -> None:
        async with EmulatorServer(TOKEN, port=port) as server:
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
            started = time.perf_counter()
            await asyncio.gather(*(worker(http) for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        out.put(
            {"elapsed": elapsed, "latencies": latencies, "first": first_contact, "errors": errors}
        )

    asyncio.run(main())


async def run_app(db_url: str, emulator_url: str, port: int, args: argparse.Namespace) -> dict:
    from bot.app import AppRunner
    from bot.settings import load_settings

    settings = load_settings(
        _env_file=None,
        bot_token=TOKEN,
        telegram_api_base=emulator_url,
        database_url=db_url,
        web_port=port,
        webhook_url=f"http://127.0.0.1:{port}/tg/hook",
        webhook_secret=SECRET,
        webhook_in_background=False,
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
        return result
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(os.environ["BENCH_PROFILE"])
        await runner.stop()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=6000)
    parser.add_argument("--users", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="sd-bench-")
    db_url = args.database_url or f"sqlite://{tmp}/bench.sqlite3"
    if args.database_url:
        from tests.dbutil import create_pg_database

        db_url = asyncio.run(create_pg_database(args.database_url, prefix="sdbench"))
    ctx = mp.get_context("spawn")
    emu_port, app_port = free_port(), free_port()
    ready = ctx.Event()
    emulator = ctx.Process(target=run_emulator, args=(emu_port, args.users, ready), daemon=True)
    emulator.start()
    try:
        if not ready.wait(30):
            raise SystemExit("emulator did not start")
        result = asyncio.run(run_app(db_url, f"http://127.0.0.1:{emu_port}", app_port, args))
    finally:
        emulator.terminate()
        if args.database_url:
            from tests.dbutil import drop_pg_database

            asyncio.run(drop_pg_database(db_url))
    lat_ms = [v * 1000 for v in result["latencies"]]
    known_ms = [v for v, first in zip(lat_ms, result["first"], strict=True) if not first]
    first_ms = [v for v, first in zip(lat_ms, result["first"], strict=True) if first]
    print(
        json.dumps(
            {
                "benchmark": "updates",
                "database": "postgresql" if args.database_url else "sqlite",
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
                "cpu_count": os.cpu_count(),
                "target": {"updates_per_s": 1500, "p99_ms": 50},
            }
        )
    )


if __name__ == "__main__":
    main()
