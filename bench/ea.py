"""EA API under load: 1,000 terminals long-polling one server, then one signal fanned out to all.

The real app (`AppRunner`: market data off, webhook off, the Telegram emulator in-process) on a
throw-away SQLite database (or ``--database-url``); the terminals run in a second process
(multiprocessing spawn) with signed requests over loopback HTTP, one keep-alive connection each.

Phases:
1. throughput: every terminal polls with ``wait=0`` back to back (closed loop) -> requests/s;
2. idle-poll latency: every terminal polls with ``wait=0`` at a paced rate (open loop, total
   ``--rate`` requests/s, random phases) -> p50/p99;
3. delivery: every terminal holds a long poll (``wait=25``); the server creates one command per
   terminal in one transaction (one approval/copy signal fanned out) and each terminal records
   when its command arrived -> p50/p99/max from the start of the fan-out. Each terminal makes
   exactly one request in this phase: waiting is on futures, never busy polling.

Prints one JSON object.   python bench/ea.py [--terminals 1000] [--rate 500] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import random
import resource
import socket
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TOKEN = "123456789:BENCH-token-abcdefghijklmnop"
Creds = list[tuple[str, str]]


def raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


# ---------------------------------------------------------------- terminals (child process)


class Terminals:
    def __init__(self, base_url: str, creds: Creds) -> None:
        import aiohttp

        self.base_url, self.creds = base_url, creds
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
        self.http = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=120)
        )

    async def poll(self, i: int, wait: int) -> tuple[int, bytes]:
        from ea.crypto import sign_request

        device_id, secret = self.creds[i]
        path = f"/ea/v1/commands?wait={wait}"
        headers = sign_request(secret, "GET", path, device_id=device_id)
        async with self.http.get(self.base_url + path, headers=headers) as resp:
            return resp.status, await resp.read()

    async def closed_loop(self, seconds: float) -> dict[str, Any]:
        stop = time.perf_counter() + seconds
        latencies: list[float] = []
        errors = 0

        async def one(i: int) -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                status, _ = await self.poll(i, 0)
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += status != 200

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(len(self.creds))))
        elapsed = time.perf_counter() - started
        return {"requests": len(latencies), "elapsed": elapsed, "latencies": latencies,
                "errors": errors}  # fmt: skip

    async def paced(self, seconds: float, rate: float) -> dict[str, Any]:
        period = len(self.creds) / rate
        latencies: list[float] = []
        errors = 0
        start = time.perf_counter()

        async def one(i: int) -> None:
            nonlocal errors
            at = start + random.uniform(0, period)
            while at < start + seconds:
                await asyncio.sleep(max(0.0, at - time.perf_counter()))
                t0 = time.perf_counter()
                status, _ = await self.poll(i, 0)
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += status != 200
                at += period

        await asyncio.gather(*(one(i) for i in range(len(self.creds))))
        return {"latencies": latencies, "errors": errors}

    async def long_polls(self, conn: Connection) -> dict[str, Any]:
        received: list[float] = []
        requests = 0
        errors = 0

        async def one(i: int) -> None:
            nonlocal requests, errors
            while True:
                requests += 1
                status, body = await self.poll(i, 25)
                if status == 200 and json.loads(body)["commands"]:
                    received.append(time.time())
                    return
                errors += status != 200

        tasks = [asyncio.create_task(one(i)) for i in range(len(self.creds))]
        conn.send("polling")
        await asyncio.gather(*tasks)
        return {"received": received, "requests": requests, "errors": errors}


def run_terminals(base_url: str, creds: Creds, conn: Connection, rate: float) -> None:
    raise_fd_limit(len(creds) * 2 + 1024)

    async def main() -> None:
        terminals = Terminals(base_url, creds)
        try:
            await asyncio.gather(*(terminals.poll(i, 0) for i in range(len(creds))))  # connect
            conn.send(await terminals.closed_loop(3.0))
            conn.send(await terminals.paced(4.0, rate))
            conn.send(await terminals.long_polls(conn))
        finally:
            await terminals.http.close()

    asyncio.run(main())


# ---------------------------------------------------------------- the server (this process)


async def make_devices(count: int) -> tuple[Creds, list[int]]:
    from services.terminals import devices

    creds: Creds = []
    pks: list[int] = []
    for i in range(count):
        made = await devices.create_device(5_000_000 + i, f"bench {i}")
        creds.append((made.device_id, made.secret))
        pks.append(made.device.id)
    return creds, pks


async def fan_out(pks: list[int]) -> float:
    """One signal -> one OPEN per terminal, in one transaction; returns the start time."""
    from models.devices import CommandType
    from services.terminals import commands as ea_commands

    payload = {"symbol": "XAUUSD", "side": "buy", "order_type": "market", "volume": "0.10"}
    items = [
        ea_commands.NewCommand(pk, CommandType.OPEN, payload, 1, f"open:{pk}:1", None)
        for pk in pks
    ]
    started = time.time()
    async with ea_commands.transaction():
        ids = await ea_commands.create_many(items)
    assert all(ids)
    return started


async def serve(args: argparse.Namespace, db_url: str, data_dir: Path) -> dict[str, Any]:
    from bot.app import AppRunner
    from core import db
    from core.settings import load_settings
    from ea.api import HUB_KEY
    from tgemu import EmulatorServer

    await db.migrate(db_url)
    async with EmulatorServer(TOKEN) as emulator:
        settings = load_settings(
            _env_file=None, bot_token=TOKEN, telegram_api_base=emulator.url,
            database_url=db_url, web_port=free_port(), market_data="none",
            master_key="bench-master-key", log_level="WARNING", data_dir=str(data_dir),
        )  # fmt: skip
        runner = AppRunner(settings, migrate=False)
        await runner.start()
        try:
            creds, pks = await make_devices(args.terminals)
            return await drive(runner, runner.web_app[HUB_KEY], creds, pks, args)
        finally:
            await runner.stop()


async def drive(runner: Any, hub: Any, creds: Creds, pks: list[int], args: Any) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    parent, child = mp.get_context("spawn").Pipe()
    proc = mp.get_context("spawn").Process(
        target=run_terminals, args=(runner.base_url, creds, child, args.rate)
    )
    proc.start()
    try:
        saturated = await loop.run_in_executor(None, parent.recv)
        paced = await loop.run_in_executor(None, parent.recv)
        assert await loop.run_in_executor(None, parent.recv) == "polling"
        for _ in range(3000):  # up to 30 s for every terminal's long poll to be waiting
            if hub.waiting >= len(pks):
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        queries_before = hub.batches
        started = await fan_out(pks)
        delivered = await loop.run_in_executor(None, parent.recv)
        queries = hub.batches - queries_before
    finally:
        proc.join(timeout=30)
    delays = [(t - started) * 1000 for t in delivered["received"]]
    return {
        "saturated": saturated, "paced": paced, "delays": delays, "queries": queries,
        "delivery_requests": delivered["requests"], "errors": saturated["errors"]
        + paced["errors"] + delivered["errors"],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--terminals", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=500.0, help="paced idle polls per second")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    raise_fd_limit(args.terminals * 2 + 1024)
    with tempfile.TemporaryDirectory() as tmp:
        db_url = args.database_url or f"sqlite://{tmp}/bench.sqlite3"
        raw = asyncio.run(serve(args, db_url, Path(tmp)))
    sat = raw["saturated"]
    print(json.dumps({
        "terminals": args.terminals,
        "database": db_url.split(":", 1)[0],
        "requests_per_s": round(sat["requests"] / sat["elapsed"], 1),
        "saturated_p50_ms": pct(sat["latencies"], 0.5),
        "saturated_p99_ms": pct(sat["latencies"], 0.99),
        "poll_rate_per_s": args.rate,
        "poll_p50_ms": pct(raw["paced"]["latencies"], 0.5),
        "poll_p99_ms": pct(raw["paced"]["latencies"], 0.99),
        "delivery_p50_ms": pct(raw["delays"], 0.5),
        "delivery_p99_ms": pct(raw["delays"], 0.99),
        "delivery_max_ms": round(max(raw["delays"], default=0.0), 2),
        "delivered": len(raw["delays"]),
        "delivery_requests": raw["delivery_requests"],
        "delivery_pending_queries": raw["queries"],
        "errors": raw["errors"],
        "python": sys.version.split()[0],
        "cpus": len(__import__("os").sched_getaffinity(0)),
        "delivery_mean_ms": round(statistics.fmean(raw["delays"]), 2) if raw["delays"] else None,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
