"""The public track record at scale, over real loopback HTTP, on SQLite or PostgreSQL.

- `--signals` (2,000) closed signals of history spread over two years, counted by the public
  scope's catch-up (`catchup_s`: the first page view after the history appears).
- `count_ms_p99`: one more closed signal counted into the rollups (`rollups.count`: its result
  row and its four buckets), the cost a close adds to its transaction.
- `page_p99_ms` / `widget_json_p99_ms` / `chart_p99_ms`: `--requests` (200) sequential views of
  `/performance`, `/performance/widget.json` and a cached chart PNG with nothing new to count
  (the steady state: the rollups and the chart cache answer).

    python bench/performance.py [--signals 2000] [--requests 200] [--database-url URL]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common.database import run_on_database  # noqa: E402
from core import db  # noqa: E402
from core.http.problems import problem_middleware  # noqa: E402
from models.analytics import RollupScope  # noqa: E402
from models.signals import CloseReason, Signal, SignalStatus  # noqa: E402
from services.analytics import rollups  # noqa: E402
from webapp.performance import PerformanceConfig, setup_performance  # noqa: E402

START = datetime(2024, 1, 1, tzinfo=UTC)


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2)


async def seed(n: int) -> list[Signal]:
    rows = []
    for i in range(n):
        closed = START + timedelta(hours=9 * i + i % 7)
        r = Decimal(("2", "-1", "1.5", "-1", "0.5", "-1", "3")[i % 7])
        rows.append(Signal(
            setup_key=f"bench:{i}", symbol="EURUSD", side="sell", entry=Decimal("1.07592"),
            stop=Decimal("1.07965"), take_profit=Decimal("1.06379"),
            status=SignalStatus.CLOSED, published_at=closed - timedelta(hours=4),
            expires_at=closed + timedelta(hours=90), closed_at=closed, result_r=r,
            close_reason=CloseReason.TP if r > 0 else CloseReason.SL,
        ))  # fmt: skip
    await Signal.bulk_create(rows, batch_size=500)
    return await Signal.all().order_by("id")


async def timed_get(http: aiohttp.ClientSession, url: str, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        async with http.get(url) as resp:
            await resp.read()
            assert resp.status == 200, url
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def run(db_url: str, signals: int, requests: int) -> dict[str, Any]:
    await db.migrate(db_url)
    await db.init_db(db_url)
    try:
        await seed(signals)
        app = web.Application(middlewares=[problem_middleware])
        setup_performance(app, PerformanceConfig(timedelta(hours=24)))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        base = f"http://{host}:{port}"
        async with aiohttp.ClientSession() as http:
            started = time.perf_counter()
            await timed_get(http, base + "/performance/widget.json", 1)  # the catch-up
            catchup_s = time.perf_counter() - started
            await timed_get(http, base + "/performance/chart/equity.png", 1)  # drawn once
            page = await timed_get(http, base + "/performance", requests)
            widget = await timed_get(http, base + "/performance/widget.json", requests)
            chart = await timed_get(http, base + "/performance/chart/equity.png", requests)
        await runner.cleanup()
        extra = await seed_more(signals, 200)
        counts = []
        for row in extra:
            assert row.closed_at is not None and row.result_r is not None
            started = time.perf_counter()
            await rollups.count(RollupScope.ALL, row.id, row.closed_at, row.result_r)
            counts.append((time.perf_counter() - started) * 1000)
    finally:
        await db.close_db()
    return {
        "benchmark": "performance", "signals": signals, "requests": requests,
        "catchup_s": round(catchup_s, 3), "count_ms_p99": p99(counts),
        "page_p99_ms": p99(page), "widget_json_p99_ms": p99(widget), "chart_p99_ms": p99(chart),
    }  # fmt: skip


async def seed_more(after: int, n: int) -> list[Signal]:
    rows = [
        Signal(setup_key=f"bench:more:{i}", symbol="EURUSD", side="sell",
               entry=Decimal("1.07592"), stop=Decimal("1.07965"), take_profit=Decimal("1.06379"),
               status=SignalStatus.CLOSED, published_at=START, expires_at=START,
               closed_at=START + timedelta(hours=9 * (after + i)), result_r=Decimal("0.5"),
               close_reason=CloseReason.TP)
        for i in range(n)
    ]  # fmt: skip
    await Signal.bulk_create(rows)
    return await Signal.filter(setup_key__startswith="bench:more:").order_by("id")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    run_on_database(
        args.database_url, "sdbench_perf", lambda url: run(url, args.signals, args.requests)
    )


if __name__ == "__main__":
    main()
