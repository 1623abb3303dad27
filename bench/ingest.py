"""The producers' ingest API under load: signed posts over real loopback HTTP, with duplicates,
on SQLite or PostgreSQL.

`--producers` (10) registered producers post `--posts` (1,000) signed signals
(``POST /api/v1/signals``, signed with `core.crypto` as a producer's client signs) with
`--concurrency` (20) in flight, through the ingest routes and the problem middleware on a
loopback socket. `--duplicates` (10%) of the posts repeat an earlier post's external id (same
producer), shuffled in among the others, so some repeats race their original in flight.
`--subscribers` (50) active subscribers hear of every signal, so each one queues 50 outbox rows.

- `posts_per_s`: posts answered per second, from the first sent to the last answered.
- `p50_ms` / `p99_ms`: from a post sent to its 201. The 201 means the signal and its outbox rows
  are committed: `lifecycle.publish` writes the signal, its revision, audit entry, fan-out rows
  and ledger entry in one transaction that closes before it returns, and the route answers only
  after `intake.ingest` returns (services/ingest/intake.py, services/signals/lifecycle.py).
  `repeat_p99_ms` is the same for the 200s that answered a repeat with the first signal.
- `duplicates_published` (must be 0): signals beyond one per producer and external id, counted
  in the database; `signals` (must equal `unique_posts`) and `outbox_rows` (must equal signals x
  subscribers) from the database too; `answers` counts the HTTP statuses (only 201 and 200).

The server and its clients share this process (and its two cores): a floor of what one
replica takes, not a ceiling.

    python bench/ingest.py [--posts 1000] [--producers 10] [--concurrency 20]
                           [--duplicates 0.1] [--subscribers 50] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common.database import run_on_database  # noqa: E402
from core import clock, db  # noqa: E402
from core.bus import Bus  # noqa: E402
from core.crypto import sign_request  # noqa: E402
from core.http.problems import problem_middleware  # noqa: E402
from models.notifications import Notification  # noqa: E402
from models.signals import Signal  # noqa: E402
from models.users import Role  # noqa: E402
from services.ingest import producers  # noqa: E402
from services.outbox import fanout  # noqa: E402
from services.signals import market_data  # noqa: E402
from services.signals.manual_checks import ManualLimits  # noqa: E402
from services.terminals import secrets as secret_box  # noqa: E402
from services.users import profiles  # noqa: E402
from trading.candles import Bar  # noqa: E402
from webapp.ingest import IngestConfig, setup_ingest  # noqa: E402

PATH = "/api/v1/signals"
OWNER = 1001
FIRST_SUBSCRIBER = 8_000_000
SYMBOL, LAST = "EURUSD", 1.08412  # the live feed's last close
# Levels the /post checks accept at that price: (entry, stop, take-profit) per side.
LEVELS = {"buy": ("1.0800", "1.0750", "1.0950"), "sell": ("1.0880", "1.0930", "1.0730")}


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


async def seed(n_producers: int, n_subscribers: int) -> list[producers.Credentials]:
    """A live feed (hourly bars ending an hour ago), the subscribers and the producers."""
    end = clock.SYSTEM.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    for i in range(5):
        t = end - timedelta(hours=4 - i)
        await market_data.record_bar(SYMBOL, Bar(t, LAST, LAST * 1.001, LAST * 0.999, LAST), 3600)
    for i in range(n_subscribers):
        await profiles.seed(FIRST_SUBSCRIBER + i, f"Sub {i}", None, Role.SUBSCRIBER)
    return [
        await producers.register(
            f"Producer {i}", (SYMBOL,), actor_id=OWNER, rate_per_hour=producers.MAX_RATE_PER_HOUR
        )  # fmt: skip
        for i in range(n_producers)
    ]


def plan_posts(args: argparse.Namespace, rng: random.Random) -> tuple[list[tuple[int, str]], int]:
    """(producer index, external id) per post, repeats shuffled in; the unique count."""
    unique_n = max(1, round(args.posts * (1 - args.duplicates)))
    unique = [(i % args.producers, f"bench-{i:06d}") for i in range(unique_n)]
    posts = unique + [rng.choice(unique) for _ in range(args.posts - unique_n)]
    rng.shuffle(posts)
    return posts, unique_n


def body_of(external_id: str, i: int) -> bytes:
    side = "buy" if i % 2 == 0 else "sell"
    entry, stop, tp = LEVELS[side]
    return (
        f'{{"external_id": "{external_id}", "symbol": "{SYMBOL}", "side": "{side}", '
        f'"entry": {entry}, "stop": {stop}, "take_profit": {tp}, "note": "bench"}}'
    ).encode()


async def post_all(
    base: str, made: list[producers.Credentials], posts: list[tuple[int, str]], concurrency: int
) -> tuple[dict[int, list[float]], float]:
    """Every post signed and sent, `concurrency` at once: latencies (ms) by status, seconds."""
    latencies: dict[int, list[float]] = {}
    queue: asyncio.Queue[tuple[int, tuple[int, str]]] = asyncio.Queue()
    for item in enumerate(posts):
        queue.put_nowait(item)

    async def worker(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            i, (who, external_id) = queue.get_nowait()
            number = int(external_id.rsplit("-", 1)[1])  # a repeat sends its original's body
            raw = body_of(external_id, number)
            headers = {"Content-Type": "application/json",
                       "X-Producer-Id": made[who].info.producer_id,
                       **sign_request(made[who].secret, "POST", PATH, raw)}  # fmt: skip
            t0 = time.perf_counter()
            async with http.post(base + PATH, data=raw, headers=headers) as response:
                await response.read()
                spent = (time.perf_counter() - t0) * 1000
            latencies.setdefault(response.status, []).append(spent)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, elapsed


async def counted() -> dict[str, int]:
    """What the database holds after the run."""
    keys = await Signal.filter(producer_id__isnull=False).values_list("producer_id", "external_id")
    per_key = Counter(keys)
    return {
        "signals": len(keys),
        "duplicates_published": sum(n - 1 for n in per_key.values()),
        "outbox_rows": await Notification.all().count(),
    }


async def serve(args: argparse.Namespace, made: list[producers.Credentials],
                posts: list[tuple[int, str]]) -> tuple[dict[int, list[float]], float]:  # fmt: skip
    app = web.Application(middlewares=[problem_middleware])
    setup_ingest(app, IngestConfig(ManualLimits(), frozenset({OWNER})))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock, backlog=1024)
    await site.start()
    try:
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return await post_all(base, made, posts, args.concurrency)
    finally:
        await runner.cleanup()


async def run(args: argparse.Namespace, db_url: str) -> dict[str, Any]:
    await db.migrate(db_url)
    await db.init_db(db_url)
    scratch = Path(tempfile.mkdtemp(prefix="sd-bench-"))
    secret_box.configure("bench-ingest-master-key", scratch)
    fanout.CHART_DIR = scratch / "charts"  # each signal's chart: here, not in the checkout
    events = Bus()
    token = events.activate()  # this run's bus, as the app's assembly makes one per process
    try:
        made = await seed(args.producers, args.subscribers)
        posts, unique_n = plan_posts(args, random.Random(15))
        latencies, elapsed = await serve(args, made, posts)
        created, repeats = latencies.get(201, []), latencies.get(200, [])
        return {
            "posts": len(posts),
            "unique_posts": unique_n,
            "producers": args.producers,
            "concurrency": args.concurrency,
            "subscribers": args.subscribers,
            "posts_per_s": round(len(posts) / elapsed, 1),
            "p50_ms": round(percentile(created, 50), 1),
            "p99_ms": round(percentile(created, 99), 1),
            "repeat_p99_ms": round(percentile(repeats, 99), 1),
            "answers": {str(k): len(v) for k, v in sorted(latencies.items())},
            **await counted(),
        }
    finally:
        Bus.deactivate(token)
        await db.close_db()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--producers", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--duplicates", type=float, default=0.1, help="share of repeated posts")
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    run_on_database(args.database_url, "sdbenchingest", lambda url: run(args, url))


if __name__ == "__main__":
    main()
