"""Price alerts: 100,000 active alerts over 10 symbols, on SQLite or PostgreSQL.

- `rebuild_s`: the scheduler leader's start: every active alert read from the database into
  the evaluator's sorted per-symbol index (services.alerts.evaluator.AlertEvaluator.rebuild).
- `eval_ms_p50/p99` (target p99 < 5 ms): one price update evaluated: the index's two binary
  searches per direction, the cool-down filter and the hits it returns
  (`AlertEvaluator._hits`, what `on_move` does before it records anything), over `--probes`
  random bars of every symbol with all 100,000 alerts active. `hits_per_update_mean` says how
  many alerts such a bar reaches.
- `updates_per_s`: a replay of `--updates` (10,000) bars (a random walk per symbol, a few
  ticks per bar) through `AlertEvaluator.on_move` end to end: hits found, firings and their
  outbox notifications committed in one transaction per update that fires, one-shot alerts
  dropped from the index, the reference moved. `fired` counts the firings recorded;
  `fire_ms_p99` is the latency of the updates that fired something.

    python bench/alerts.py [--alerts 100000] [--updates 10000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common.database import run_on_database  # noqa: E402
from core import db  # noqa: E402
from models.alerts import AlertCondition, PriceAlert  # noqa: E402
from models.notifications import Notification  # noqa: E402
from models.users import Role  # noqa: E402
from services.alerts.evaluator import AlertEvaluator, price_of  # noqa: E402
from services.alerts.index import Move  # noqa: E402
from services.users import profiles  # noqa: E402

# 10 symbols: (name, price, tick). Names without a built-in spec use 5 digits.
SYMBOLS = (
    ("XAUUSD", 2400.0, 0.01), ("EURUSD", 1.085, 0.00001), ("GBPUSD", 1.27, 0.00001),
    ("USDJPY", 150.0, 0.001), ("GOLD", 2400.0, 0.01), ("AUDUSD", 0.66, 0.00001),
    ("USDCHF", 0.88, 0.00001), ("USDCAD", 1.36, 0.00001), ("NZDUSD", 0.61, 0.00001),
    ("EURGBP", 0.855, 0.00001),
)  # fmt: skip
USERS = 1_000
SPREAD = 0.03  # alerts within +-3% of the start price
BAR_TICKS = 40  # a bar's range: about this many ticks each way


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _level(rng: random.Random, price: float, tick: float) -> Decimal:
    raw = price * (1 + rng.uniform(-SPREAD, SPREAD))
    return Decimal(str(round(round(raw / tick) * tick, 8)))


async def _seed(n_alerts: int, rng: random.Random) -> None:
    now = datetime.now(UTC)
    users = [(await profiles.seed(10_000_000 + i, f"U{i}", None, Role.SUBSCRIBER)).id
             for i in range(USERS)]  # fmt: skip
    conditions = list(AlertCondition)
    rows = []
    for i in range(n_alerts):
        name, price, tick = SYMBOLS[i % len(SYMBOLS)]
        rows.append(
            PriceAlert(
                user_id=users[i % len(users)], symbol=name, condition=rng.choice(conditions),
                level=_level(rng, price, tick), repeat=i % 2 == 0, cooldown_s=300,
                created_at=now, updated_at=now,
            )
        )  # fmt: skip
    await PriceAlert.bulk_create(rows, batch_size=2000)


def _bar(rng: random.Random, name: str, price: float, tick: float) -> tuple[Move, float]:
    step = rng.gauss(0, BAR_TICKS / 2) * tick
    close = price + step
    low = min(price, close) - rng.uniform(0, BAR_TICKS) * tick
    high = max(price, close) + rng.uniform(0, BAR_TICKS) * tick
    move = Move(price_of(name, low), price_of(name, high), price_of(name, close))
    return move, close


async def _run(db_url: str, n_alerts: int, n_updates: int, probes: int) -> dict[str, Any]:
    await db.migrate(db_url)
    await db.init_db(db_url)
    try:
        rng = random.Random(7)
        await _seed(n_alerts, rng)
        evaluator = AlertEvaluator()
        started = time.perf_counter()
        watched = await evaluator.rebuild()
        rebuild_s = time.perf_counter() - started
        prices = {name: price for name, price, _ in SYMBOLS}
        for name, price, _tick in SYMBOLS:
            evaluator.index.advance(name, price_of(name, price))
        # one update evaluated, all alerts active: the pure evaluation (no recording)
        now = datetime.now(UTC) + timedelta(days=1)
        eval_ms, hits = [], []
        for i in range(probes):
            name, _price, tick = SYMBOLS[i % len(SYMBOLS)]
            move, _ = _bar(rng, name, prices[name], tick)
            t0 = time.perf_counter()
            found = evaluator._hits(name, move, now)  # noqa: SLF001 - the evaluation alone
            eval_ms.append((time.perf_counter() - t0) * 1000)
            hits.append(len(found))
        # the replay, end to end
        update_ms, fire_ms = [], []
        started = time.perf_counter()
        for i in range(n_updates):
            name, _price, tick = SYMBOLS[i % len(SYMBOLS)]
            move, prices[name] = _bar(rng, name, prices[name], tick)
            t0 = time.perf_counter()
            fired = await evaluator.on_move(name, move, now + timedelta(minutes=i))
            spent = (time.perf_counter() - t0) * 1000
            update_ms.append(spent)
            if fired:
                fire_ms.append(spent)
        replay_s = time.perf_counter() - started
        notifications = await Notification.filter(kind="alert").count()
        return {
            "alerts": n_alerts,
            "symbols": len(SYMBOLS),
            "watched": watched,
            "rebuild_s": round(rebuild_s, 3),
            "eval_ms_p50": round(_pct(eval_ms, 0.50), 4),
            "eval_ms_p99": round(_pct(eval_ms, 0.99), 4),
            "eval_target_ms": 5,
            "hits_per_update_mean": round(sum(hits) / len(hits), 2),
            "updates": n_updates,
            "updates_per_s": round(n_updates / replay_s, 1),
            "update_ms_p99": round(_pct(update_ms, 0.99), 3),
            "updates_that_fired": len(fire_ms),
            "fire_ms_p99": round(_pct(fire_ms, 0.99), 3),
            "fired": evaluator.fired,
            "notifications_queued": notifications,
            "still_watched": len(evaluator.index),
        }
    finally:
        await db.close_db()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--probes", type=int, default=2_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    async def run(url: str) -> dict[str, Any]:
        return await _run(url, args.alerts, args.updates, args.probes)

    run_on_database(args.database_url, "sdbenchalerts", run)


if __name__ == "__main__":
    main()
