"""The ledger: appends under the signal pipeline, and verifying 100,000 entries.

- Appends: `--workers` (4) concurrent tasks drive `--signals` (300) signals through the real
  pipeline (`services.signals.lifecycle`: publish, then filled, then closed by take-profit;
  each step's transaction writes the signal, its outbox rows and its ledger entry, the
  appends serialised by the chain's lock). `events_per_s` over every step, `event_ms_p99`
  per step, and `append_ms_p50/p99` for the ledger's own part (`services.ledger.chain.record`
  inside those transactions). `entries` must equal 3 x signals and `verified` be true
  (the chain re-read from the database and checked).
- Verify: a chain of `--entries` (100,000) entries as the ledger writes them (per signal:
  published and filled with commitments, closed with the levels and the reveal), checked by
  the server's verifier (`services.ledger.verify.check`): `verify_s`; and by the stand-alone
  `docs/verify_ledger.py` fed the same entries as `GET /ledger` pages (no network):
  `script_verify_s`.

    python bench/ledger.py [--signals 300] [--workers 4] [--entries 100000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common.database import run_on_database  # noqa: E402
from core import db  # noqa: E402
from models.ledger import LedgerEntry  # noqa: E402
from models.signals import CloseReason, SignalSource, SignalStatus  # noqa: E402
from services.ledger import chain, verify  # noqa: E402
from services.ledger import public as ledger_public  # noqa: E402
from services.ledger.canonical import GENESIS, canonical, commitment, entry_hash  # noqa: E402
from services.signals import lifecycle as signals  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ENTRY, STOP, TP = Decimal("1.07592"), Decimal("1.07965"), Decimal("1.06379")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _draft(i: int) -> signals.SignalDraft:
    now = datetime.now(UTC)
    return signals.SignalDraft(
        setup_key=f"bench:ledger:{i}", symbol="EURUSD", side="sell", entry=ENTRY, stop=STOP,
        take_profit=TP, published_at=now, expires_at=now + timedelta(hours=100),
        source=SignalSource.MANUAL,
    )  # fmt: skip


async def _appends(n_signals: int, workers: int) -> dict[str, Any]:
    append_ms: list[float] = []
    real = chain.record

    async def timed(view: Any, at: datetime) -> chain.Appended:
        t0 = time.perf_counter()
        try:
            return await real(view, at)
        finally:
            append_ms.append((time.perf_counter() - t0) * 1000)

    chain.record = timed  # type: ignore[assignment]
    event_ms: list[float] = []
    queue = list(range(n_signals))

    async def step(call: Any) -> None:
        t0 = time.perf_counter()
        await call
        event_ms.append((time.perf_counter() - t0) * 1000)

    async def worker() -> None:
        while queue:
            i = queue.pop()
            t0 = time.perf_counter()
            view = await signals.publish(_draft(i))
            event_ms.append((time.perf_counter() - t0) * 1000)
            assert view is not None
            await step(signals.transition(view.id, SignalStatus.FILLED, price=ENTRY))
            await step(
                signals.transition(view.id, SignalStatus.CLOSED, price=TP, reason=CloseReason.TP)
            )

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        spent = time.perf_counter() - started
    finally:
        chain.record = real  # type: ignore[assignment]
    entries = [e async for e in ledger_public.all_entries()]
    verdict = verify.check(entries)
    return {
        "signals": n_signals,
        "workers": workers,
        "events_per_s": round(3 * n_signals / spent, 1),
        "transition_ms_p99": round(_pct(event_ms, 0.99), 2),
        "append_ms_p50": round(_pct(append_ms, 0.50), 3),
        "append_ms_p99": round(_pct(append_ms, 0.99), 3),
        "entries": await LedgerEntry.all().count(),
        "verified": verdict.ok and verdict.entries == 3 * n_signals,
    }


def _levels(filled: bool) -> dict[str, Any]:
    levels = {"entry": "1.07592", "stop": "1.07965", "take_profit": "1.06379"}
    return {**levels, "fill_price": "1.07592"} if filled else levels


def synthetic_chain(n_entries: int) -> list[dict[str, Any]]:
    """`n_entries` entries shaped as `GET /ledger` serves them (3 per signal)."""
    out: list[dict[str, Any]] = []
    prev, seq, signal = GENESIS, 0, 0
    base = {"v": 1, "symbol": "EURUSD", "side": "sell", "source": "manual", "version": 1}

    def add(kind: str, event: dict[str, Any]) -> None:
        nonlocal prev, seq
        seq += 1
        event = {**base, **event, "kind": kind, "signal": signal, "at": "2026-01-01T00:00:00Z"}
        if "commitment" in event:
            event["commitment"] = commitment(event["commitment"], salt, seq)
            committed.append({"seq": seq, "levels": event.pop("_levels")})
        digest = entry_hash(seq, prev, event)
        out.append({"seq": seq, "signal": signal, "kind": kind, "event": event,
                    "prev": prev, "hash": digest})  # fmt: skip
        prev = digest

    while seq < n_entries:
        signal += 1
        salt, committed = secrets.token_hex(32), []
        for kind, filled in (("published", False), ("filled", True)):
            if seq < n_entries:
                add(kind, {"commitment": _levels(filled), "_levels": _levels(filled)})
        if seq < n_entries:
            final = {**_levels(True), "exit_price": "1.06379"}
            add("closed", {"levels": final, "reason": "tp", "result_r": "3.2520",
                           "reveal": {"salt": salt, "levels": list(committed)}})  # fmt: skip
    return out


def _script() -> Any:
    spec = importlib.util.spec_from_file_location(
        "verify_ledger", ROOT / "docs" / "verify_ledger.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _verify(n_entries: int) -> dict[str, Any]:
    rows = synthetic_chain(n_entries)
    entries = [verify.Entry.from_json(r) for r in rows]
    started = time.perf_counter()
    verdict = verify.check(entries)
    verify_s = time.perf_counter() - started
    assert verdict.ok and verdict.entries == n_entries, verdict
    script = _script()
    pages: dict[str, Any] = {}
    size = 1000
    for i in range(0, len(rows), size):
        after = rows[i - 1]["seq"] if i else 0
        more = i + size < len(rows)
        url = "/ledger?limit=1000" if i == 0 else f"/ledger?after={after}&limit=1000"
        nxt = f"/ledger?after={rows[i + size - 1]['seq']}&limit=1000" if more else None
        pages["local" + url] = canonical({"entries": rows[i : i + size], "next": nxt})
    script.get = lambda url: json.loads(pages[url])  # the pages as the server serves them
    started = time.perf_counter()
    result = script.check("local", {})
    script_s = time.perf_counter() - started
    assert result.startswith("OK"), result
    return {"entries": n_entries, "verify_s": round(verify_s, 3),
            "script_verify_s": round(script_s, 3)}  # fmt: skip


async def _run(db_url: str, args: argparse.Namespace) -> dict[str, Any]:
    await db.migrate(db_url)
    await db.init_db(db_url)
    try:
        appends = await _appends(args.signals, args.workers)
    finally:
        await db.close_db()
    return {"append": appends, "verify": _verify(args.entries)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=300)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    async def run(url: str) -> dict[str, Any]:
        return await _run(url, args)

    run_on_database(args.database_url, "sdbenchledger", run)


if __name__ == "__main__":
    main()
