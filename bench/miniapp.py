"""The Mini App's API under load and its live push, over real loopback HTTP, on SQLite or
PostgreSQL.

- API: `--sessions` signed-in subscribers (500) at once, each looping over the page's calls:
  the open signals list, their terminals with positions, and an approval of an open signal
  (the first one of each user records the decision and queues the card edit and the terminal's
  order; later ones find it already decided). `requests_per_s` and the latency percentiles
  are over every call; `errors` counts non-2xx answers (must be 0). That is the most one
  process serves (each session calls again the moment it is answered, so the latency is the
  queue of 500 callers). `paced`: the same sessions each calling once per `--interval`
  seconds (10: 50 calls a second offered, a busy evening), the latency a user feels at a
  load the server keeps up with (approvals there mostly find the signal decided already).
- Push: `--connections` (1,000) open `GET /api/v1/stream` connections, one per user. Each
  user in turn approves in chat (the chat's service, `approvals.decide`: the decision, its
  audit entry and card edit committed first) and their open page hears it: `push_p99_ms` from
  the call to the event read by that page's client, with all 1,000 connections open (target
  < 250 ms). `broadcast_p99_ms`: an update for everyone (a signal changed), from its publish
  on the bus to each of the 1,000 pages reading it.

The server and its clients share this process (and its two cores), so the figures are a floor
of what one replica serves, not a ceiling.

    python bench/miniapp.py [--sessions 500] [--seconds 10] [--interval 10]
                            [--connections 1000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common.database import run_on_database  # noqa: E402
from core import bus, db  # noqa: E402
from core.bus import Bus  # noqa: E402
from core.db_changes import probe_for  # noqa: E402
from core.http.problems import problem_middleware  # noqa: E402
from models.devices import AccountSnapshot, Device, DeviceMode, DeviceStatus  # noqa: E402
from models.signals import Decision, SignalSource  # noqa: E402
from models.users import Role  # noqa: E402
from services import app_settings  # noqa: E402
from services.events import LiveUpdate, UserChanged  # noqa: E402
from services.miniapp import auth, views  # noqa: E402
from services.signals import approvals  # noqa: E402
from services.signals import lifecycle as signals  # noqa: E402
from services.terminals import secrets as secret_box  # noqa: E402
from services.users import profiles  # noqa: E402
from services.users.cache import UserCache  # noqa: E402
from webapp.miniapp import TELEGRAM_SCRIPT, MiniAppConfig, setup_miniapp  # noqa: E402
from webapp.miniapp.api import CONFIG_KEY  # noqa: E402

TOKEN = "123456789:BENCH-miniapp-token-abcdefghijkl"
FIRST_ID = 7_000_000
OPEN_SIGNALS = 10
ROUTE_NAMES = ("/signals", "/terminals/{id}/positions", "/signals/{id}/decision")
ENTRY, STOP, TP = Decimal("1.07592"), Decimal("1.07965"), Decimal("1.06379")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def draft(i: int) -> signals.SignalDraft:
    now = datetime.now(UTC)
    return signals.SignalDraft(
        setup_key=f"bench:EURUSD:sell:{i}", symbol="EURUSD", side="sell", entry=ENTRY,
        stop=STOP, take_profit=TP, published_at=now, expires_at=now + timedelta(hours=100),
        source=SignalSource.MANUAL,
    )  # fmt: skip


async def seed(users: int) -> tuple[list[int], list[int], list[str]]:
    """`users` subscribers who accepted the disclaimer, each with a terminal; open signals."""
    version = await app_settings.disclaimer_version()
    ids, devices = [], []
    for i in range(users):
        user = await profiles.seed(FIRST_ID + i, f"Trader{i}", f"trader{i}", Role.SUBSCRIBER)
        await approvals.accept_disclaimer(user, version)
        device = await Device.create(
            device_id=f"dev_bench{i:08d}", user_id=user.id, name="MT5", secret_enc="unused",
            mode=DeviceMode.APPROVAL, status=DeviceStatus.ACTIVE, symbol_map={},
        )  # fmt: skip
        await AccountSnapshot.create(
            device=device, balance=Decimal(10000), equity=Decimal(10000), margin=0,
            currency="USD", high_water=Decimal(10000), drawdown_pct=0,
        )  # fmt: skip
        ids.append(user.telegram_id)
        devices.append(device.device_id)
    opened = []
    for i in range(OPEN_SIGNALS):
        view = await signals.publish(draft(i))
        assert view is not None
        opened.append(view.id)
    return ids, opened, devices


def make_app(callers: views.Callers) -> web.Application:
    app = web.Application(middlewares=[problem_middleware])
    setup_miniapp(
        app,
        MiniAppConfig(
            bot_token=TOKEN, owners=frozenset(), max_age=timedelta(hours=1),
            script_url=TELEGRAM_SCRIPT, callers=callers,
        ),
    )  # fmt: skip
    return app


async def api_load(
    base: str,
    users: list[int],
    opened: list[int],
    devices: dict[int, str],
    seconds: float,
    interval_s: float | None = None,
) -> dict[str, Any]:
    """Every session loops over the page's calls: back to back (`interval_s` None: the most
    the server serves) or one call per `interval_s` on a fixed schedule, the sessions' starts
    spread evenly over one interval (an offered load of sessions / interval_s calls a second;
    a late answer does not delay the next call's time, so queueing shows in the latency)."""
    rng = random.Random(20261203)
    latencies: list[float] = []
    by_route: dict[str, list[float]] = {}
    errors: Counter[str] = Counter()
    connector = aiohttp.TCPConnector(limit=0)
    stop_at = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=connector) as http:

        async def session(index: int, telegram_id: int) -> None:
            header = {
                "Authorization": f"Bearer {auth.issue(telegram_id, datetime.now(UTC), bot_token=TOKEN).token}"
            }
            calls = [
                ("GET", "/api/v1/signals?limit=20", None),
                ("GET", f"/api/v1/terminals/{devices[telegram_id]}/positions", None),
                ("POST", f"/api/v1/signals/{rng.choice(opened)}/decision",
                 {"decision": "approved"}),
            ]  # fmt: skip
            step = rng.randrange(len(calls))
            due = start + (interval_s or 0) * (index / len(users))
            while time.perf_counter() < stop_at:
                if interval_s is not None:
                    await asyncio.sleep(max(0.0, min(due, stop_at) - time.perf_counter()))
                    due += interval_s
                    if time.perf_counter() >= stop_at:
                        break
                method, path, body = calls[step % len(calls)]
                step += 1
                began = time.perf_counter()
                async with http.request(method, base + path, json=body, headers=header) as r:
                    await r.read()
                    if r.status >= 300:
                        errors[f"{method} {path.split('?')[0]} {r.status}"] += 1
                elapsed = (time.perf_counter() - began) * 1000
                latencies.append(elapsed)
                by_route.setdefault(f"{method} {ROUTE_NAMES[step % len(calls) - 1]}", []).append(
                    elapsed
                )

        start = began = time.perf_counter()
        await asyncio.gather(*(session(i, tid) for i, tid in enumerate(users)))
        wall = time.perf_counter() - began
    return {
        "sessions": len(users),
        **({} if interval_s is None else {"offered_per_s": round(len(users) / interval_s, 1)}),
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "errors": dict(errors),
        "p99_ms_by_route": {k: round(percentile(v, 99), 2) for k, v in sorted(by_route.items())},
    }


async def read_events(
    response: aiohttp.ClientResponse, seen: asyncio.Queue[tuple[str, float]]
) -> None:
    """Each `live` event's data and when this client read it."""
    while True:
        raw = await response.content.readline()
        if not raw:
            return
        line = raw.decode().strip()
        if line.startswith("data:"):
            await seen.put((line[5:].strip(), time.perf_counter()))


async def push_load(base: str, users: list[int], opened: list[int]) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        queues: dict[int, asyncio.Queue[tuple[str, float]]] = {}
        readers = []
        responses = []
        for tid in users:
            header = {
                "Authorization": f"Bearer {auth.issue(tid, datetime.now(UTC), bot_token=TOKEN).token}"
            }
            response = await http.get(base + "/api/v1/stream", headers=header)
            assert response.status == 200, response.status
            responses.append(response)
            queues[tid] = asyncio.Queue()
            readers.append(asyncio.create_task(read_events(response, queues[tid])))
        # every client has its stream open: each first reads the `retry`/comment preamble
        await asyncio.sleep(0)

        decision_ms: list[float] = []
        for tid in users:  # an approval in chat, by each user in turn: their page hears it
            user = await profiles.get_by_telegram_id(tid)
            signal_id = opened[-1]
            began = time.perf_counter()
            await approvals.decide(user, signal_id, Decision.REJECTED)
            data, at = await asyncio.wait_for(queues[tid].get(), 30)
            assert json.loads(data) == {"kind": "decision", "key": signal_id}, data
            decision_ms.append((at - began) * 1000)

        broadcast_ms: list[float] = []
        for key in range(3):  # an update for everyone (a signal changed): every page hears it
            began = time.perf_counter()
            bus.publish(LiveUpdate("signal", 10_000 + key))
            for tid in users:
                data, at = await asyncio.wait_for(queues[tid].get(), 30)
                assert json.loads(data) == {"kind": "signal", "key": 10_000 + key}, data
                broadcast_ms.append((at - began) * 1000)
        for task in readers:
            task.cancel()
        for response in responses:
            response.close()
    return {
        "connections": len(users),
        "push_p50_ms": round(percentile(decision_ms, 50), 2),
        "push_p99_ms": round(percentile(decision_ms, 99), 2),
        "push_target_ms": 250,
        "broadcast_p50_ms": round(percentile(broadcast_ms, 50), 2),
        "broadcast_p99_ms": round(percentile(broadcast_ms, 99), 2),
    }


async def run(args: argparse.Namespace, db_url: str) -> dict[str, Any]:
    await db.migrate(db_url)
    await db.init_db(db_url)
    secret_box.configure("bench-miniapp-master-key", Path(tempfile.mkdtemp(prefix="sd-bench-")))
    events = Bus()
    token = events.activate()
    try:
        count = max(args.sessions, args.connections)
        users, opened, device_ids = await seed(count)
        devices = dict(zip(users, device_ids, strict=True))
        cache = UserCache()  # the process's user cache, as the assembly wires it
        callers = views.NO_CACHE if args.no_cache else views.Callers(cache, probe_for(db_url))
        app = make_app(callers)
        live = app[CONFIG_KEY].live
        events.subscribe(LiveUpdate, live.deliver)
        events.subscribe(UserChanged, live.user_changed)
        events.subscribe(UserChanged, lambda e: cache.changed(e.telegram_id))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{port}"
        try:
            api = await api_load(base, users[: args.sessions], opened, devices, args.seconds)
            paced = await api_load(
                base, users[: args.sessions], opened, devices, args.seconds, args.interval
            )
            push = await push_load(base, users[: args.connections], opened)
        finally:
            await runner.cleanup()
        return {"caller_cache": not args.no_cache, **api, "paced": paced, **push}
    finally:
        Bus.deactivate(token)
        await db.close_db()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument(
        "--interval", type=float, default=10.0,
        help="the paced phase: each session calls once per this many seconds",
    )  # fmt: skip
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--no-cache", action="store_true", help="load the caller per call (the old path)"
    )
    args = parser.parse_args()
    run_on_database(args.database_url, "sdbenchmini", lambda url: run(args, url))


if __name__ == "__main__":
    main()
